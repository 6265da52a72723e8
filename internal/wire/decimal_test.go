package wire

import (
	"math"
	"testing"
)

func TestDecimalRoundTrip(t *testing.T) {
	in := []float64{4000.16, 4000.17, 4000.1, 0.12303, 0.00000001, 1e-12, 123456789.123, 0, -0.5, -12.25,
		1.0 / 3, math.Pi, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e300, 5e-324, 9007199254740993}
	var b []byte
	var prev int64
	for _, f := range in {
		b, prev = AppendDecimal(b, f, prev)
	}
	r := NewReader(b)
	prev = 0
	for _, want := range in {
		var got float64
		got, prev = r.Decimal(prev)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("Decimal round trip of %v (bits %x) = %v (bits %x)", want, math.Float64bits(want), got, math.Float64bits(got))
		}
	}
	if err := r.Err(); err != nil || r.Len() != 0 {
		t.Errorf("reader: err %v, %d bytes left", err, r.Len())
	}
}

// A price that moves by a tick costs a byte or two, where a float costs 8.
func TestDecimalSizes(t *testing.T) {
	for _, tc := range []struct {
		f, prev float64
		max     int
	}{
		{4000.17, 4000.16, 1},
		{4000.16, 4000.17, 1},
		{0.12303, 0.12301, 1},
		{4000.16, 0, 4},
		{1.0 / 3, 0, 9 + 1},
	} {
		var prev int64
		if tc.prev != 0 {
			var ok bool
			if prev, ok = Decimal(tc.prev); !ok {
				t.Fatalf("Decimal(%v) has no form", tc.prev)
			}
		}
		if b, _ := AppendDecimal(nil, tc.f, prev); len(b) > tc.max {
			t.Errorf("AppendDecimal(%v after %v) took %d bytes, want at most %d", tc.f, tc.prev, len(b), tc.max)
		}
	}
}

func TestDecimalBadExponent(t *testing.T) {
	r := NewReader(AppendInt(nil, 14)) // exponent 14: neither a power nor the marker
	if _, _ = r.Decimal(0); r.Err() == nil {
		t.Error("exponent 14 read without an error")
	}
	r = NewReader(AppendInt(nil, rawDecimal)) // marker without its 8 bytes
	if _, _ = r.Decimal(0); r.Err() == nil {
		t.Error("a truncated raw float read without an error")
	}
}

func FuzzDecimal(f *testing.F) {
	f.Add(4000.16, 4000.17)
	f.Add(-0.5, math.Inf(1))
	f.Fuzz(func(t *testing.T, a, b float64) {
		var buf []byte
		var prev int64
		for _, x := range []float64{a, b, a} {
			buf, prev = AppendDecimal(buf, x, prev)
		}
		r := NewReader(buf)
		prev = 0
		for _, want := range []float64{a, b, a} {
			var got float64
			if got, prev = r.Decimal(prev); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%v (bits %x) came back as %v (bits %x)", want, math.Float64bits(want), got, math.Float64bits(got))
			}
		}
		if r.Err() != nil || r.Len() != 0 {
			t.Fatalf("reader: err %v, %d bytes left", r.Err(), r.Len())
		}
	})
}
