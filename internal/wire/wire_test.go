package wire

import (
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

func TestFloatsRoundTrip(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, c := range []struct {
		name string
		in   []float64
		size int // encoded bytes
	}{
		{"a trade: price and size", []float64{4000.16, 0.123, 0, 0, 0, 0, 0}, 1 + 16},
		{"all zero", []float64{0, 0, 0}, 1},
		{"negative zero is kept", []float64{negZero, 0}, 1 + 8},
		{"specials", []float64{math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64}, 1 + 32},
		{"64 floats", make64(), 10 + 8*32}, // the mask's top bit: a 10-byte uvarint
	} {
		t.Run(c.name, func(t *testing.T) {
			b := AppendFloats([]byte("x"), c.in...)
			if got := len(b) - 1; got != c.size {
				t.Errorf("encoded %d bytes, want %d", got, c.size)
			}
			r := NewReader(b[1:])
			out := make([]float64, len(c.in))
			ptrs := make([]*float64, len(out))
			for i := range out {
				out[i] = 7 // overwritten, zeros included
				ptrs[i] = &out[i]
			}
			r.Floats(ptrs...)
			if err := r.Err(); err != nil || r.Len() != 0 {
				t.Fatalf("read: err %v, %d bytes left", err, r.Len())
			}
			bits := func(xs []float64) []uint64 {
				var u []uint64
				for _, x := range xs {
					u = append(u, math.Float64bits(x))
				}
				return u
			}
			if d := cmp.Diff(bits(c.in), bits(out)); d != "" {
				t.Errorf("round trip (-want +got, as bits):\n%s", d)
			}
		})
	}
}

// make64 is 64 floats, every other one zero: the mask's widest form.
func make64() []float64 {
	xs := make([]float64, 64)
	for i := 1; i < 64; i += 2 {
		xs[i] = float64(i) + 0.5
	}
	return xs
}

// A mask naming more floats than the reader expects, or a row cut short, is
// an error, not a panic.
func TestFloatsBadInput(t *testing.T) {
	var a, b float64
	r := NewReader(AppendFloats(nil, 1, 2, 3))
	r.Floats(&a, &b)
	if r.Err() == nil {
		t.Error("a mask of 3 floats read as 2: no error")
	}
	r = NewReader(AppendFloats(nil, 1, 2)[:5])
	r.Floats(&a, &b)
	if r.Err() == nil {
		t.Error("a truncated row: no error")
	}
}

func TestEnumAndTimeSince(t *testing.T) {
	known := []string{"TRADE", "QUOTE"}
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"TRADE", "QUOTE", "", "AUCTION"} {
		b := AppendEnum(nil, s, known)
		if r := NewReader(b); r.Enum(known) != s || r.Err() != nil || r.Len() != 0 {
			t.Errorf("enum %q: read back wrong (%d bytes, err %v)", s, len(b), r.Err())
		}
	}
	if b := AppendEnum(nil, "QUOTE", known); len(b) != 1 {
		t.Errorf("a known value takes %d bytes, want 1", len(b))
	}
	if r := NewReader(AppendEnum(nil, "x", []string{"a", "b", "x"})); r.Enum(known) != "" || r.Err() == nil {
		t.Error("an enum code past the known values: no error")
	}
	for _, c := range []struct{ t, base time.Time }{
		{base.Add(1500 * time.Microsecond), base}, {base.Add(-time.Hour), base}, {time.Time{}, base}, {base, time.Time{}},
	} {
		r := NewReader(AppendTimeSince(nil, c.t, c.base))
		if got := r.TimeSince(c.base); !got.Equal(c.t) || r.Err() != nil {
			t.Errorf("TimeSince(%v, base %v) = %v, %v", c.t, c.base, got, r.Err())
		}
	}
	// An offset needs its base: read without one, it is an error.
	if r := NewReader(AppendTimeSince(nil, base, base)); !r.TimeSince(time.Time{}).IsZero() || r.Err() == nil {
		t.Error("an offset read without its base: no error")
	}
}

// Shared returns what String would, and one copy of each repeated value.
func TestSharedStrings(t *testing.T) {
	var b []byte
	in := []string{"BTCUSDT", "trade", "", "BTCUSDT", "12345", "trade", "BTCUSDT"}
	for _, s := range in {
		b = AppendString(b, s)
	}
	r := NewReader(b)
	var got []string
	for range in {
		got = append(got, r.Shared())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if unsafe.StringData(got[0]) != unsafe.StringData(got[6]) {
		t.Error("a repeated value was copied again")
	}
	short := NewReader(b[:3])
	if s := short.Shared(); s != "" || short.Err() == nil {
		t.Errorf("cut input: got %q, err %v; want \"\" and an error", s, short.Err())
	}
}
