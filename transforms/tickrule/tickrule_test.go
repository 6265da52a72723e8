package tickrule

import (
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

const (
	U = tickbeam.Unknown
	B = tickbeam.Buy
	S = tickbeam.Sell
)

func trade(sym string, at time.Duration, id string, price float64, side tickbeam.Side) tickbeam.Tick {
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: t0.Add(at), Price: price, Size: 1, Side: side, TradeID: id, Source: "alpaca"}
}

func with(t tickbeam.Tick, side tickbeam.Side) tickbeam.Tick { t.Side = side; return t }

func TestClassifier(t *testing.T) {
	for _, c := range []struct {
		name   string
		prices []float64
		want   []tickbeam.Side
	}{
		{"up, zero, down, zero, up", []float64{100, 100.5, 100.5, 100.25, 100.25, 100.75}, []tickbeam.Side{U, B, B, S, S, B}},
		{"zero ticks before any change", []float64{100, 100, 100, 99, 99}, []tickbeam.Side{U, U, U, S, S}},
		{"one trade", []float64{7}, []tickbeam.Side{U}},
		{"alternating", []float64{10, 11, 10, 11}, []tickbeam.Side{U, B, S, B}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cl Classifier
			var got []tickbeam.Side
			for _, p := range c.prices {
				got = append(got, cl.Next(p))
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("sides (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassifyHandComputed(t *testing.T) {
	a := []tickbeam.Tick{
		trade("AAPL", 0, "1", 100, U),               // first trade: UNKNOWN
		trade("AAPL", time.Second, "2", 100.5, U),   // uptick: BUY
		trade("AAPL", 2*time.Second, "3", 100.5, U), // zero tick after an uptick: BUY
		// Same time: 9 before 10 numerically (as strings 10 would come first and
		// the 4s trade would be a downtick from 100.5).
		trade("AAPL", 3*time.Second, "9", 100.5, U),   // zero: BUY
		trade("AAPL", 3*time.Second, "10", 100, U),    // downtick: SELL
		trade("AAPL", 4*time.Second, "11", 100.25, U), // uptick from 100: BUY
		trade("AAPL", 5*time.Second, "12", 100.25, S), // the feed's side stays; the direction is still up
		trade("AAPL", 6*time.Second, "13", 100.25, U), // zero tick: BUY, from prices only
		// Two hours later, more than Quiet: a new sequence.
		trade("AAPL", 2*time.Hour, "14", 101, U),
		trade("AAPL", 2*time.Hour+time.Second, "15", 101, U), // zero tick before any change: UNKNOWN
		trade("AAPL", 2*time.Hour+2*time.Second, "16", 100, U),
	}
	m := []tickbeam.Tick{trade("MSFT", time.Second, "a", 400, U), trade("MSFT", 2*time.Second, "b", 399, U)}
	quote := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: t0.Add(2500 * time.Millisecond), BidPrice: 100, AskPrice: 101, Side: U}
	// Shuffled: order comes from event time and trade id, not arrival.
	in := []tickbeam.Tick{a[7], m[1], a[4], a[10], a[0], quote, a[3], a[8], a[2], m[0], a[6], a[1], a[9], a[5]}
	want := []tickbeam.Tick{
		a[0], with(a[1], B), with(a[2], B), with(a[3], B), with(a[4], S), with(a[5], B), a[6], with(a[7], B),
		a[8], a[9], with(a[10], S),
		m[0], with(m[1], S),
		quote,
	}
	p, s := beam.NewPipelineWithRoot()
	got := ClassifyWithOptions(s, beamtest.Ticks(s, in...), Options{Quiet: time.Hour})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, r, "tickbeam/tickrule", "inferred"); n != 8 {
		t.Errorf("inferred = %d, want 8", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// On a stream, trades wait for the watermark and are classified in event-time
// order whatever their arrival; a trade older than one already classified
// is passed on UNKNOWN, and a quiet symbol's state is released.
func TestClassifyStreaming(t *testing.T) {
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	cfg := teststream.NewConfig()
	add := func(ticks ...tickbeam.Tick) {
		t.Helper()
		must(t, cfg.AddElements(ticks[0].EventTime.UnixMilli(), beamtest.Any(ticks)...))
	}
	t1 := trade("SPY", 2*time.Second, "1", 100, U)
	t2 := trade("SPY", 5*time.Second, "2", 100.5, U)
	late := trade("SPY", 3*time.Second, "2b", 99, U)
	t3 := trade("SPY", 12*time.Second, "3", 100.5, U)
	t4 := trade("SPY", 11*time.Second, "4", 101, U)
	t5 := trade("SPY", 3*time.Minute, "5", 102, U)

	must(t, cfg.AdvanceWatermark(ms(0)))
	add(t2, t1) // out of order in one bundle
	must(t, cfg.AdvanceWatermark(ms(10*time.Second)))
	add(late) // 3s, after 5s was classified
	add(t3)   // 12s arrives before 11s, in another bundle
	add(t4)
	must(t, cfg.AdvanceWatermark(ms(20*time.Second)))
	must(t, cfg.AdvanceWatermark(ms(2*time.Minute))) // quiet for Quiet (1m) after 12s: released
	add(t5)
	must(t, cfg.AdvanceWatermarkToInfinity())

	want := []tickbeam.Tick{
		t1, with(t2, B),
		late,
		with(t4, B), // 101 after 100.5: uptick
		with(t3, S), // 100.5 after 101: downtick
		t5,          // a fresh sequence after the release
	}
	p, s := beam.NewPipelineWithRoot()
	got := ClassifyWithOptions(s, teststream.Create(s, cfg), Options{Quiet: time.Minute})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	for name, n := range map[string]int64{"inferred": 3, "late": 1, "released": 2, "forced": 0} {
		if got := beamtest.Counter(t, r, "tickbeam/tickrule", name); got != n {
			t.Errorf("%s = %d, want %d", name, got, n)
		}
	}
}

// Past MaxBuffered the oldest trades are classified before the watermark
// passes them; in order input the sides are the same.
func TestClassifyMaxBuffered(t *testing.T) {
	var in, want []tickbeam.Tick
	for i, p := range []float64{10, 11, 11, 10, 10} {
		tk := trade("X", time.Duration(i)*time.Second, "", p, U)
		in = append(in, tk)
		want = append(want, with(tk, []tickbeam.Side{U, B, B, S, S}[i]))
	}
	p, s := beam.NewPipelineWithRoot()
	beamtest.Equals(s, ClassifyWithOptions(s, beamtest.Ticks(s, in...), Options{MaxBuffered: 2}), want)
	r := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, r, "tickbeam/tickrule", "forced"); n < 1 {
		t.Errorf("forced = %d, want at least 1", n)
	}
}

// The output is in the input's windows, so windowed transforms after it
// (bars, sinks) see the same windowing.
func TestClassifyKeepsWindowing(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	fixed := window.NewFixedWindows(time.Minute)
	in := beam.WindowInto(s, fixed, beam.Create(s, trade("X", 0, "1", 1, U)))
	got := Classify(s, in).WindowingStrategy()
	if !got.Fn.Equals(fixed) {
		t.Errorf("output windowing %v, want %v", got.Fn, fixed)
	}
}

func TestBatchCoderRoundTrip(t *testing.T) {
	ts := []tickbeam.Tick{trade("X", 0, "1", 1.5, B), {Symbol: "X", Kind: tickbeam.Quote, EventTime: t0, BidPrice: 1, AskPrice: 2}}
	got, err := tickCodec.Decode(nil, tickCodec.Encode(ts))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ts, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	b := tickCodec.Encode(ts)
	if _, err := tickCodec.Decode(nil, b[:len(b)-2]); err == nil {
		t.Error("truncated batch decoded without error")
	}
}

// A trade arriving after its time was classified, with a later trade id
// than the last classified one, still follows it in the sequence: it is
// classified, not passed on as late.
func TestClassifySameTimeLaterID(t *testing.T) {
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	cfg := teststream.NewConfig()
	t1 := trade("QQQ", 2*time.Second, "1", 100, U)
	t2 := trade("QQQ", 5*time.Second, "2", 101, U)
	t3 := trade("QQQ", 5*time.Second, "3", 100.5, U)
	must(t, cfg.AdvanceWatermark(ms(0)))
	must(t, cfg.AddElements(t1.EventTime.UnixMilli(), beamtest.Any([]tickbeam.Tick{t1, t2})...))
	must(t, cfg.AdvanceWatermark(ms(10*time.Second)))
	must(t, cfg.AddElements(t3.EventTime.UnixMilli(), beamtest.Any([]tickbeam.Tick{t3})...))
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	beamtest.Equals(s, ClassifyWithOptions(s, teststream.Create(s, cfg), Options{Quiet: time.Minute}), []tickbeam.Tick{t1, with(t2, B), with(t3, S)})
	r := ptest.RunAndValidate(t, p)
	for name, n := range map[string]int64{"inferred": 2, "late": 0} {
		if got := beamtest.Counter(t, r, "tickbeam/tickrule", name); got != n {
			t.Errorf("%s = %d, want %d", name, got, n)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"zero", Options{}, ""},
		{"ok", Options{Quiet: time.Hour, MaxBuffered: 10}, ""},
		{"quiet", Options{Quiet: -time.Second}, "tickrule: Quiet must be >= 0, got -1s"},
		{"max buffered", Options{MaxBuffered: -1}, "tickrule: MaxBuffered must be >= 0, got -1"},
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
