package indicators

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// point is one bar's output of an indicator: ok false while warming up.
type point struct {
	ok bool
	v  Value
}

func feed(t *testing.T, spec Spec, closes []float64) []point {
	t.Helper()
	ind, err := New(spec)
	if err != nil {
		t.Fatalf("New(%v): %v", spec, err)
	}
	out := make([]point, len(closes))
	for i, c := range closes {
		v, ok := ind.Update(c, 0)
		out[i] = point{ok, v}
	}
	return out
}

func none(k int) []point { return make([]point, k) }

func line(xs ...float64) []point {
	out := make([]point, len(xs))
	for i, x := range xs {
		out[i] = point{true, Value{Value: x}}
	}
	return out
}

func cat(ps ...[]point) []point {
	var out []point
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func seq(from, to float64) []float64 {
	var xs []float64
	for x := from; x <= to; x++ {
		xs = append(xs, x)
	}
	return xs
}

// near reports |got−want| ≤ tol·max(|want|, floor).
func near(got, want, tol, floor float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), floor)
}

func checkPoints(t *testing.T, label string, got, want []point, tol, floor float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d", label, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ok != w.ok {
			t.Fatalf("%s: input %d: ready %v, want %v", label, i+1, g.ok, w.ok)
		}
		if !w.ok {
			continue
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"value", g.v.Value, w.v.Value},
			{"signal", g.v.Signal, w.v.Signal},
			{"histogram", g.v.Histogram, w.v.Histogram},
			{"upper", g.v.Upper, w.v.Upper},
			{"lower", g.v.Lower, w.v.Lower},
		} {
			if !near(f.got, f.want, tol, floor) {
				t.Fatalf("%s: input %d: %s = %.17g, want %.17g", label, i+1, f.name, f.got, f.want)
			}
		}
	}
}

// Small cases worked out by hand.
func TestHandComputed(t *testing.T) {
	sd3 := math.Sqrt(2.0 / 3) // population sd of {1,2,3}, {2,3,4}, …: sqrt((1+0+1)/3) ≈ 0.8165
	tests := []struct {
		name   string
		spec   Spec
		closes []float64
		want   []point
	}{
		// SMA(3) of 1..5: (1+2+3)/3, (2+3+4)/3, (3+4+5)/3.
		{"sma3", SMA(3), seq(1, 5), cat(none(2), line(2, 3, 4))},
		// SMA(1) is the close itself.
		{"sma1", SMA(1), []float64{5, 7, 6}, line(5, 7, 6)},
		// EMA(3), α = 2/4 = 0.5: seed (1+2+3)/3 = 2; then 2+0.5·(4−2) = 3,
		// 3+0.5·(5−3) = 4, 4+0.5·(6−4) = 5.
		{"ema3", EMA(3), seq(1, 6), cat(none(2), line(2, 3, 4, 5))},
		// EMA(4), α = 0.4, on 2,4,6,8,3: seed 5; 5+0.4·(3−5) = 4.2.
		{"ema4", EMA(4), []float64{2, 4, 6, 8, 3}, cat(none(3), line(5, 4.2))},
		// RSI(2) on 1, 2, 1.5, 2.5, 2: changes +1, −0.5, +1, −0.5.
		// After 2 changes: gain (1+0)/2 = 0.5, loss (0+0.5)/2 = 0.25,
		//   RSI = 100·0.5/0.75 = 200/3.
		// +1: gain (0.5·1+1)/2 = 0.75, loss (0.25·1+0)/2 = 0.125,
		//   RSI = 100·0.75/0.875 = 600/7.
		// −0.5: gain 0.375, loss (0.125+0.5)/2 = 0.3125,
		//   RSI = 100·0.375/0.6875 = 600/11.
		{"rsi2", RSI(2), []float64{1, 2, 1.5, 2.5, 2}, cat(none(2), line(200.0/3, 600.0/7, 600.0/11))},
		// Only gains: avg loss 0 → 100, and stays 100 on a flat bar (gain
		// avg decays, loss avg stays 0).
		{"rsi3 up", RSI(3), []float64{1, 2, 3, 4, 4}, cat(none(3), line(100, 100))},
		// Only losses: 0.
		{"rsi3 down", RSI(3), []float64{4, 3, 2, 1}, cat(none(3), line(0))},
		// No movement at all: both averages 0 → 50 (our convention); a
		// rise then gives gain (0·2+3)/3 = 1, loss 0 → 100.
		{"rsi3 flat", RSI(3), []float64{7, 7, 7, 7, 7, 10}, cat(none(3), line(50, 50, 100))},
		// RSI(1): the last change alone.
		{"rsi1", RSI(1), []float64{1, 2, 2, 1}, cat(none(1), line(100, 50, 0))},
		// Bollinger(3, 2) on 1..4: middle 2 then 3, population sd sqrt(2/3)
		// both times, bands middle ± 2·0.8165 (3.63299…, 0.36701…).
		{"bb3", Bollinger(3, 2), seq(1, 4), cat(none(2), []point{
			{true, Value{Value: 2, Upper: 2 + 2*sd3, Lower: 2 - 2*sd3}},
			{true, Value{Value: 3, Upper: 3 + 2*sd3, Lower: 3 - 2*sd3}},
		})},
		// Bollinger(2, 1.5) on 10, 14: mean 12, sd 2, bands 12 ± 3.
		{"bb2", Bollinger(2, 1.5), []float64{10, 14}, cat(none(1), []point{{true, Value{Value: 12, Upper: 15, Lower: 9}}})},
		// MACD(2, 3, 2) on 1, 2, 4, 8, 16.
		//   fast EMA(2), α = 2/3: seed (1+2)/2 = 3/2; 4 → 19/6; 8 → 115/18;
		//     16 → 691/54.
		//   slow EMA(3), α = 1/2: seed (1+2+4)/3 = 7/3; 8 → 31/6; 16 → 127/12.
		//   line: close 3: 19/6 − 7/3 = 5/6; close 4: 115/18 − 31/6 = 11/9;
		//     close 5: 691/54 − 127/12 = 239/108.
		//   signal EMA(2) of the line: seed (5/6 + 11/9)/2 = 37/36 at close 4,
		//     then 37/36 + 2/3·(239/108 − 37/36) = 589/324.
		//   histogram: 11/9 − 37/36 = 7/36; 239/108 − 589/324 = 32/81.
		{"macd", MACD(2, 3, 2), []float64{1, 2, 4, 8, 16}, cat(none(3), []point{
			{true, Value{Value: 11.0 / 9, Signal: 37.0 / 36, Histogram: 7.0 / 36}},
			{true, Value{Value: 239.0 / 108, Signal: 589.0 / 324, Histogram: 32.0 / 81}},
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkPoints(t, tc.spec.Name(), feed(t, tc.spec, tc.closes), tc.want, 1e-12, 1e-12)
		})
	}
}

func TestVWAPDistance(t *testing.T) {
	ind, err := New(VWAPDistance())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		close, vwap float64
		want        float64
		ok          bool
	}{
		{101, 100, 1, true}, // (101−100)/100·100
		{99, 100, -1, true}, // (99−100)/100·100
		{50, 40, 25, true},  // (50−40)/40·100
		{100, 100, 0, true}, // on the VWAP
		{100, 0, 0, false},  // no VWAP
		{100, math.NaN(), 0, false},
		{math.Inf(1), 100, 0, false},
	} {
		v, ok := ind.Update(tc.close, tc.vwap)
		if ok != tc.ok || ok && !near(v.Value, tc.want, 1e-15, 1) {
			t.Errorf("Update(%v, %v) = %v, %v; want %v, %v", tc.close, tc.vwap, v.Value, ok, tc.want, tc.ok)
		}
	}
}

// The StockCharts.com RSI(14) worked example (the figures of its cs-rsi
// spreadsheet, also quoted in technicalindicators' tests), RSI rounded to two
// decimals.
func TestRSIStockChartsExample(t *testing.T) {
	closes := []float64{44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245,
		45.8433, 46.0826, 45.8931, 46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116,
		46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515, 45.7835, 45.3548, 44.0288, 44.1783,
		44.2181, 44.5672, 43.4205, 42.6628, 43.1314}
	want := []float64{70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38,
		54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77}
	got := feed(t, RSI(14), closes)
	for i, p := range got {
		if p.ok != (i >= 14) {
			t.Fatalf("close %d: ready %v", i+1, p.ok)
		}
		if p.ok && math.Abs(p.v.Value-want[i-14]) > 0.005 {
			t.Errorf("close %d: RSI %.4f, want %.2f", i+1, p.v.Value, want[i-14])
		}
	}
}

// ---- naive batch implementations: every point recomputed from the whole
// history up to it, written independently of the incremental code.

func naiveMean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// naiveEMASeries returns EMA(n) at every index of xs, NaN before n−1.
func naiveEMASeries(xs []float64, n int) []float64 {
	out := make([]float64, len(xs))
	a := 2 / float64(n+1)
	for i := range xs {
		switch {
		case i < n-1:
			out[i] = math.NaN()
		case i == n-1:
			out[i] = naiveMean(xs[:n])
		default:
			out[i] = a*xs[i] + (1-a)*out[i-1]
		}
	}
	return out
}

// naive computes spec's value for the last element of hist.
func naive(spec Spec, hist []float64) (Value, bool) {
	last := len(hist) - 1
	switch spec.Kind {
	case KindSMA:
		n := spec.period(0)
		if len(hist) < n {
			return Value{}, false
		}
		return Value{Value: naiveMean(hist[len(hist)-n:])}, true
	case KindEMA:
		n := spec.period(0)
		if len(hist) < n {
			return Value{}, false
		}
		return Value{Value: naiveEMASeries(hist, n)[last]}, true
	case KindRSI:
		n := spec.period(0)
		if len(hist) < n+1 {
			return Value{}, false
		}
		var ag, al float64
		for i := 1; i <= last; i++ {
			g := math.Max(hist[i]-hist[i-1], 0)
			l := math.Max(hist[i-1]-hist[i], 0)
			switch {
			case i < n:
				ag += g
				al += l
			case i == n:
				ag = (ag + g) / float64(n)
				al = (al + l) / float64(n)
			default:
				ag = (ag*float64(n-1) + g) / float64(n)
				al = (al*float64(n-1) + l) / float64(n)
			}
		}
		switch {
		case al == 0 && ag == 0:
			return Value{Value: 50}, true
		case al == 0:
			return Value{Value: 100}, true
		}
		return Value{Value: 100 - 100/(1+ag/al)}, true
	case KindMACD:
		f, s, sg := spec.period(0), spec.period(1), spec.period(2)
		if len(hist) < s+sg-1 {
			return Value{}, false
		}
		fast, slow := naiveEMASeries(hist, f), naiveEMASeries(hist, s)
		var lines []float64
		for i := s - 1; i <= last; i++ {
			lines = append(lines, fast[i]-slow[i])
		}
		sig := naiveEMASeries(lines, sg)
		l, g := lines[len(lines)-1], sig[len(sig)-1]
		return Value{Value: l, Signal: g, Histogram: l - g}, true
	case KindBollinger:
		n := spec.period(0)
		if len(hist) < n {
			return Value{}, false
		}
		w := hist[len(hist)-n:]
		m := naiveMean(w)
		ss := 0.0
		for _, x := range w {
			ss += (x - m) * (x - m)
		}
		sd := math.Sqrt(ss / float64(n))
		k := spec.Params[1]
		return Value{Value: m, Upper: m + k*sd, Lower: m - k*sd}, true
	}
	panic("naive: " + spec.Kind)
}

// randomWalk is a seeded geometric random walk rounded to tick, so that
// equal consecutive closes occur too.
func randomWalk(seed uint64, n int, start, vol, tick float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 42))
	xs := make([]float64, n)
	x := start
	for i := range xs {
		x *= math.Exp(vol * rng.NormFloat64())
		xs[i] = math.Round(x/tick) * tick
	}
	return xs
}

// Every point of every indicator against the naive batch computation, on
// random walks at three price scales.
func TestAgainstNaive(t *testing.T) {
	var specs []Spec
	for _, n := range []int{1, 2, 3, 5, 14, 20, 50} {
		specs = append(specs, SMA(n), EMA(n), RSI(n), Bollinger(n, 2), Bollinger(n, 0.5))
	}
	specs = append(specs, Bollinger(20, 2.5),
		MACD(12, 26, 9), MACD(3, 6, 2), MACD(1, 2, 1), MACD(5, 35, 5), MACD(8, 17, 1))
	datasets := []struct {
		name   string
		closes []float64
		level  float64
	}{
		{"equity", randomWalk(1, 400, 100, 0.01, 0.01), 100},
		{"btc", randomWalk(2, 400, 60000, 0.004, 0.01), 60000},
		{"micro", randomWalk(3, 400, 0.0005, 0.03, 1e-8), 0.0005},
	}
	for _, ds := range datasets {
		for _, spec := range specs {
			label := fmt.Sprintf("%s/%s", ds.name, spec.Name())
			want := make([]point, len(ds.closes))
			for i := range ds.closes {
				v, ok := naive(spec, ds.closes[:i+1])
				want[i] = point{ok, v}
			}
			floor := 1e-3 * ds.level // for lines near zero: MACD, its histogram
			if spec.Kind == KindRSI {
				floor = 1
			}
			checkPoints(t, label, feed(t, spec, ds.closes), want, 1e-9, floor)
		}
	}
}

// A long run with hostile data (huge outliers entering and leaving the
// window, a level shift, a near-constant stretch): the rolling mean and
// deviation stay those of a fresh computation over the last n closes, checked
// along the way and after 1e6 updates.
func TestLongRunNoDrift(t *testing.T) {
	const total = 1_000_000
	rng := rand.New(rand.NewPCG(7, 7))
	periods := []int{1, 7, 20, 200}
	type pair struct {
		n       int
		sma, bb Indicator
	}
	var inds []pair
	for _, n := range periods {
		s, _ := New(SMA(n))
		b, _ := New(Bollinger(n, 2))
		inds = append(inds, pair{n, s, b})
	}
	hist := make([]float64, 0, 256) // last 200 closes, kept by the test
	x := 100.0
	naiveSum, maxNaiveErr := 0.0, 0.0 // a plain running sum for SMA(20), to show the data is hostile
	for i := range total {
		x += rng.NormFloat64() * 0.05
		c := x
		switch {
		case i%9973 == 0:
			c = 1e12 * (1 + rng.Float64()) // outlier
		case i > 500_000 && i < 520_000:
			c = 100.25 + float64(i%2)*1e-6 // near-constant stretch
		}
		if i == 700_000 {
			x += 1e6 // level shift
		}
		if len(hist) == 200 {
			copy(hist, hist[1:])
			hist = hist[:199]
		}
		hist = append(hist, c)
		naiveSum += c
		if len(hist) > 20 {
			naiveSum -= hist[len(hist)-21]
		}
		check := i%10007 == 0 || i == total-1 || (i%9973 < 250 && i%9973 > 0 && i%5 == 0)
		for _, p := range inds {
			sv, sok := p.sma.Update(c, 0)
			bv, bok := p.bb.Update(c, 0)
			if !check || len(hist) < p.n {
				continue
			}
			if !sok || !bok {
				t.Fatalf("update %d: SMA/BB(%d) not ready", i, p.n)
			}
			w := hist[len(hist)-p.n:]
			m := neumaierSum(w) / float64(p.n)
			ss := 0.0
			for _, v := range w {
				ss += (v - m) * (v - m)
			}
			sd := math.Sqrt(ss / float64(p.n))
			scale := math.Abs(m) + sd
			if !near(sv.Value, m, 1e-11, scale) || !near(bv.Value, m, 1e-11, scale) {
				t.Fatalf("update %d: SMA(%d) %.17g, BB middle %.17g; fresh mean %.17g", i, p.n, sv.Value, bv.Value, m)
			}
			if gotSD := (bv.Upper - bv.Lower) / 4; !near(gotSD, sd, 1e-8, 1e-12*scale) {
				t.Fatalf("update %d: BB(%d) sd %.17g, fresh %.17g", i, p.n, gotSD, sd)
			}
			if p.n == 20 {
				maxNaiveErr = math.Max(maxNaiveErr, math.Abs(naiveSum/20-m)/scale)
			}
		}
	}
	// The same data defeats a plain running sum, so the checks above mean
	// something.
	if maxNaiveErr < 1e-9 {
		t.Errorf("plain running sum error only %g: data not hostile enough", maxNaiveErr)
	}
	t.Logf("plain running-sum SMA(20) max relative error: %g", maxNaiveErr)
}

// A non-finite close changes nothing.
func TestNonFiniteIgnored(t *testing.T) {
	for _, spec := range []Spec{SMA(3), EMA(3), RSI(2), MACD(2, 3, 2), Bollinger(3, 2)} {
		clean := feed(t, spec, []float64{1, 2, 4, 8, 16})
		ind, _ := New(spec)
		var got []point
		for _, c := range []float64{1, math.NaN(), 2, math.Inf(1), 4, 8, math.Inf(-1), 16} {
			v, ok := ind.Update(c, 0)
			if !finite(c) {
				if ok {
					t.Errorf("%s: Update(%v) reported a value", spec.Name(), c)
				}
				continue
			}
			got = append(got, point{ok, v})
		}
		checkPoints(t, spec.Name(), got, clean, 0, 0)
	}
}
