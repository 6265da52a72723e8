// Package wire holds the compact binary encoding tickbeam's element coders use.
// Beam's default schema coder reflects over every field of every element; ticks
// cross the runner millions of times, so their coders append fixed-width and
// varint fields by hand instead.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrShort reports a buffer that ended before the value it should hold.
var ErrShort = errors.New("wire: truncated buffer")

// AppendString appends a length-prefixed string.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends a length-prefixed byte slice.
func AppendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// AppendFloat appends a float64 as 8 little-endian bytes.
func AppendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// AppendFloats appends up to 64 floats as a mask of the nonzero ones (by
// bits: -0 is kept) followed by those, 8 bytes each. Rows whose numbers are
// mostly zero (a trade's quote fields) shrink by 8 bytes a zero, and every
// byte an element carries is copied several times on its way through the
// runner.
func AppendFloats(b []byte, fs ...float64) []byte {
	var present uint64
	for i, f := range fs {
		if math.Float64bits(f) != 0 {
			present |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, present)
	for _, f := range fs {
		if bits := math.Float64bits(f); bits != 0 {
			b = binary.LittleEndian.AppendUint64(b, bits)
		}
	}
	return b
}

// AppendEnum appends s as its index in known plus one, or as 0 and s
// itself: one byte for a field with a few usual values (a tick's kind and
// side), any value still round-trips.
func AppendEnum(b []byte, s string, known []string) []byte {
	for i, k := range known {
		if s == k {
			return binary.AppendUvarint(b, uint64(i+1))
		}
	}
	return AppendString(binary.AppendUvarint(b, 0), s)
}

// AppendInt appends a zig-zag varint.
func AppendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendTime appends a time as Unix nanoseconds; the zero time round-trips.
func AppendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, math.MinInt64)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// AppendTimeSince appends t as its offset from base, a few bytes where AppendTime
// takes nine when t is near base (a tick's ingest time after its event
// time); zero times round-trip.
func AppendTimeSince(b []byte, t, base time.Time) []byte {
	if t.IsZero() || base.IsZero() {
		return AppendTime(binary.AppendUvarint(b, 0), t)
	}
	return binary.AppendVarint(binary.AppendUvarint(b, 1), t.UnixNano()-base.UnixNano())
}

// Reader consumes values in the order they were appended. The first error
// sticks; callers check Err once at the end.
type Reader struct {
	b      []byte
	err    error
	shared []string // Shared's strings so far
}

// NewReader reads from b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first decoding error.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes left to read.
func (r *Reader) Len() int { return len(r.b) }

func (r *Reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *Reader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = ErrShort
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

// String reads a length-prefixed string.
func (r *Reader) String() string { return string(r.take(r.uvarint())) }

// maxShared bounds the strings a Reader keeps for Shared.
const maxShared = 16

// Shared reads a string like String, for a field whose few values repeat
// across a batch's rows (a symbol, a kind, a date): a value r read before
// with Shared is returned again rather than copied anew. A batch of a
// million rows otherwise allocates each row's symbol, kind and date.
func (r *Reader) Shared() string {
	p := r.take(r.uvarint())
	for _, s := range r.shared {
		if s == string(p) { // compared in place, no copy
			return s
		}
	}
	s := string(p)
	if len(r.shared) < maxShared && s != "" {
		r.shared = append(r.shared, s)
	}
	return s
}

// Bytes reads a length-prefixed byte slice (a copy), nil when empty.
func (r *Reader) Bytes() []byte {
	p := r.take(r.uvarint())
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// View reads a length-prefixed byte slice without copying: it aliases the
// reader's input.
func (r *Reader) View() []byte { return r.take(r.uvarint()) }

// Float reads a float64.
func (r *Reader) Float() float64 {
	p := r.take(8)
	if p == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p))
}

// Floats reads floats written by AppendFloats into fs, in order.
func (r *Reader) Floats(fs ...*float64) {
	present := r.uvarint()
	if present>>len(fs) != 0 {
		r.Fail(errors.New("wire: float mask names more floats than the row has"))
		return
	}
	for i, f := range fs {
		*f = 0
		if present&(1<<i) != 0 {
			*f = r.Float()
		}
	}
}

// Enum reads a string written by AppendEnum with the same known values.
func (r *Reader) Enum(known []string) string {
	i := r.uvarint()
	switch {
	case i == 0:
		return r.String()
	case i <= uint64(len(known)):
		return known[i-1]
	}
	r.Fail(fmt.Errorf("wire: enum code %d of %d values", i, len(known)))
	return ""
}

// Int reads a zig-zag varint.
func (r *Reader) Int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Time reads a time written by AppendTime, in UTC.
func (r *Reader) Time() time.Time {
	v := r.Int()
	if v == math.MinInt64 || r.err != nil {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// TimeSince reads a time written by AppendTimeSince with the same base.
func (r *Reader) TimeSince(base time.Time) time.Time {
	switch form := r.uvarint(); {
	case form == 0:
		return r.Time()
	case form == 1 && !base.IsZero():
		d := r.Int()
		if r.err != nil {
			return time.Time{}
		}
		return time.Unix(0, base.UnixNano()+d).UTC()
	default:
		r.Fail(fmt.Errorf("wire: time offset of form %d from base %v", form, base))
		return time.Time{}
	}
}

// Raw fills p with the next len(p) bytes and returns it (zeroed on error).
func (r *Reader) Raw(p []byte) []byte {
	q := r.take(uint64(len(p)))
	if q == nil {
		clear(p)
		return p
	}
	copy(p, q)
	return p
}

// Fail records err as the reader's error unless it has one already: a
// value read whole but invalid.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}
