package wire

import (
	"errors"
	"math"
)

// Prices and sizes come from feeds as short decimals (4000.16, 0.12303),
// which a float's 8 bytes spell at length. A Decimal holds such a float as
// an integer: mantissa*16 + exponent, the float being mantissa / 10^exponent
// exactly. Successive prices of one symbol then differ by a small integer, so
// a batch writes each as the difference from the one before: one to three
// bytes where a float takes eight.

// pow10 are the exponents a Decimal tries; 15 marks a float that is none of
// them, whose 8 bytes follow.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12}

const rawDecimal = 15

// Decimal returns f's integer form, ok false when f is no mantissa below
// 2^53 over a power of ten up to 10^12 that divides back to f's exact bits
// (NaN, infinities, -0, too many digits).
func Decimal(f float64) (v int64, ok bool) {
	for k, p := range pow10 {
		m := math.Round(f * p)
		if !(math.Abs(m) < 1<<53) {
			return 0, false
		}
		// The check divides what DecimalFloat will (-0 becomes 0 there).
		if math.Float64bits(float64(int64(m))/p) == math.Float64bits(f) {
			return int64(m)*16 + int64(k), true
		}
	}
	return 0, false
}

// DecimalFloat is the float of Decimal's integer form v.
func DecimalFloat(v int64) float64 {
	return float64(v>>4) / pow10[v&15]
}

// AppendDecimal appends f as the difference of its Decimal form from prev,
// the form of the float written before it (0 for the first), and returns
// the form to pass as prev next time. A float with no Decimal form is
// written whole after a marker.
func AppendDecimal(b []byte, f float64, prev int64) ([]byte, int64) {
	v, ok := Decimal(f)
	if !ok {
		v = rawDecimal
	}
	b = AppendInt(b, v-prev)
	if !ok {
		b = AppendFloat(b, f)
	}
	return b, v
}

// Decimal reads a float written by AppendDecimal with the same prev and
// returns it and the prev for the next.
func (r *Reader) Decimal(prev int64) (float64, int64) {
	v := prev + r.Int()
	k := v & 15
	switch {
	case k == rawDecimal:
		return r.Float(), v
	case int(k) >= len(pow10):
		r.Fail(errBadDecimal)
		return 0, v
	}
	return DecimalFloat(v), v
}

var errBadDecimal = errors.New("wire: bad decimal exponent")
