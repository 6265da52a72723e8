package synthetic

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
)

var testStart = time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC)

func generate(t testing.TB, cfg Config) []tickbeam.Tick {
	t.Helper()
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatalf("NewGenerator(%+v): %v", cfg, err)
	}
	var out []tickbeam.Tick
	for {
		tk, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, tk)
	}
}

func TestGeneratorLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{"count", Config{Symbols: []string{"A"}, Rate: 100, Count: 7}, 7},
		{"duration", Config{Symbols: []string{"A"}, Rate: 50, Duration: 2 * time.Second}, 100},
		{"duration not a multiple of the period", Config{Symbols: []string{"A"}, Rate: 3, Duration: 1500 * time.Millisecond}, 5},
		{"fractional rate", Config{Symbols: []string{"A"}, Rate: 2.5, Duration: 2 * time.Second}, 5},
		{"count first", Config{Symbols: []string{"A", "B"}, Rate: 10, Count: 5, Duration: time.Hour}, 5},
		{"duration first", Config{Symbols: []string{"A", "B"}, Rate: 10, Count: 500, Duration: time.Second}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Start = testStart
			if got := len(generate(t, tc.cfg)); got != tc.want {
				t.Errorf("generated %d ticks, want %d", got, tc.want)
			}
		})
	}
}

func TestGeneratorEventTimes(t *testing.T) {
	tests := []struct {
		rate float64
		want []time.Duration // offsets of the first ticks from Start
	}{
		{200, []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond}},
		{3, []time.Duration{0, 333333333, 666666666, time.Second, time.Second + 333333333}},
		{1e6, []time.Duration{0, time.Microsecond, 2 * time.Microsecond}},
		{0.5, []time.Duration{0, 2 * time.Second, 4 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(strconv.FormatFloat(tc.rate, 'g', -1, 64), func(t *testing.T) {
			ticks := generate(t, Config{Symbols: []string{"X"}, Rate: tc.rate, Start: testStart, Count: int64(len(tc.want))})
			var got []time.Duration
			for _, tk := range ticks {
				got = append(got, tk.EventTime.Sub(testStart))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("event time offsets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	cfg := Config{Symbols: []string{"AAPL", "MSFT", "BRK.B"}, Rate: 200, Seed: 7, Start: testStart, Count: 3000}
	a, b := generate(t, cfg), generate(t, cfg)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different ticks (-first +second):\n%s", diff)
	}
	cfg.Seed = 8
	if c := generate(t, cfg); cmp.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same ticks")
	}
}

// TestGeneratorShape checks the statistics a consumer would notice: ids,
// sides, sizes, tick-to-tick moves, and prices that stay sane on a long, wild
// path.
func TestGeneratorShape(t *testing.T) {
	syms := []string{"AAPL", "MSFT", "TSLA", "BTC-USD"}
	const n = 200_000
	ticks := generate(t, Config{Symbols: syms, Rate: 1000, Seed: 1, Start: testStart, Count: n})

	seq := map[string]int{}
	last := map[string]tickbeam.Tick{}
	var repeats, pairs, big, small, lots int
	var maxMove float64
	for i, tk := range ticks {
		if want := syms[i%len(syms)]; tk.Symbol != want {
			t.Fatalf("tick %d is for %s, want %s", i, tk.Symbol, want)
		}
		seq[tk.Symbol]++
		if want := strconv.Itoa(seq[tk.Symbol]); tk.TradeID != want {
			t.Fatalf("tick %d: TradeID %s, want %s", i, tk.TradeID, want)
		}
		if tk.Kind != tickbeam.Trade || tk.Source != Source || tk.Venue != Venue || tk.Currency != Currency ||
			!tk.IngestTime.Equal(tk.EventTime) {
			t.Fatalf("tick %d: bad constant fields: %v", i, tk)
		}
		if !(tk.Price > 0) || math.IsInf(tk.Price, 0) || math.Abs(tk.Price*100-math.Round(tk.Price*100)) > 1e-6 {
			t.Fatalf("tick %d: price %v is not a positive number of cents", i, tk.Price)
		}
		if tk.Size < 1 || tk.Size != math.Trunc(tk.Size) {
			t.Fatalf("tick %d: size %v is not an integer >= 1", i, tk.Size)
		}
		switch {
		case tk.Size > 500:
			big++
		case tk.Size < 10:
			small++
		}
		if tk.Size >= 100 && math.Mod(tk.Size, 100) == 0 {
			lots++
		}
		if p, ok := last[tk.Symbol]; ok {
			pairs++
			if p.Side == tk.Side {
				repeats++
			}
			maxMove = max(maxMove, math.Abs(math.Log(tk.Price/p.Price)))
		}
		last[tk.Symbol] = tk
	}
	if f := float64(big) / n; f < 0.005 || f > 0.05 {
		t.Errorf("%.2f%% of sizes are > 500, want a thin fat tail (0.5%%..5%%)", 100*f)
	}
	if f := float64(small) / n; f < 0.01 || f > 0.2 {
		t.Errorf("%.2f%% of sizes are < 10, want 1%%..20%%", 100*f)
	}
	if lots == 0 {
		t.Errorf("no round lots")
	}
	if f := float64(repeats) / float64(pairs); math.Abs(f-sidePersistence) > 0.01 {
		t.Errorf("side repeats %.3f of the time, want %.2f", f, sidePersistence)
	}
	if maxMove > 0.01 {
		t.Errorf("largest tick-to-tick move %.4f (log), want < 1%% at 1000 ticks/s", maxMove)
	}
}

func TestGeneratorPricesStayInBand(t *testing.T) {
	// One tick every ~12 days at 1000% volatility: without the band the path
	// would underflow to 0 or overflow within these ticks.
	ticks := generate(t, Config{Symbols: []string{"WILD"}, Rate: 1e-6, Volatility: MaxVolatility, Seed: 3, Start: testStart, Count: 20_000})
	p0 := StartPrice("WILD")
	lo, hi := p0/priceBand-0.01, p0*priceBand+0.01
	var atLow, atHigh bool
	for i, tk := range ticks {
		if !(tk.Price >= lo && tk.Price <= hi) {
			t.Fatalf("tick %d: price %v outside [%v, %v]", i, tk.Price, lo, hi)
		}
		atLow = atLow || tk.Price < 2*p0/priceBand
		atHigh = atHigh || tk.Price > p0*priceBand/2
	}
	if !atLow || !atHigh {
		t.Errorf("path never reached both ends of the band (low %v, high %v): the test does not test the band", atLow, atHigh)
	}
}

func TestStartPrice(t *testing.T) {
	for _, sym := range []string{"A", "AAPL", "MSFT", "BTC-USD", "005930", "X:Y_Z.W-1"} {
		p := StartPrice(sym)
		if p < 20 || p > 500 || p != math.Round(p*100)/100 {
			t.Errorf("StartPrice(%q) = %v, want cents in 20..500", sym, p)
		}
		if q := StartPrice(sym); q != p {
			t.Errorf("StartPrice(%q) = %v then %v", sym, p, q)
		}
	}
}

// TestRestoreContinues checks that a generator restored from a checkpointed
// restriction continues exactly where the first one left off.
func TestRestoreContinues(t *testing.T) {
	cfg := Config{Symbols: []string{"AAPL", "MSFT", "TSLA"}, Rate: 100, Seed: 5, Start: testStart, Count: 1000}
	want := generate(t, cfg)

	fn := &genFn{Cfg: cfg}
	r, err := fn.CreateInitialRestriction(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []tickbeam.Tick
	for r.Next < r.End {
		tr := newTracker(r)
		g := newGenerator(cfg, time.Time{})
		if err := g.restore(r); err != nil {
			t.Fatal(err)
		}
		for range 137 { // then checkpoint
			var tk tickbeam.Tick
			s := g.peek(&tk)
			if !tr.TryClaim(&s) {
				break
			}
			g.apply(s)
			got = append(got, tk)
		}
		_, res, err := tr.TrySplit(0)
		if err != nil {
			t.Fatal(err)
		}
		if !tr.IsDone() {
			t.Fatalf("tracker not done after a checkpoint at %d", tr.next)
		}
		if res == nil {
			break
		}
		b, err := encodeRestriction(res.(restriction))
		if err != nil {
			t.Fatal(err)
		}
		if r, err = decodeRestriction(b); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checkpointed feed differs (-want +got):\n%s", diff)
	}
}

func TestTrackerDeclinesRunnerSplits(t *testing.T) {
	g := newGenerator(Config{Symbols: []string{"A"}, Rate: 10}, testStart)
	tr := newTracker(restriction{End: 100, Origin: testStart, LogPrices: g.logp, Buy: g.buy})
	for _, f := range []float64{0.5, 1e-9, 1} {
		if _, res, err := tr.TrySplit(f); res != nil || err != nil {
			t.Errorf("TrySplit(%v) = residual %v, error %v; want neither", f, res, err)
		}
	}
	var tk tickbeam.Tick
	s := g.peek(&tk)
	s.index = 5
	if tr.TryClaim(&s) || tr.GetError() == nil {
		t.Errorf("out-of-order claim succeeded or left no error")
	}
}

// BenchmarkGenerate measures the generator alone, without Beam.
func BenchmarkGenerate(b *testing.B) {
	g, err := NewGenerator(Config{Symbols: []string{"AAPL", "MSFT", "TSLA", "NVDA"}, Rate: MaxRate, Seed: 1, Start: testStart})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		tk, _ := g.Next()
		sink += tk.Price
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
	_ = sink
}
