package indicators

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// barOut is everything Set.Update returns for one bar.
type barOut struct {
	Values []Result
	Events []Event
}

func runSet(t *testing.T, s *Set, closes, vwaps []float64) []barOut {
	t.Helper()
	out := make([]barOut, len(closes))
	for i, c := range closes {
		v, e, err := s.Update(c, vwaps[i])
		if err != nil {
			t.Fatalf("bar %d: %v", i+1, err)
		}
		out[i] = barOut{v, e}
	}
	return out
}

func mustSet(t *testing.T, list, crosses string) *Set {
	t.Helper()
	specs, err := ParseSpecs(list)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseCrossovers(crosses)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSet(specs, cs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Values come out in spec order, only once ready; a crossover line that is
// not among the specs is computed but not reported.
func TestSetUpdate(t *testing.T) {
	s := mustSet(t, "sma:3,vwapdist", "sma:2/sma:3")
	if diff := cmp.Diff([]Spec{SMA(3), VWAPDistance()}, s.Specs()); diff != "" {
		t.Errorf("Specs (-want +got):\n%s", diff)
	}
	closes := []float64{5, 4, 3, 4, 5, 6, 5, 4, 3}
	vwaps := []float64{5, 4, 0, 4, 4, 6, 5, 5, 3} // bar 3 has no VWAP
	// SMA(2) from bar 2: 4.5 3.5 3.5 4.5 5.5 5.5 4.5 3.5
	// SMA(3) from bar 3: 4 11/3 4 5 16/3 5 4
	// fast−slow from bar 3: − − + + + − −: golden at bar 5, death at bar 8.
	vd := func(c, v float64) Result { return Result{"vwap_distance", Value{Value: (c - v) / v * 100}} }
	sma3 := func(x float64) Result { return Result{"sma_3", Value{Value: x}} }
	want := []barOut{
		{Values: []Result{vd(5, 5)}},
		{Values: []Result{vd(4, 4)}},
		{Values: []Result{sma3(4)}},
		{Values: []Result{sma3(11.0 / 3), vd(4, 4)}},
		{Values: []Result{sma3(4), vd(5, 4)}, Events: []Event{{"sma_2_x_sma_3", "sma_2", "sma_3", GoldenCross, 4.5, 4}}},
		{Values: []Result{sma3(5), vd(6, 6)}},
		{Values: []Result{sma3(16.0 / 3), vd(5, 5)}},
		{Values: []Result{sma3(5), vd(4, 5)}, Events: []Event{{"sma_2_x_sma_3", "sma_2", "sma_3", DeathCross, 4.5, 5}}},
		{Values: []Result{sma3(4), vd(3, 3)}},
	}
	got := runSet(t, s, closes, vwaps)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-12, 1e-12) })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c := s.Crossovers(); len(c) != 1 || c[0].LastSign != -1 {
		t.Errorf("Crossovers() = %+v", c)
	}
}

func TestSetRejectsNonFiniteClose(t *testing.T) {
	s := mustSet(t, "sma:3,rsi:2,macd:2:3:2,bb:3:2", "ema:2/sma:3")
	runSet(t, s, []float64{1, 2, 3, 4}, []float64{1, 2, 3, 4})
	before, _ := s.MarshalBinary()
	for _, c := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		v, e, err := s.Update(c, 1)
		if err == nil || v != nil || e != nil {
			t.Errorf("Update(%v) = %v, %v, %v; want an error", c, v, e, err)
		}
	}
	after, _ := s.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Error("a rejected close changed the state")
	}
}

func TestNewSetErrors(t *testing.T) {
	tests := []struct {
		specs []Spec
		cs    []Crossover
		want  string
	}{
		{[]Spec{SMA(20), SMA(20)}, nil, "indicators: duplicate indicator sma_20"},
		{[]Spec{Bollinger(20, 2), {Kind: "bb", Params: []float64{20, 2.0}}}, nil, "indicators: duplicate indicator bb_20_2"},
		{[]Spec{SMA(0)}, nil, `indicators: "sma:0": period must be an integer from 1 to 100000, got 0`},
		{nil, []Crossover{{Fast: SMA(9), Slow: SMA(3)}}, `indicators: crossover "sma:9/sma:3": fast period (9) must not exceed slow period (3)`},
		{nil, []Crossover{{Fast: SMA(3), Slow: SMA(9)}, {Fast: SMA(3), Slow: SMA(9)}}, "indicators: duplicate crossover sma_3_x_sma_9"},
	}
	for _, tc := range tests {
		_, err := NewSet(tc.specs, tc.cs...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewSet(%v, %v) error\n got: %v\nwant: %s", tc.specs, tc.cs, err, tc.want)
		}
	}
}

const allSpecs = "sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2,vwapdist,sma:200,bb:5:1.5"

// A Set checkpointed at any bar and restored continues bit for bit as if it
// had never stopped: what a stateful DoFn sees when its state is persisted
// between bars.
func TestSetMarshalRoundTrip(t *testing.T) {
	closes := randomWalk(11, 600, 100, 0.01, 0.01)
	vwaps := randomWalk(12, 600, 100, 0.01, 0.01)
	ref := runSet(t, mustSet(t, allSpecs, "ema:12/sma:20,sma:50/sma:200"), closes, vwaps)

	var got []barOut
	s := mustSet(t, allSpecs, "ema:12/sma:20,sma:50/sma:200")
	for i := range closes {
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var restored Set // a zero Set restores from the encoding alone
		if err := restored.UnmarshalBinary(b); err != nil {
			t.Fatalf("bar %d: %v", i+1, err)
		}
		s = &restored
		v, e, err := s.Update(closes[i], vwaps[i])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, barOut{v, e})
	}
	if diff := cmp.Diff(ref, got); diff != "" {
		t.Errorf("restored Set diverged (-want +got):\n%s", diff)
	}
	var events int
	for _, b := range got {
		events += len(b.Events)
	}
	if events == 0 {
		t.Error("no crossovers in the test data")
	}
}

func TestSetClone(t *testing.T) {
	s := mustSet(t, "sma:3,ema:2", "ema:2/sma:3")
	runSet(t, s, []float64{1, 2, 3, 4}, []float64{1, 1, 1, 1})
	c1, c2 := s.Clone(), s.Clone()
	preview, _, _ := c1.Update(100, 1) // a provisional bar, on a clone only
	got, _, _ := s.Update(5, 1)
	fromClone, _, _ := c2.Update(5, 1)
	want := []Result{{"sma_3", Value{Value: 4}}, {"ema_2", Value{Value: 4.5}}} // (3+4+5)/3; 3.5+2/3·(5−3.5)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-12, 1) })); diff != "" {
		t.Errorf("after a preview on a clone (-want +got):\n%s", diff)
	}
	if !cmp.Equal(got, fromClone) || cmp.Equal(preview, got) {
		t.Errorf("clones not independent: preview %v, real %v, from clone %v", preview, got, fromClone)
	}
}

func TestSetUnmarshalErrors(t *testing.T) {
	s := mustSet(t, allSpecs, "ema:12/sma:20")
	runSet(t, s, randomWalk(5, 300, 100, 0.01, 0.01), make([]float64, 300))
	good, _ := s.MarshalBinary()

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "indicators: bad state: not an encoded Set"},
		{"magic", []byte("JSON{}"), "indicators: bad state: not an encoded Set"},
		{"version", append([]byte("TBI\x02"), good[4:]...), "indicators: bad state: unsupported version 2"},
		{"trailing", append(append([]byte(nil), good...), 0), "indicators: bad state: 1 trailing bytes"},
		{"bad spec", append([]byte("TBI\x01\x01\x03sma\x01"), f64(0)...), `indicators: bad state: "sma:0": period must be an integer from 1 to 100000, got 0`},
		{"window too long", append(append([]byte("TBI\x01\x01\x03sma\x01"), f64(2)...), 1, 3), "indicators: bad state: window length 3 out of range"},
		{"crossover line missing", crossoverOnly(), "indicators: bad state: crossover sma_2_x_sma_3 refers to an indicator the Set does not hold"},
	} {
		s2 := mustSet(t, "sma:3", "")
		before, _ := s2.MarshalBinary()
		err := s2.UnmarshalBinary(tc.data)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error\n got: %v\nwant: %s", tc.name, err, tc.want)
		}
		if after, _ := s2.MarshalBinary(); !bytes.Equal(before, after) {
			t.Errorf("%s: failed UnmarshalBinary changed the Set", tc.name)
		}
	}

	// Every truncation fails cleanly; corrupting any byte never panics.
	for i := range good {
		var x Set
		if err := x.UnmarshalBinary(good[:i]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", i, len(good))
		}
		bad := append([]byte(nil), good...)
		bad[i] ^= 0xff
		if err := x.UnmarshalBinary(bad); err == nil {
			if _, _, err := x.Update(100, 100); err != nil {
				t.Fatalf("byte %d corrupted: restored Set fails: %v", i, err)
			}
		}
	}
}

func f64(x float64) []byte {
	e := &encoder{}
	e.float(x)
	return e.b
}

// crossoverOnly encodes a Set whose crossover lines are missing.
func crossoverOnly() []byte {
	e := &encoder{b: []byte(stateMagic)}
	e.uint(0)
	e.uint(1)
	e.spec(SMA(2))
	e.spec(SMA(3))
	e.byte(0)
	return e.b
}

// retained reports, per indicator of s, the number of float64s it holds in
// slices and their capacity.
func retained(s *Set) (lens, caps map[string]int) {
	lens, caps = map[string]int{}, map[string]int{}
	for _, e := range s.entries {
		switch ind := e.ind.(type) {
		case *smaInd:
			lens[ind.Name()], caps[ind.Name()] = len(ind.w.buf), cap(ind.w.buf)
		case *bbInd:
			lens[ind.Name()], caps[ind.Name()] = len(ind.w.buf), cap(ind.w.buf)
		default:
			lens[e.ind.Name()], caps[e.ind.Name()] = 0, 0 // no slices
		}
	}
	return lens, caps
}

// After 1e5 bars the Set holds no more than it did once warmed up: ring
// buffers of exactly the period, and an encoding of constant size.
func TestSetMemoryBounded(t *testing.T) {
	s := mustSet(t, allSpecs, "ema:12/sma:20,sma:50/sma:200")
	closes := randomWalk(9, 100_000, 100, 0.01, 0.01)
	var warmSize int
	for i, c := range closes {
		if _, _, err := s.Update(c, c*1.001); err != nil {
			t.Fatal(err)
		}
		if i == 1000 {
			b, _ := s.MarshalBinary()
			warmSize = len(b)
		}
	}
	lens, caps := retained(s)
	want := map[string]int{
		"sma_20": 20, "sma_200": 200, "sma_50": 50, "bb_20_2": 20, "bb_5_1.5": 5,
		"ema_12": 0, "rsi_14": 0, "macd_12_26_9": 0, "vwap_distance": 0,
	}
	if diff := cmp.Diff(want, lens); diff != "" {
		t.Errorf("retained lengths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, caps); diff != "" {
		t.Errorf("retained capacities (-want +got):\n%s", diff)
	}
	b, _ := s.MarshalBinary()
	if len(b) != warmSize {
		t.Errorf("encoded state grew from %d bytes (bar 1000) to %d (bar 100000)", warmSize, len(b))
	}
	// sma:20, bb:20, sma:50, sma:200, bb:5 buffers are 295 floats; the rest
	// is small.
	if len(b) > 295*8+600 {
		t.Errorf("encoded state is %d bytes", len(b))
	}
	t.Logf("encoded state: %d bytes", len(b))
}
