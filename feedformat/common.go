package feedformat

import (
	"fmt"
	"math"
	"strconv"
	"time"
	_ "time/tzdata" // time.LoadLocation must work on machines without zoneinfo
	"unicode/utf8"

	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

// Zones the named formats use.
var (
	seoul   = mustLoadLocation("Asia/Seoul")
	newYork = mustLoadLocation("America/New_York")
)

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Unreachable: time/tzdata is linked in.
		panic(fmt.Sprintf("parse: loading time zone %s: %v", name, err))
	}
	return loc
}

// maxQuoted caps how much of a payload value an error message repeats.
const maxQuoted = 64

// quoteBytes quotes b for an error message, cut to maxQuoted bytes.
func quoteBytes(b []byte) string {
	if len(b) <= maxQuoted {
		return strconv.Quote(string(b))
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.Quote(string(b[:n])) + "..."
}

// quote quotes s for an error message, cut to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return quoteBytes([]byte(s))
}

// quoteLong is quote for vendor messages users need to read whole.
func quoteLong(b []byte) string {
	const max = 300
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	n := max
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.Quote(string(b[:n])) + "..."
}

// maxInterned bounds an interner; past it the table starts over.
const maxInterned = 10000

// interner reuses one string per distinct symbol (or venue, currency) so the
// hot path does not allocate a string per message: a map lookup keyed by
// string(b) does not allocate.
// The last string handed out is checked first: a stream often repeats one
// symbol.
type interner struct {
	m    map[string]string
	last string
}

func (in *interner) get(b []byte) string {
	if string(b) == in.last {
		return in.last
	}
	if s, ok := in.m[string(b)]; ok {
		in.last = s
		return s
	}
	if in.m == nil {
		in.m = make(map[string]string, 64)
	} else if len(in.m) >= maxInterned {
		clear(in.m)
	}
	s := string(b)
	in.m[s] = s
	in.last = s
	return s
}

// parseUint parses a non-empty run of decimal digits, with overflow check.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseInt parses an optionally signed decimal integer that fits an int64.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	u, ok := parseUint(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true // -(1<<63) wraps to MinInt64, as wanted
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// canonicalUint returns b as a string when it is a canonical decimal (no
// leading zeros), else the decimal form of n.
func canonicalUint(b []byte, n uint64) string {
	if len(b) == 1 || (len(b) > 0 && b[0] != '0') {
		return string(b)
	}
	return strconv.FormatUint(n, 10)
}

// parseDecimal parses a decimal number: optional sign, digits, optional
// fraction and exponent. Unlike strconv.ParseFloat alone it refuses Inf, NaN,
// hex floats and underscores, and out-of-range values.
//
// Plain decimals of up to 15 significant digits (prices and sizes) take an
// exact fast path: the digits as an integer divided by a power of ten, both
// exact in float64, is one correctly rounded operation, so the result equals
// strconv.ParseFloat's. Everything else goes to strconv.ParseFloat, on a
// string conversion that does not escape (no allocation for short inputs).
func parseDecimal(b []byte) (float64, bool) {
	if f, ok := fastDecimal(b); ok {
		return f, true
	}
	if len(b) == 0 {
		return 0, false
	}
	digits := false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
		default:
			return 0, false
		}
	}
	if !digits {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastDecimal handles [-]digits[.digits] with at most 15 significant digits
// (leading and trailing zeros aside) and at most 22 fraction digits; it
// reports false for anything else.
func fastDecimal(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	sig, frac, nd := 0, -1, 0 // significant digits, fraction digits (-1: no point), digits
	zeros := 0                // trailing zeros not yet folded into mant
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if frac >= 0 {
				return 0, false
			}
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		nd++
		if frac >= 0 {
			frac++
		}
		if c == '0' {
			zeros++
			continue
		}
		// Fold pending zeros, then this digit.
		for ; zeros > 0; zeros-- {
			if mant != 0 {
				mant *= 10
				sig++
			}
		}
		mant = mant*10 + uint64(c-'0')
		sig++
		if sig > 15 {
			return 0, false
		}
	}
	if nd == 0 || frac == 0 {
		return 0, false // no digits, or "5." (left to strconv)
	}
	// Trailing zeros: in the fraction they only shrink the divisor; in the
	// integer part they scale the mantissa.
	exp := zeros // value = mant * 10^exp
	if frac > 0 {
		exp -= frac
	}
	f := float64(mant)
	switch {
	case exp < 0:
		if -exp >= len(pow10) {
			return 0, false
		}
		f /= pow10[-exp]
	case exp > 0:
		if sig+exp > 15 {
			return 0, false
		}
		f *= pow10[exp]
	}
	if neg {
		f = -f
	}
	return f, true
}

// decimals counts the digits after the decimal point of a decimal number's
// text, or returns -1 when it has an exponent or is not a plain decimal.
func decimals(b []byte) int {
	n, frac := 0, false
	for _, c := range b {
		switch {
		case c == '.':
			frac = true
		case c == 'e' || c == 'E':
			return -1
		case frac:
			n++
		}
	}
	return n
}

// diff returns a-b rounded to the larger number of decimals of the two
// inputs' texts, so 0.3-0.1 (from "0.3" and "0.1") is 0.2, not
// 0.19999999999999998: a previous close derived from a price and a change is
// then exactly the decimal the vendor meant.
func diff(a, b float64, ra, rb []byte) float64 {
	d := a - b
	da, db := decimals(ra), decimals(rb)
	if da < 0 || db < 0 {
		return d
	}
	n := max(da, db)
	if n > 15 {
		return d
	}
	p := math.Pow10(n)
	if s := d * p; math.Abs(s) < 1<<53 {
		return math.Round(s) / p
	}
	return d
}

// floatValue parses a JSON number or a JSON string holding a decimal number.
func floatValue(v jsonscan.Value) (float64, bool) {
	if v.Kind != jsonscan.Number && (v.Kind != jsonscan.String || v.Escaped) {
		return 0, false
	}
	return parseDecimal(v.Raw)
}

// uintValue parses a JSON number or string holding a non-negative integer.
func uintValue(v jsonscan.Value) (uint64, bool) {
	if v.Kind != jsonscan.Number && (v.Kind != jsonscan.String || v.Escaped) {
		return 0, false
	}
	return parseUint(v.Raw)
}

// errField reports a value of a named payload field that does not parse.
func errField(format, field, what string, raw []byte) error {
	return fmt.Errorf("%s: field %q: invalid %s %s", format, field, what, quoteBytes(raw))
}

// controlError is a control message the feed sent with something worth
// reading (a server-side error, a refused subscription): errors.Is(err,
// ErrControl) holds, and Error() carries the server's words.
type controlError struct{ msg string }

func (e *controlError) Error() string { return e.msg }
func (e *controlError) Unwrap() error { return ErrControl }

func errControlf(format string, args ...any) error {
	return &controlError{msg: fmt.Sprintf(format, args...)}
}

// trimSpace trims ASCII whitespace from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
