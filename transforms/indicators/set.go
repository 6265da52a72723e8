package indicators

import (
	"fmt"
	"math"
)

// Result is one indicator's value for a bar.
type Result struct {
	Indicator string // the spec's Name: the IndicatorValue row's indicator column
	Value     Value
}

// Event is a crossover detected on a bar.
type Event struct {
	Crossover  string // the Crossover's Name, e.g. sma_50_x_sma_200
	Fast, Slow string // the lines' indicator names
	Cross      Cross  // GoldenCross or DeathCross
	// FastValue and SlowValue are the lines' values on the bar of the cross.
	FastValue, SlowValue float64
}

// Set holds the indicators and crossovers of one symbol (at one resolution)
// and updates them together, one bar at a time in event-time order. It is
// what a stateful DoFn keeps per key: persist it with MarshalBinary and
// restore it with UnmarshalBinary (the encoding holds the specs, so a zero Set
// can be restored). Its state is bounded by the specs' periods, whatever the
// number of bars.
//
// A Set is not safe for concurrent use.
type Set struct {
	entries []setEntry
	crosses []setCross
	vals    []Value // scratch: this bar's value per entry
	ready   []bool
}

type setEntry struct {
	ind  indicator
	emit bool // false for crossover lines that are not among the Set's specs
}

type setCross struct {
	c          Crossover
	fast, slow int // entry indexes
}

// NewSet returns a Set computing specs, in order, and detecting crossovers.
// A crossover line that is not among specs is computed for the crossover
// only: Update does not report its values.
func NewSet(specs []Spec, crossovers ...Crossover) (*Set, error) {
	s := &Set{}
	index := make(map[string]int, len(specs))
	for _, spec := range specs {
		ind, err := newIndicator(spec)
		if err != nil {
			return nil, err
		}
		if _, dup := index[ind.Name()]; dup {
			return nil, fmt.Errorf("indicators: duplicate indicator %s", ind.Name())
		}
		index[ind.Name()] = len(s.entries)
		s.entries = append(s.entries, setEntry{ind: ind, emit: true})
	}
	seen := make(map[string]bool, len(crossovers))
	for _, c := range crossovers {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if seen[c.Name()] {
			return nil, fmt.Errorf("indicators: duplicate crossover %s", c.Name())
		}
		seen[c.Name()] = true
		sc := setCross{c: Crossover{Fast: c.Fast.clone(), Slow: c.Slow.clone(), LastSign: c.LastSign}}
		for _, line := range []struct {
			spec Spec
			idx  *int
		}{{c.Fast, &sc.fast}, {c.Slow, &sc.slow}} {
			i, ok := index[line.spec.Name()]
			if !ok {
				ind, err := newIndicator(line.spec)
				if err != nil {
					return nil, err
				}
				i = len(s.entries)
				index[line.spec.Name()] = i
				s.entries = append(s.entries, setEntry{ind: ind})
			}
			*line.idx = i
		}
		s.crosses = append(s.crosses, sc)
	}
	return s, nil
}

// Specs returns the specs whose values Update reports, in order.
func (s *Set) Specs() []Spec {
	var out []Spec
	for _, e := range s.entries {
		if e.emit {
			out = append(out, e.ind.Spec())
		}
	}
	return out
}

// Crossovers returns copies of the Set's crossovers, with their state.
func (s *Set) Crossovers() []Crossover {
	var out []Crossover
	for _, c := range s.crosses {
		out = append(out, Crossover{Fast: c.c.Fast.clone(), Slow: c.c.Slow.clone(), LastSign: c.c.LastSign})
	}
	return out
}

// Update feeds the next bar of the symbol, by event time, to every indicator
// and returns the values ready on this bar, in spec order, and the crossovers
// that happened on it. vwap is read by VWAPDistance only: a zero or
// non-finite vwap gives no VWAP distance for the bar and is not an error. A
// non-finite close is an error and changes nothing.
//
// The returned slices are new on every call (nil when empty).
func (s *Set) Update(close, vwap float64) ([]Result, []Event, error) {
	if !finite(close) {
		return nil, nil, fmt.Errorf("indicators: close %v is not a finite number", close)
	}
	if len(s.vals) != len(s.entries) {
		s.vals = make([]Value, len(s.entries))
		s.ready = make([]bool, len(s.entries))
	}
	var results []Result
	for i, e := range s.entries {
		s.vals[i], s.ready[i] = e.ind.Update(close, vwap)
		if e.emit && s.ready[i] {
			if results == nil {
				results = make([]Result, 0, len(s.entries))
			}
			results = append(results, Result{Indicator: e.ind.Name(), Value: s.vals[i]})
		}
	}
	var events []Event
	for i := range s.crosses {
		c := &s.crosses[i]
		if !s.ready[c.fast] || !s.ready[c.slow] {
			continue
		}
		f, sl := s.vals[c.fast].Value, s.vals[c.slow].Value
		if x := c.c.Update(f, sl); x != NoCross {
			events = append(events, Event{
				Crossover: c.c.Name(),
				Fast:      c.c.Fast.Name(),
				Slow:      c.c.Slow.Name(),
				Cross:     x,
				FastValue: f,
				SlowValue: sl,
			})
		}
	}
	return results, events, nil
}

// stateMagic starts every encoded Set; its last byte is the format version.
const stateMagic = "TBI\x01"

// MarshalBinary encodes the Set: its specs, crossovers and all their state.
// The size is bounded by the specs' periods (about 8 bytes per period unit of
// SMA and Bollinger specs, a few dozen bytes per indicator otherwise).
func (s *Set) MarshalBinary() ([]byte, error) {
	e := &encoder{b: append(make([]byte, 0, 64), stateMagic...)}
	e.uint(uint64(len(s.entries)))
	for _, en := range s.entries {
		e.spec(en.ind.Spec())
		e.bool(en.emit)
		en.ind.encode(e)
	}
	e.uint(uint64(len(s.crosses)))
	for _, c := range s.crosses {
		e.spec(c.c.Fast)
		e.spec(c.c.Slow)
		e.byte(byte(c.c.LastSign))
	}
	return e.b, nil
}

// UnmarshalBinary restores a Set encoded by MarshalBinary, replacing s
// entirely. On error s is unchanged.
func (s *Set) UnmarshalBinary(data []byte) error {
	if len(data) < len(stateMagic) || string(data[:len(stateMagic)-1]) != stateMagic[:len(stateMagic)-1] {
		return fmt.Errorf("indicators: bad state: not an encoded Set")
	}
	if v := data[len(stateMagic)-1]; v != stateMagic[len(stateMagic)-1] {
		return fmt.Errorf("indicators: bad state: unsupported version %d", v)
	}
	d := &decoder{b: data[len(stateMagic):]}
	var out Set
	n := d.count(math.MaxInt32, 2, "indicator count")
	index := make(map[string]int, n)
	for range n {
		spec := d.spec()
		emit := d.bool()
		if d.err != nil {
			break
		}
		ind, err := newIndicator(spec)
		if err != nil {
			d.fail("%s", unprefixed(err))
			break
		}
		ind.decode(d)
		if _, dup := index[ind.Name()]; dup {
			d.fail("duplicate indicator %s", ind.Name())
		}
		index[ind.Name()] = len(out.entries)
		out.entries = append(out.entries, setEntry{ind: ind, emit: emit})
	}
	nc := d.count(math.MaxInt32, 3, "crossover count")
	seen := make(map[string]bool, nc)
	for range nc {
		c := Crossover{Fast: d.spec(), Slow: d.spec()}
		c.LastSign = int8(d.byte())
		if d.err != nil {
			break
		}
		if err := c.Validate(); err != nil {
			d.fail("%s", unprefixed(err))
			break
		}
		if c.LastSign < -1 || c.LastSign > 1 {
			d.fail("crossover %s has sign %d", c.Name(), c.LastSign)
			break
		}
		if seen[c.Name()] {
			d.fail("duplicate crossover %s", c.Name())
			break
		}
		seen[c.Name()] = true
		fi, ok1 := index[c.Fast.Name()]
		si, ok2 := index[c.Slow.Name()]
		if !ok1 || !ok2 {
			d.fail("crossover %s refers to an indicator the Set does not hold", c.Name())
			break
		}
		out.crosses = append(out.crosses, setCross{c: c, fast: fi, slow: si})
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*s = out
	return nil
}

// Clone returns an independent copy of the Set, e.g. to compute the values a
// provisional (early) bar would give without committing it.
func (s *Set) Clone() *Set {
	b, _ := s.MarshalBinary()
	var c Set
	if err := c.UnmarshalBinary(b); err != nil {
		panic("indicators: Clone: " + err.Error()) // MarshalBinary output always decodes
	}
	return &c
}
