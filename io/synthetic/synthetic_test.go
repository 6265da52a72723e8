package synthetic

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func init() {
	register.Function3x0[beam.EventTime, tickbeam.Tick, func(string)](checkStamp)
	register.DoFn3x0[int, func(*tickbeam.Tick) bool, func(string)](&checkFeedFn{})
	register.Emitter1[string]()
	register.Iter1[tickbeam.Tick]()
	register.Function1x1[tickbeam.Tick, string](tickWindowKey)
	register.Function3x1[beam.Window, string, int, string](formatWindowCount)
	register.Function1x0[string](recordFiring)
}

func values(ticks []tickbeam.Tick) []any {
	out := make([]any, len(ticks))
	for i, t := range ticks {
		out[i] = t
	}
	return out
}

// checkStamp reports an element whose timestamp is not its event time.
func checkStamp(ts beam.EventTime, t tickbeam.Tick, problem func(string)) {
	if want := mtime.FromTime(t.EventTime); ts != want {
		problem(fmt.Sprintf("%v: element timestamp %v, want %v", t, ts.ToTime(), want.ToTime()))
	}
}

// checkFeedFn checks a whole feed (grouped under one key) against its Config.
type checkFeedFn struct{ Cfg Config }

func (fn *checkFeedFn) ProcessElement(_ int, iter func(*tickbeam.Tick) bool, problem func(string)) {
	var ticks []tickbeam.Tick
	var t tickbeam.Tick
	for iter(&t) {
		ticks = append(ticks, t)
	}
	slices.SortFunc(ticks, func(a, b tickbeam.Tick) int { return a.EventTime.Compare(b.EventTime) })
	period := time.Duration(1e9 / fn.Cfg.Rate)
	bySymbol := map[string][]tickbeam.Tick{}
	for i, t := range ticks {
		if i > 0 {
			if d := t.EventTime.Sub(ticks[i-1].EventTime); d != period {
				problem(fmt.Sprintf("%v follows %v after %v, want %v", t, ticks[i-1], d, period))
			}
		}
		if !(t.Price > 0) {
			problem(fmt.Sprintf("%v: price not > 0", t))
		}
		bySymbol[t.Symbol] = append(bySymbol[t.Symbol], t)
	}
	for _, sym := range fn.Cfg.Symbols {
		if len(bySymbol[sym]) == 0 {
			problem(fmt.Sprintf("no ticks for %s", sym))
		}
	}
	for sym, ts := range bySymbol {
		if !slices.Contains(fn.Cfg.Symbols, sym) {
			problem(fmt.Sprintf("ticks for unknown symbol %q", sym))
		}
		for i, t := range ts {
			if want := strconv.Itoa(i + 1); t.TradeID != want {
				problem(fmt.Sprintf("%v: trade %d of %s has TradeID %s, want %s", t, i+1, sym, t.TradeID, want))
			}
			if i > 0 && !t.EventTime.After(ts[i-1].EventTime) {
				problem(fmt.Sprintf("%v: event time does not increase after %v", t, ts[i-1]))
			}
		}
	}
}

// checkFeed asserts ticks is the feed cfg describes, tick by tick.
func checkFeed(s beam.Scope, ticks beam.PCollection, cfg Config, want []tickbeam.Tick) {
	passert.Count(s, ticks, "ticks", len(want))
	passert.Equals(s, ticks, values(want)...)
	passert.Empty(s, beam.ParDo(s, checkStamp, ticks))
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, ticks))
	passert.Empty(s, beam.ParDo(s, &checkFeedFn{Cfg: cfg}, grouped))
}

func TestTicksBounded(t *testing.T) {
	cfg := Config{Symbols: []string{"AAPL", "MSFT", "BRK.B"}, Rate: 200, Seed: 7, Start: testStart, Count: 1000}
	other := cfg
	other.Seed = 8
	wantOther := generate(t, other)

	p, s := beam.NewPipelineWithRoot()
	checkFeed(s.Scope("seed7"), Ticks(s, cfg), cfg, generate(t, cfg))
	checkFeed(s.Scope("seed8"), Ticks(s, other), other, wantOther)
	ptest.RunAndValidate(t, p)
}

// TestTicksCheckpoints runs a feed long enough to checkpoint between bundles
// and checks it continues the same paths across them.
func TestTicksCheckpoints(t *testing.T) {
	defer func(n int64) { maxBundleTicks = n }(maxBundleTicks)
	maxBundleTicks = 250 // the DoFn runs in this process (loopback)
	cfg := Config{Symbols: []string{"AAPL", "MSFT"}, Rate: 1000, Seed: 11, Start: testStart, Count: 8*maxBundleTicks + 17}
	want := generate(t, cfg)

	p, s := beam.NewPipelineWithRoot()
	ticks := Ticks(s, cfg)
	passert.Count(s, ticks, "ticks", len(want))
	passert.Equals(s, ticks, values(want)...)
	res := ptest.RunAndValidate(t, p)

	var counted int64
	for _, c := range res.Metrics().Query(func(r beam.MetricResult) bool {
		return r.Namespace() == "tickbeam/synthetic" && r.Name() == "ticks"
	}).Counters() {
		counted += c.Result()
	}
	if counted != cfg.Count {
		t.Errorf("counter tickbeam/synthetic/ticks = %d, want %d", counted, cfg.Count)
	}
}

func tickWindowKey(tickbeam.Tick) string { return "ticks" }

func formatWindowCount(w beam.Window, _ string, n int) string {
	iw := w.(window.IntervalWindow)
	return fmt.Sprintf("%s: %d", iw.Start.ToTime().UTC().Format("15:04:05.000"), n)
}

// TestTicksWindows counts ticks in 1s event-time windows: the counts match
// the rate only if element timestamps are the ticks' event times.
func TestTicksWindows(t *testing.T) {
	tests := []struct {
		name  string
		start time.Time
		want  []string
	}{
		{"aligned", testStart, []string{
			"14:30:00.000: 200", "14:30:01.000: 200", "14:30:02.000: 200", "14:30:03.000: 200", "14:30:04.000: 200",
		}},
		{"offset", testStart.Add(750 * time.Millisecond), []string{
			"14:30:00.000: 50", "14:30:01.000: 200", "14:30:02.000: 200", "14:30:03.000: 200", "14:30:04.000: 200", "14:30:05.000: 150",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			ticks := Ticks(s, Config{Symbols: []string{"AAPL", "MSFT"}, Rate: 200, Seed: 1, Start: tc.start, Count: 1000})
			windowed := beam.WindowInto(s, window.NewFixedWindows(time.Second), ticks)
			counts := stats.Count(s, beam.ParDo(s, tickWindowKey, windowed))
			got := beam.ParDo(s, formatWindowCount, counts)
			want := make([]any, len(tc.want))
			for i, w := range tc.want {
				want[i] = w
			}
			passert.Equals(s, beam.WindowInto(s, window.NewGlobalWindows(), got), want...)
			ptest.RunAndValidate(t, p)
		})
	}
}

// TestTicksPaced runs a paced feed of 2s at 50 ticks/s: it must finish by
// itself, with all 100 ticks, and cannot finish before the last tick is due.
func TestTicksPaced(t *testing.T) {
	cfg := Config{Symbols: []string{"AAPL", "MSFT"}, Rate: 50, Seed: 3, Duration: 2 * time.Second, Paced: true}
	p, s := beam.NewPipelineWithRoot()
	passert.Count(s, Ticks(s, cfg), "ticks", 100)
	begin := time.Now()
	ptest.RunAndValidate(t, p)
	elapsed := time.Since(begin)
	t.Logf("paced 2s feed ran in %v", elapsed)
	if elapsed < 1900*time.Millisecond {
		t.Errorf("paced 2s feed finished in %v: it was not paced", elapsed)
	}
}

// Window firings seen by recordFiring: prism runs the pipeline's DoFns in
// this process (loopback), so a DoFn can tell the test when it ran.
var firings struct {
	sync.Mutex
	at []time.Time
}

func recordFiring(string) {
	firings.Lock()
	defer firings.Unlock()
	firings.at = append(firings.at, time.Now())
}

// TestTicksWatermark checks that the source's watermark follows a paced feed
// while it runs: 1s event-time windows must fire as the feed passes them, not
// all at once when it ends.
func TestTicksWatermark(t *testing.T) {
	cfg := Config{Symbols: []string{"AAPL", "MSFT"}, Rate: 20, Seed: 3, Duration: 4 * time.Second, Paced: true}
	p, s := beam.NewPipelineWithRoot()
	windowed := beam.WindowInto(s, window.NewFixedWindows(time.Second), Ticks(s, cfg))
	counts := stats.Count(s, beam.ParDo(s, tickWindowKey, windowed))
	beam.ParDo0(s, recordFiring, beam.ParDo(s, formatWindowCount, counts))

	firings.Lock()
	firings.at = nil
	firings.Unlock()
	begin := time.Now()
	ptest.RunAndValidate(t, p)
	end := time.Now()

	firings.Lock()
	defer firings.Unlock()
	early := 0
	for _, at := range firings.at {
		t.Logf("window fired at %v of %v", at.Sub(begin).Round(time.Millisecond), end.Sub(begin).Round(time.Millisecond))
		if at.Before(end.Add(-time.Second)) {
			early++
		}
	}
	if early < 2 {
		t.Errorf("%d of %d windows fired more than 1s before the 4s feed ended, want >= 2: the watermark does not follow the feed",
			early, len(firings.at))
	}
}
