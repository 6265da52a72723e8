package alerts

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func init() {
	register.Function1x1(stripDetected)
	register.Function2x0(stampBar)
	register.Function2x0(stampObs)
}

// stripDetected zeroes the wall-clock detected_at so alerts compare exactly.
func stripDetected(a tickbeam.Alert) tickbeam.Alert {
	a.DetectedAt = time.Time{}
	return a
}

func stampBar(b tickbeam.Bar, emit func(beam.EventTime, tickbeam.Bar)) {
	emit(mtime.FromTime(b.WindowEnd)-1, b)
}

func stampObs(o Observation, emit func(beam.EventTime, Observation)) { emit(mtime.FromTime(o.Time), o) }

// equalAlerts asserts col holds exactly want, detected_at aside.
func equalAlerts(s beam.Scope, col beam.PCollection, want []tickbeam.Alert) {
	beamtest.Equals(s, beam.ParDo(s, stripDetected, col), want)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tradeAt(sym string, at time.Time, id string, price float64) tickbeam.Tick {
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: at, Price: price, Size: 1, Side: tickbeam.Buy, TradeID: id, Source: "test"}
}

func sec(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// A crossing needs the other side first, so the order of the ticks decides:
// 99 arriving before the earlier 101 must still fire, at the 99's time.
func TestEvaluateStreamingOutOfOrder(t *testing.T) {
	r := Rule{Name: "btc-cross-100", Kind: KindPriceCross, Symbols: []string{"BTC*"}, Direction: Below, Threshold: 100, Band: 0.5}
	cfg := teststream.NewConfig()
	must(t, cfg.AdvanceWatermark(ms(sec(0))))
	must(t, cfg.AddElements(ms(sec(20)), tradeAt("BTCUSDT", sec(20), "2", 99)))
	must(t, cfg.AddElements(ms(sec(10)), tradeAt("BTCUSDT", sec(10), "1", 101)))
	must(t, cfg.AddElements(ms(sec(12)), tradeAt("ETHUSDT", sec(12), "1", 50))) // not watched
	must(t, cfg.AdvanceWatermark(ms(sec(25))))
	must(t, cfg.AddElements(ms(sec(40)), tradeAt("BTCUSDT", sec(40), "4", 99.9)))
	must(t, cfg.AddElements(ms(sec(30)), tradeAt("BTCUSDT", sec(30), "3", 101)))
	must(t, cfg.AdvanceWatermark(ms(sec(45))))
	// Behind a row already evaluated: late, dropped.
	must(t, cfg.AddElements(ms(sec(35)), tradeAt("BTCUSDT", sec(35), "5", 50)))
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	got := evaluateRule(s, r, teststream.Create(s, cfg))
	labels := []tickbeam.Attribute{{Key: "direction", Value: "below"}, {Key: "kind", Value: "price_cross"}}
	equalAlerts(s, got, []tickbeam.Alert{
		{AlertID: tickbeam.NewAlertID(r.Name, "BTCUSDT", sec(20)), Rule: r.Name, Symbol: "BTCUSDT", Severity: tickbeam.Warning,
			EventTime: sec(20), Value: 99, Threshold: 100, Message: "BTCUSDT price 99 crossed below 100", Labels: labels},
		{AlertID: tickbeam.NewAlertID(r.Name, "BTCUSDT", sec(40)), Rule: r.Name, Symbol: "BTCUSDT", Severity: tickbeam.Warning,
			EventTime: sec(40), Value: 99.9, Threshold: 100, Message: "BTCUSDT price 99.9 crossed below 100", Labels: labels},
	})
	res := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "late_rows"); n != 1 {
		t.Errorf("late_rows = %d, want 1", n)
	}
}

func oneMinBar(sym string, min int, vol float64, timing tickbeam.Timing, pane int64) tickbeam.Bar {
	return tickbeam.Bar{Symbol: sym, Resolution: "1m", WindowStart: at(min), WindowEnd: at(min + 1), Open: 10, High: 10, Low: 10,
		Close: 10, Volume: vol, Notional: 10 * vol, VWAP: 10, Trades: 1, Timing: timing, PaneIndex: pane}
}

// Batch: every bar arrives before the watermark moves, in any order; EARLY
// panes are ignored and of one window's panes the highest counts.
func TestEvaluateBarsPanesBatch(t *testing.T) {
	r := Rule{Name: "vol-spike", Kind: KindVolumeSpike, Resolution: "1m", Window: 3, Factor: 3, Severity: tickbeam.Critical}
	in := []tickbeam.Bar{
		oneMinBar("AAPL", 4, 100, tickbeam.OnTime, 0),
		oneMinBar("AAPL", 0, 10, tickbeam.OnTime, 0),
		oneMinBar("AAPL", 2, 1000, tickbeam.Early, 0), // provisional: ignored
		oneMinBar("AAPL", 2, 10, tickbeam.OnTime, 1),
		oneMinBar("AAPL", 1, 10, tickbeam.OnTime, 0),
		oneMinBar("AAPL", 3, 10, tickbeam.OnTime, 0),
		oneMinBar("AAPL", 3, 40, tickbeam.Late, 1), // the whole truth for minute 3
		oneMinBar("AAPL", 3, 10, tickbeam.OnTime, 0),
		{Symbol: "AAPL", Resolution: "5m", WindowStart: at(0), WindowEnd: at(5), Volume: 1e6, Timing: tickbeam.OnTime}, // other resolution
	}
	p, s := beam.NewPipelineWithRoot()
	got := evaluateRule(s, r, beam.ParDo(s, stampBar, beam.CreateList(s, in)))
	// Minute 3 (its LATE pane, volume 40) is 4 × mean(10, 10, 10): fires at its window end.
	// Minute 4 is 5 × mean(10, 10, 40) but the ratio never went back under 3: no re-arm.
	equalAlerts(s, got, []tickbeam.Alert{{
		AlertID: tickbeam.NewAlertID(r.Name, "AAPL", at(4)), Rule: r.Name, Symbol: "AAPL", Severity: tickbeam.Critical,
		EventTime: at(4), Value: 40, Threshold: 30, Message: "AAPL 1m volume 40 is 4× the mean of the last 3 bars (limit 3×)",
		Labels: []tickbeam.Attribute{{Key: "kind", Value: "volume_spike"}, {Key: "metric", Value: "4"}, {Key: "resolution", Value: "1m"}},
	}})
	res := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "early_panes"); n != 1 {
		t.Errorf("early_panes = %d, want 1", n)
	}
}

// Change rows as Observations (seed 004: ±5% vs the previous close).
func TestEvaluateChanges(t *testing.T) {
	r := Rule{Name: "move-5pct", Kind: KindChangePct, Threshold: 5, Cooldown: time.Hour}
	obs := []Observation{
		{Symbol: "005930", Time: at(0), Value: 1, Ref: 70000},
		{Symbol: "005930", Time: at(2), Value: 5.5, Ref: 70000},
		{Symbol: "005930", Time: at(1), Value: 2, Ref: 70000},
		{Symbol: "005930", Time: at(3), Value: 1, Ref: 70000},
		{Symbol: "005930", Time: at(4), Value: 6, Ref: 70000}, // in the hour's cooldown
		{Symbol: "000660", Time: at(1), Value: -7.25, Ref: 200000},
	}
	p, s := beam.NewPipelineWithRoot()
	got := evaluateRule(s, r, beam.ParDo(s, stampObs, beam.CreateList(s, obs)))
	equalAlerts(s, got, []tickbeam.Alert{
		{AlertID: tickbeam.NewAlertID(r.Name, "005930", at(2)), Rule: r.Name, Symbol: "005930", Severity: tickbeam.Warning,
			EventTime: at(2), Value: 5.5, Threshold: 5, Message: "005930 is up 5.5% vs the previous close 70000 (limit +5%)",
			Labels: []tickbeam.Attribute{{Key: "direction", Value: "up"}, {Key: "kind", Value: "change_pct"}}},
		{AlertID: tickbeam.NewAlertID(r.Name, "000660", at(1)), Rule: r.Name, Symbol: "000660", Severity: tickbeam.Warning,
			EventTime: at(1), Value: -7.25, Threshold: -5, Message: "000660 is down 7.25% vs the previous close 200000 (limit -5%)",
			Labels: []tickbeam.Attribute{{Key: "direction", Value: "down"}, {Key: "kind", Value: "change_pct"}}},
	})
	ptest.RunAndValidate(t, p)
}

// Change rows of another package's type are read by field name.
func TestChangeRowsByFieldName(t *testing.T) {
	type priceChange struct {
		Symbol    string
		EventTime time.Time
		Price     float64
		PrevClose float64
		ChangePct float64
		Unrelated string
	}
	fn := &changeObsFn{Rules: []Rule{{Name: "c", Kind: KindChangePct, Threshold: 5}}}
	fn.Setup()
	var got []Observation
	emit := func(_ beam.EventTime, _ string, batch []byte) {
		rows, err := ruleObsCodec.Decode(nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range rows {
			got = append(got, o.Observation)
		}
	}
	fn.ProcessElement(context.Background(), priceChange{Symbol: "AAPL", EventTime: at(1), Price: 105, PrevClose: 100, ChangePct: 5}, emit)
	fn.FinishBundle(context.Background(), emit)
	if diff := cmp.Diff([]Observation{{Symbol: "AAPL", Time: at(1), Value: 5, Ref: 100}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	type noPct struct {
		Symbol    string
		EventTime time.Time
	}
	if err := checkChangeType(reflect.TypeOf(noPct{})); err == nil {
		t.Error("a type without ChangePct was accepted")
	}
}
