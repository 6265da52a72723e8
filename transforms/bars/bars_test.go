package bars

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

func trade(sym string, at time.Duration, id string, price, size float64, side tickbeam.Side) tickbeam.Tick {
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: t0.Add(at), Price: price, Size: size, Side: side, TradeID: id, Source: "test"}
}

// The trades of the worked example in the package doc; every figure in the
// expected bars below is computed by hand from them.
func exampleTicks() []tickbeam.Tick {
	return []tickbeam.Tick{
		trade("AAPL", 10*time.Second, "3", 101.5, 4, tickbeam.Sell),
		trade("AAPL", 5*time.Second, "1", 100, 10, tickbeam.Buy),
		trade("AAPL", 10*time.Second, "2", 99.5, 2, tickbeam.Unknown),
		trade("AAPL", 59*time.Second+999*time.Millisecond, "10", 100.25, 8, tickbeam.Buy),
		trade("AAPL", 59*time.Second+999*time.Millisecond, "9", 100.75, 1, tickbeam.Buy),
		trade("AAPL", 60*time.Second, "11", 102, 1, tickbeam.Sell),
		trade("MSFT", 30*time.Second, "a7", 400.5, 2, tickbeam.Buy),
		{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: t0.Add(20 * time.Second), BidPrice: 1, AskPrice: 1000, Source: "test"},
	}
}

func bar(sym, res string, start time.Duration, length time.Duration, o, h, l, c, vol, notional float64, trades int64, buy, sell float64) tickbeam.Bar {
	return tickbeam.Bar{Symbol: sym, Resolution: res, WindowStart: t0.Add(start), WindowEnd: t0.Add(start + length),
		Open: o, High: h, Low: l, Close: c, Volume: vol, Notional: notional, VWAP: notional / vol, Trades: trades,
		BuyVolume: buy, SellVolume: sell, Timing: tickbeam.OnTime}
}

func TestComputeHandComputed(t *testing.T) {
	// AAPL [14:30,14:31): open 100 (05s), high 101.5, low 99.5; ids 9 and 10 share
	// 59.999s and 10 > 9 numerically, so close is 100.25. Volume 10+4+2+8+1 = 25;
	// notional 1000 + 406 + 199 + 802 + 100.75 = 2507.75; buy 10+8+1 = 19; sell 4;
	// the UNKNOWN-side 2 counts in volume only.
	want := []tickbeam.Bar{
		bar("AAPL", "1m", 0, time.Minute, 100, 101.5, 99.5, 100.25, 25, 2507.75, 5, 19, 4),
		bar("AAPL", "1m", time.Minute, time.Minute, 102, 102, 102, 102, 1, 102, 1, 0, 1),
		bar("MSFT", "1m", 0, time.Minute, 400.5, 400.5, 400.5, 400.5, 2, 801, 1, 2, 0),
		// 5m: both AAPL minutes together: close is the 14:31:00 trade.
		bar("AAPL", "5m", 0, 5*time.Minute, 100, 102, 99.5, 102, 26, 2609.75, 6, 19, 5),
		bar("MSFT", "5m", 0, 5*time.Minute, 400.5, 400.5, 400.5, 400.5, 2, 801, 1, 2, 0),
	}
	if got, want := want[0].VWAP, 2507.75/25; got != want || math.Abs(got-100.31) > 1e-12 {
		t.Fatalf("hand VWAP = %v, want 100.31", got)
	}
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			res := []Resolution{Resolution(time.Minute), Resolution(5 * time.Minute)}
			in := beamtest.Ticks(s, exampleTicks()...)
			if batched { // dedupe's batches, folded without a step per tick
				in = dedupe.Batches(s, beam.Flatten(s, in, beamtest.Ticks(s, exampleTicks()[:3]...)), dedupe.Options{Window: time.Minute})
			}
			got := Compute(s, in, Options{Resolutions: res})
			beamtest.Equals(s, got[res[0]], want[:3])
			beamtest.Equals(s, got[res[1]], want[3:])
			ptest.RunAndValidate(t, p)
		})
	}
}

func TestAccumulatorMergeOrderIndependent(t *testing.T) {
	ticks := exampleTicks()[:5]
	var whole Accumulator
	for i := range ticks {
		whole.Add(&ticks[i])
	}
	// Every split of the trades into two partial accumulators, merged either
	// way round, gives the same bar: the runner may split bundles anywhere.
	for mask := 0; mask < 1<<len(ticks); mask++ {
		var a, b Accumulator
		for i := range ticks {
			if mask&(1<<i) != 0 {
				a.Add(&ticks[i])
			} else {
				b.Add(&ticks[i])
			}
		}
		ab, ba := a, b
		ab.Merge(&b)
		ba.Merge(&a)
		w := whole.Bar("AAPL", Resolution(time.Minute), t0, t0.Add(time.Minute))
		for _, m := range []Accumulator{ab, ba} {
			if diff := cmp.Diff(w, m.Bar("AAPL", Resolution(time.Minute), t0, t0.Add(time.Minute)), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Fatalf("mask %b: merged bar differs (-whole +merged):\n%s", mask, diff)
			}
		}
	}
}

func TestAccumulatorCoderRoundTrip(t *testing.T) {
	var a Accumulator
	for _, tk := range exampleTicks()[:5] {
		a.Add(&tk)
	}
	b, err := encodeAccumulator(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAccumulator(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := decodeAccumulator(b[:len(b)-3]); err == nil {
		t.Error("truncated accumulator decoded without error")
	}
}

func TestParseResolutions(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "1m", want: []string{"1m"}},
		{in: "1s,15s,60s,5m,1h,4h,1d", want: []string{"1s", "15s", "1m", "5m", "1h", "4h", "1d"}},
		{in: "7m", wantErr: `bar resolution "7m": must divide a day evenly so bars align to midnight UTC`},
		{in: "2d", wantErr: `bar resolution "2d": must be between 1s and 1d`},
		{in: "1w", wantErr: `bar resolution "1w": unknown unit "w" (want s, m, h or d)`},
		{in: "m", wantErr: `bar resolution "m": want a number and a unit s, m, h or d, like 1m`},
		{in: "1m,60s", wantErr: `bar resolution 1m listed twice`},
		{in: "-1m", wantErr: `bar resolution "-1m": want a positive whole number before the unit, like 5m`},
	} {
		rs, err := ParseResolutions(c.in)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("ParseResolutions(%q) error = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseResolutions(%q): %v", c.in, err)
			continue
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.String())
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseResolutions(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestGCD(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"1m", time.Minute}, {"5s,1m", 5 * time.Second}, {"45s,1m", 15 * time.Second}, {"1h,1d,4h", time.Hour}} {
		rs, err := ParseResolutions(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := GCD(rs); got != c.want {
			t.Errorf("GCD(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// Ticks arrive out of order on a stream: what decides a bar is event time,
// and each window fires once the watermark passes its end.
func TestComputeStreamingOutOfOrder(t *testing.T) {
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	cfg := teststream.NewConfig()
	cfg.AdvanceWatermark(ms(0))
	// Second 50 first, then second 10: open is still the 10 s trade.
	must(t, cfg.AddElements(ms(50*time.Second), trade("AAPL", 50*time.Second, "2", 11, 1, tickbeam.Buy)))
	must(t, cfg.AddElements(ms(10*time.Second), trade("AAPL", 10*time.Second, "1", 10, 3, tickbeam.Sell)))
	// A tick of the next window arrives before the first window closes.
	must(t, cfg.AddElements(ms(70*time.Second), trade("AAPL", 70*time.Second, "4", 12, 2, tickbeam.Buy)))
	must(t, cfg.AdvanceWatermark(ms(61*time.Second)))
	must(t, cfg.AddElements(ms(65*time.Second), trade("AAPL", 65*time.Second, "3", 13, 1, tickbeam.Unknown)))
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	got := Compute(s, teststream.Create(s, cfg), Options{Resolutions: []Resolution{Resolution(time.Minute)}})
	beamtest.Equals(s, got[Resolution(time.Minute)], []tickbeam.Bar{
		// 10 x 3 + 11 x 1 = 41 over volume 4.
		bar("AAPL", "1m", 0, time.Minute, 10, 11, 10, 11, 4, 41, 2, 1, 3),
		// 13 x 1 + 12 x 2 = 37 over volume 3; open is the 65 s trade.
		bar("AAPL", "1m", time.Minute, time.Minute, 13, 13, 12, 12, 3, 37, 2, 2, 0),
	})
	ptest.RunAndValidate(t, p)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A stream with allowed lateness: the ON_TIME pane at the watermark, a LATE pane for a trade
// within the allowed lateness, each pane the whole window so far; a trade
// past the allowed lateness is dropped by the runner (sources account for it,
// see pubsubx.ReadWithLate).
func TestComputeEarlyOnTimeLatePanes(t *testing.T) {
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	cfg := teststream.NewConfig()
	cfg.AdvanceWatermark(ms(0))
	must(t, cfg.AddElements(ms(10*time.Second), trade("AAPL", 10*time.Second, "1", 10, 3, tickbeam.Sell)))
	must(t, cfg.AddElements(ms(50*time.Second), trade("AAPL", 50*time.Second, "2", 11, 1, tickbeam.Buy)))
	must(t, cfg.AdvanceWatermark(ms(61*time.Second)))
	// 31 s behind the watermark, within the 60 s allowed lateness.
	must(t, cfg.AddElements(ms(30*time.Second), trade("AAPL", 30*time.Second, "3", 12, 2, tickbeam.Unknown)))
	must(t, cfg.AdvanceWatermark(ms(10*time.Minute)))
	// Past the window's end plus allowed lateness: dropped.
	must(t, cfg.AddElements(ms(40*time.Second), trade("AAPL", 40*time.Second, "4", 99, 1, tickbeam.Buy)))
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	got := Compute(s, teststream.Create(s, cfg), Options{Resolutions: []Resolution{Resolution(time.Minute)},
		AllowedLateness: time.Minute})
	// 10 x 3 + 11 x 1 = 41 over volume 4.
	onTime := bar("AAPL", "1m", 0, time.Minute, 10, 11, 10, 11, 4, 41, 2, 1, 3)
	// + 12 x 2 = 65 over volume 6; close is still the 50 s trade.
	late := bar("AAPL", "1m", 0, time.Minute, 10, 12, 10, 11, 6, 65, 3, 1, 3)
	late.Timing, late.PaneIndex = tickbeam.Late, 1
	beamtest.Equals(s, got[Resolution(time.Minute)], []tickbeam.Bar{onTime, late})
	ptest.RunAndValidate(t, p)
}

func TestOptionsValidate(t *testing.T) {
	m := Resolution(time.Minute)
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"ok", Options{Resolutions: []Resolution{m, Daily}, EarlyEvery: time.Second, AllowedLateness: time.Hour}, ""},
		{"no resolutions", Options{}, "bars: Resolutions: at least one is required"},
		{"too short", Options{Resolutions: []Resolution{Resolution(time.Millisecond)}}, "bars: Resolutions: bar resolution 1ms: must be between 1s and 24h"},
		{"fraction", Options{Resolutions: []Resolution{Resolution(1500 * time.Millisecond)}}, "bars: Resolutions: bar resolution 1.5s: must be whole seconds"},
		{"not dividing", Options{Resolutions: []Resolution{Resolution(7 * time.Hour)}}, "bars: Resolutions: bar resolution 7h0m0s: must divide a day evenly"},
		{"twice", Options{Resolutions: []Resolution{m, m}}, "bars: Resolutions: 1m listed twice"},
		{"early", Options{Resolutions: []Resolution{m}, EarlyEvery: -time.Second}, "bars: EarlyEvery must be >= 0, got -1s"},
		{"lateness", Options{Resolutions: []Resolution{m}, AllowedLateness: -time.Second}, "bars: AllowedLateness must be >= 0, got -1s"},
	} {
		var got string
		if err := c.opts.Validate(); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
	if _, err := TryCompute(beam.NewPipeline().Root(), beam.PCollection{}, Options{}); err == nil {
		t.Error("TryCompute accepted no resolutions")
	}
}
