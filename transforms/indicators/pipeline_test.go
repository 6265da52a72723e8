package indicators

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	beamwindow "github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func init() {
	register.Function2x0(stampBar)
	register.Emitter2[beam.EventTime, tickbeam.Bar]()
	register.Function3x1(formatValue)
	register.Function3x1(formatCross)
	register.Function1x1(rowMinute)
	register.Function2x1(formatCount)
}

func rowMinute(v tickbeam.IndicatorValue) string { return minute(v.WindowStart) }

func formatCount(m string, n int) string { return fmt.Sprintf("%s: %d", m, n) }

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

// bar is the 1-minute bar of minute m after t0 with the given close (and
// VWAP), as bars.Compute emits an on-time pane.
func bar(sym string, m int, close float64) tickbeam.Bar {
	start := t0.Add(time.Duration(m) * time.Minute)
	return tickbeam.Bar{Symbol: sym, Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
		Open: close, High: close, Low: close, Close: close, Volume: 1, Notional: close, VWAP: close, Trades: 1,
		Timing: tickbeam.OnTime}
}

func pane(b tickbeam.Bar, timing tickbeam.Timing, index int64) tickbeam.Bar {
	b.Timing, b.PaneIndex = timing, index
	return b
}

// stampBar timestamps a bar as a window's output: at the window's max timestamp.
func stampBar(b tickbeam.Bar, emit func(beam.EventTime, tickbeam.Bar)) { emit(barTime(b), b) }

// batchBars is a bounded PCollection of bars in their 1-minute windows.
func batchBars(s beam.Scope, bars ...tickbeam.Bar) beam.PCollection {
	stamped := beam.ParDo(s, stampBar, beam.CreateList(s, bars))
	return beam.WindowInto(s, beamwindow.NewFixedWindows(time.Minute), stamped)
}

// stream builds a test stream of bars: add(bars...) at their timestamps,
// wm(m) advances the watermark to minute m after t0.
type stream struct {
	t   *testing.T
	cfg *teststream.Config
}

func newStream(t *testing.T) *stream {
	cfg := teststream.NewConfig()
	st := &stream{t: t, cfg: &cfg}
	st.wm(0)
	return st
}

func (st *stream) add(bars ...tickbeam.Bar) *stream {
	st.t.Helper()
	for _, b := range bars {
		if err := st.cfg.AddElements(barTime(b).Milliseconds(), b); err != nil {
			st.t.Fatal(err)
		}
	}
	return st
}

func (st *stream) wm(m int) *stream {
	st.t.Helper()
	return st.wmAt(time.Duration(m) * time.Minute)
}

// wmAt advances the watermark to t0+d.
func (st *stream) wmAt(d time.Duration) *stream {
	st.t.Helper()
	if err := st.cfg.AdvanceWatermark(t0.Add(d).UnixMilli()); err != nil {
		st.t.Fatal(err)
	}
	return st
}

func (st *stream) create(s beam.Scope) beam.PCollection {
	st.t.Helper()
	if err := st.cfg.AdvanceWatermarkToInfinity(); err != nil {
		st.t.Fatal(err)
	}
	return beam.WindowInto(s, beamwindow.NewFixedWindows(time.Minute), teststream.Create(s, *st.cfg))
}

func num(f float64) string { return fmt.Sprintf("%.10g", f) }

func minute(t time.Time) string { return fmt.Sprintf("m%d", int(t.Sub(t0)/time.Minute)) }

// placement checks that a row sits in its bar's window at the bar's
// timestamp; it returns "" when it does, else what is wrong.
func placement(w beam.Window, ts beam.EventTime, start time.Time) string {
	want := beamwindow.IntervalWindow{Start: mtime.FromTime(start), End: mtime.FromTime(start.Add(time.Minute))}
	if !w.Equals(want) || ts != want.MaxTimestamp() {
		return fmt.Sprintf(" (window %v ts %v)", w, ts)
	}
	return ""
}

// formatValue renders a row as "SYMBOL mN indicator=value [column=value...]",
// floats to 10 significant digits, so expected rows are hand-written figures.
func formatValue(w beam.Window, ts beam.EventTime, v tickbeam.IndicatorValue) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s=%s", v.Symbol, minute(v.WindowStart), v.Indicator, num(v.Value))
	for _, c := range []struct {
		name string
		v    *float64
	}{{"signal", v.Signal}, {"histogram", v.Histogram}, {"upper", v.Upper}, {"lower", v.Lower}} {
		if c.v != nil {
			fmt.Fprintf(&b, " %s=%s", c.name, num(*c.v))
		}
	}
	if v.Resolution != "1m" {
		fmt.Fprintf(&b, " resolution=%q", v.Resolution)
	}
	b.WriteString(placement(w, ts, v.WindowStart))
	return b.String()
}

func formatCross(w beam.Window, ts beam.EventTime, e CrossEvent) string {
	return fmt.Sprintf("%s %s %s %s %s=%s %s=%s%s", e.Symbol, minute(e.WindowStart), e.Crossover, e.Cross,
		e.Fast, num(e.FastValue), e.Slow, num(e.SlowValue), placement(w, ts, e.WindowStart))
}

// handSpecs and handRows: AAPL closes 1, 2, 3, 4, 10 at minutes 0..4 and MSFT
// 10, 20, 30 at minutes 0..2, with every figure worked by hand below.
var handSpecs = []Spec{SMA(3), EMA(3), MACD(2, 3, 2), Bollinger(3, 2)}

func aaplBars() []tickbeam.Bar {
	return []tickbeam.Bar{bar("AAPL", 0, 1), bar("AAPL", 1, 2), bar("AAPL", 2, 3), bar("AAPL", 3, 4), bar("AAPL", 4, 10)}
}

var aaplRows = []string{
	// SMA(3): (1+2+3)/3, (2+3+4)/3, (3+4+10)/3.
	"AAPL m2 sma_3=2", "AAPL m3 sma_3=3", "AAPL m4 sma_3=5.666666667",
	// EMA(3), α = 1/2, seeded with the SMA: 2, 2 + (4-2)/2, 3 + (10-3)/2.
	"AAPL m2 ema_3=2", "AAPL m3 ema_3=3", "AAPL m4 ema_3=6.5",
	// MACD(2,3,2): EMA2 (α = 2/3, seed 1.5) 2.5, 3.5, 47/6; EMA3 2, 3, 6.5;
	// line 0.5, 0.5, 4/3; signal seeded with (0.5+0.5)/2, then
	// 0.5 + 2/3·(4/3 − 0.5) = 19/18; histogram 0 (present, not NULL), 5/18.
	"AAPL m3 macd_2_3_2=0.5 signal=0.5 histogram=0",
	"AAPL m4 macd_2_3_2=1.333333333 signal=1.055555556 histogram=0.2777777778",
	// Bollinger(3,2): sd of (1,2,3) and (2,3,4) is √(2/3), so 2 ± 2√(2/3) and
	// 3 ± 2√(2/3); of (3,4,10) it is √86/3 around 17/3.
	"AAPL m2 bb_3_2=2 upper=3.632993162 lower=0.3670068381",
	"AAPL m3 bb_3_2=3 upper=4.632993162 lower=1.367006838",
	"AAPL m4 bb_3_2=5.666666667 upper=11.849079 lower=-0.5157456637",
}

var msftRows = []string{
	// Three closes: only SMA, EMA (seed = SMA) and Bollinger (sd √(200/3)) are ready.
	"MSFT m2 sma_3=20", "MSFT m2 ema_3=20", "MSFT m2 bb_3_2=20 upper=36.32993162 lower=3.670068381",
}

func TestComputeHandComputed(t *testing.T) {
	a := aaplBars()
	in := []tickbeam.Bar{a[3], bar("MSFT", 2, 30), a[0], a[4], bar("MSFT", 0, 10), a[2], a[1], bar("MSFT", 1, 20)}
	p, s := beam.NewPipelineWithRoot()
	values, crosses := Compute(s, batchBars(s, in...), Options{Specs: handSpecs})
	beamtest.Equals(s, beam.ParDo(s, formatValue, values), append(append([]string(nil), aaplRows...), msftRows...))
	beamtest.Equals(s, beam.ParDo(s, formatCross, crosses), []string{})
	r := ptest.RunAndValidate(t, p)
	for _, c := range []string{"late_bars", "early_bars", "forced_bars", "bad_bars"} {
		if got := beamtest.Counter(t, r, "tickbeam/indicators", c); got != 0 {
			t.Errorf("%s = %d, want 0", c, got)
		}
	}
	// End of input releases both symbols' state.
	if got := beamtest.Counter(t, r, "tickbeam/indicators", "released"); got != 2 {
		t.Errorf("released = %d, want 2", got)
	}
}

// On a stream bars arrive out of order and in several panes; the values are
// those of the in-order batch run above.
func TestComputeStreamingOutOfOrder(t *testing.T) {
	a := aaplBars()
	// Prism hands a key's pending bars over in timestamp order, so each
	// watermark step below makes the next bars arrive after the earlier ones
	// were processed; the steps stay short of the bars' windows, so every
	// on-time bar is still ahead of the watermark when it arrives.
	st := newStream(t).
		add(a[1]).
		add(pane(bar("AAPL", 2, 1000), tickbeam.Early, 0)). // provisional: ignored
		wmAt(30*time.Second).
		add(a[0]). // after m1
		wm(2).     // m0, m1 applied
		add(pane(bar("AAPL", 3, 99), tickbeam.OnTime, 1)).
		wmAt(2*time.Minute+30*time.Second).
		// m2 after m3, and m3 fires again before the watermark passes it:
		// the highest pane (close 4) is the truth.
		add(pane(a[2], tickbeam.OnTime, 1), pane(a[3], tickbeam.Late, 2)).
		wm(4).                                           // m2, m3 applied
		add(pane(bar("AAPL", 0, 50), tickbeam.Late, 1)). // m0 is applied: cannot be rewound
		add(a[4])
	p, s := beam.NewPipelineWithRoot()
	values, _ := Compute(s, st.create(s), Options{Specs: handSpecs})
	beamtest.Equals(s, beam.ParDo(s, formatValue, values), aaplRows)
	// A grouping downstream (as windowed sinks do) sees every row on time in
	// its bar's window: the flush timer held the watermark for them.
	counts := stats.Count(s, beam.ParDo(s, rowMinute, values))
	beamtest.Equals(s, beam.ParDo(s, formatCount, counts), []string{"m2: 3", "m3: 4", "m4: 4"})
	r := ptest.RunAndValidate(t, p)
	for c, want := range map[string]int64{"late_bars": 1, "early_bars": 1, "forced_bars": 0} {
		if got := beamtest.Counter(t, r, "tickbeam/indicators", c); got != want {
			t.Errorf("%s = %d, want %d", c, got, want)
		}
	}
}

func TestComputeCrossovers(t *testing.T) {
	// SMA(1) is the close; SMA(2) the mean of two. Closes 3 2 1 2 3 2:
	// fast − slow is −0.5 (m1, first sign: no cross), −0.5, +0.5 (m3: golden),
	// +0.5, −0.5 (m5: death).
	var in []tickbeam.Bar
	for m, c := range []float64{3, 2, 1, 2, 3, 2} {
		in = append(in, bar("AAPL", m, c))
	}
	p, s := beam.NewPipelineWithRoot()
	values, crosses := Compute(s, batchBars(s, in...), Options{Specs: []Spec{SMA(2)},
		Crossovers: []Crossover{{Fast: SMA(1), Slow: SMA(2)}}})
	// sma_1 is a crossover line only: computed, not reported.
	beamtest.Equals(s, beam.ParDo(s, formatValue, values), []string{
		"AAPL m1 sma_2=2.5", "AAPL m2 sma_2=1.5", "AAPL m3 sma_2=1.5", "AAPL m4 sma_2=2.5", "AAPL m5 sma_2=2.5",
	})
	beamtest.Equals(s, beam.ParDo(s, formatCross, crosses), []string{
		"AAPL m3 sma_1_x_sma_2 GOLDEN sma_1=2 sma_2=1.5",
		"AAPL m5 sma_1_x_sma_2 DEATH sma_1=2 sma_2=2.5",
	})
	ptest.RunAndValidate(t, p)
}

// A gap of Quiet or more restarts the warm-up, both when the release timer
// clears the state (streaming) and when the bars arrive together (batch).
func TestComputeQuietRestartsWarmUp(t *testing.T) {
	first := []tickbeam.Bar{bar("AAPL", 0, 1), bar("AAPL", 1, 2), bar("AAPL", 2, 3)}
	// 9 minutes after m2: less than Quiet, the averages continue.
	near := bar("AAPL", 11, 10)
	// 12 minutes after m11: the state is gone, m23..m25 warm up afresh.
	later := []tickbeam.Bar{bar("AAPL", 23, 20), bar("AAPL", 24, 30), bar("AAPL", 25, 40)}
	want := []string{
		"AAPL m2 sma_3=2",
		"AAPL m11 sma_3=5",  // (2+3+10)/3
		"AAPL m25 sma_3=30", // (20+30+40)/3; without the restart m23 would be (3+10+20)/3
	}
	for _, c := range []struct {
		name     string
		input    func(t *testing.T, s beam.Scope) beam.PCollection
		released int64
	}{
		{"batch", func(t *testing.T, s beam.Scope) beam.PCollection {
			return batchBars(s, append(append(append([]tickbeam.Bar(nil), later...), near), first...)...)
		}, 1},
		{"streaming", func(t *testing.T, s beam.Scope) beam.PCollection {
			// The release timer is at m11's timestamp + 10m = 21:59.999.
			return newStream(t).add(first...).wm(3).add(near).wm(12).wm(23).add(later...).create(s)
		}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			values, _ := Compute(s, c.input(t, s), Options{Specs: []Spec{SMA(3)}, Quiet: 10 * time.Minute})
			beamtest.Equals(s, beam.ParDo(s, formatValue, values), want)
			r := ptest.RunAndValidate(t, p)
			if got := beamtest.Counter(t, r, "tickbeam/indicators", "released"); got != c.released {
				t.Errorf("released = %d, want %d", got, c.released)
			}
		})
	}
}

// The release timer is armed once, at the first bar + Quiet, and re-armed
// when it fires before the latest bar + Quiet: a symbol still sending when
// the first arming passes keeps its state.
func TestComputeReleaseRearms(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	// Armed at m2 + 10m = 12:59.999; m11 moves the release to 21:59.999.
	// The watermark passes 12:59.999 before m14 comes: the firing there
	// must re-arm, not release, or m14 would restart the warm-up.
	in := newStream(t).add(bar("AAPL", 0, 1), bar("AAPL", 1, 2), bar("AAPL", 2, 3)).wm(3).
		add(bar("AAPL", 11, 10)).wm(14).add(bar("AAPL", 14, 20)).create(s)
	values, _ := Compute(s, in, Options{Specs: []Spec{SMA(3)}, Quiet: 10 * time.Minute})
	beamtest.Equals(s, beam.ParDo(s, formatValue, values), []string{
		"AAPL m2 sma_3=2",
		"AAPL m11 sma_3=5",  // (2+3+10)/3
		"AAPL m14 sma_3=11", // (3+10+20)/3
	})
	r := ptest.RunAndValidate(t, p)
	// Only the end of input releases it.
	if got := beamtest.Counter(t, r, "tickbeam/indicators", "released"); got != 1 {
		t.Errorf("released = %d, want 1", got)
	}
}

// Bars far ahead of the watermark fill the buffer; past MaxBuffered the
// oldest are applied at once, still in order.
func TestComputeBoundedBuffer(t *testing.T) {
	st := newStream(t).
		add(bar("AAPL", 0, 1), bar("AAPL", 1, 2), bar("AAPL", 2, 3)). // third: m0, m1 applied
		add(bar("AAPL", 3, 4)).
		// The flush timer is at m3, beyond the watermark: only the bound
		// applied m0 and m1 (prism hands a key's pending bars over in
		// timestamp order, so this pane must come after a watermark step).
		wm(2).
		add(pane(bar("AAPL", 1, 7), tickbeam.Late, 1)) // m1 was applied: late
	p, s := beam.NewPipelineWithRoot()
	values, _ := Compute(s, st.create(s), Options{Specs: []Spec{SMA(3)}, MaxBuffered: 2})
	beamtest.Equals(s, beam.ParDo(s, formatValue, values), []string{"AAPL m2 sma_3=2", "AAPL m3 sma_3=3"})
	r := ptest.RunAndValidate(t, p)
	for c, want := range map[string]int64{"forced_bars": 2, "late_bars": 1} {
		if got := beamtest.Counter(t, r, "tickbeam/indicators", c); got != want {
			t.Errorf("%s = %d, want %d", c, got, want)
		}
	}
}

func TestComputeRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"nothing to compute", Options{}, "no indicators or crossovers"},
		{"bad spec", Options{Specs: []Spec{SMA(0)}}, "period must be an integer"},
		{"bad crossover", Options{Crossovers: []Crossover{{Fast: RSI(2), Slow: SMA(3)}}}, "must be sma or ema"},
		{"negative quiet", Options{Specs: []Spec{SMA(3)}, Quiet: -time.Second}, "negative Quiet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want it to contain %q", msg, c.want)
				}
			}()
			_, s := beam.NewPipelineWithRoot()
			Compute(s, batchBars(s, bar("AAPL", 0, 1)), c.opts)
		})
	}
}

func TestCrossEventCoderRoundTrip(t *testing.T) {
	e := CrossEvent{Symbol: "AAPL", Resolution: "1m", WindowStart: t0, Crossover: "sma_50_x_sma_200", Fast: "sma_50",
		Slow: "sma_200", Cross: CrossGolden, FastValue: 231.25, SlowValue: 231.125}
	b, err := encodeCrossEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCrossEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := decodeCrossEvent(b[:len(b)-1]); err == nil {
		t.Error("truncated event decoded without error")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"specs", Options{Specs: []Spec{SMA(3), RSI(14)}, Quiet: time.Hour, MaxBuffered: 10}, ""},
		{"crossovers only", Options{Crossovers: []Crossover{{Fast: SMA(2), Slow: SMA(3)}}}, ""},
		{"nothing", Options{}, "indicators: Specs, Crossovers: no indicators or crossovers"},
		{"bad spec", Options{Specs: []Spec{SMA(3), SMA(0)}}, `indicators: Specs[1]: "sma:0": period must be an integer from 1 to 100000, got 0`},
		{"bad crossover", Options{Crossovers: []Crossover{{Fast: RSI(2), Slow: SMA(3)}}}, `indicators: Crossovers[0]: crossover "rsi:2/sma:3": fast line must be sma or ema, got rsi`},
		{"twice", Options{Specs: []Spec{SMA(3), SMA(3)}}, "indicators: duplicate indicator sma_3"},
		{"quiet", Options{Specs: []Spec{SMA(3)}, Quiet: -time.Second}, "indicators: negative Quiet -1s"},
		{"max buffered", Options{Specs: []Spec{SMA(3)}, MaxBuffered: -1}, "indicators: negative MaxBuffered -1"},
	} {
		var got string
		if err := c.opts.Validate(); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}
