package indicators

import (
	"encoding/binary"
	"fmt"
	"math"
)

// encoder appends the binary state format: unsigned varints for counts and
// little-endian IEEE-754 bits for floats.
type encoder struct{ b []byte }

func (e *encoder) uint(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) float(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *encoder) byte(v byte)     { e.b = append(e.b, v) }
func (e *encoder) string(s string) { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *encoder) spec(s Spec) {
	e.string(s.Kind)
	e.uint(uint64(len(s.Params)))
	for _, p := range s.Params {
		e.float(p)
	}
}

// decoder reads what encoder wrote. The first error sticks: later reads
// return zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("indicators: bad state: "+format, args...)
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or malformed varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count that must be at most limit; when each counted item takes
// at least size bytes, the count must also fit in what is left, so corrupt
// input cannot make the caller allocate much.
func (d *decoder) count(limit, size int, what string) int {
	v := d.uint()
	if d.err != nil {
		return 0
	}
	if v > uint64(limit) || size > 0 && v > uint64(len(d.b)/size) {
		d.fail("%s %d out of range", what, v)
		return 0
	}
	return int(v)
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool() bool {
	switch v := d.byte(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad boolean %d", v)
		return false
	}
}

func (d *decoder) string() string {
	n := d.count(64, 1, "string length")
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) spec() Spec {
	s := Spec{Kind: d.string()}
	n := d.count(4, 8, "parameter count")
	if n > 0 {
		s.Params = make([]float64, n)
		for i := range s.Params {
			s.Params[i] = d.float()
		}
	}
	if d.err == nil {
		if err := s.Validate(); err != nil {
			d.fail("%s", unprefixed(err))
		}
	}
	return s
}
