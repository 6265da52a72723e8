package alerts

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func init() {
	register.Function2x0(stampChange)
	register.Function1x1(atLeast50)
}

func atLeast50(n int) bool { return n >= 50 }

func stampChange(c tickbeam.PriceChange, emit func(beam.EventTime, tickbeam.PriceChange)) {
	emit(mtime.FromTime(c.EventTime), c)
}

const applyRules = `notifiers:
  webhooks:
    - name: sms
      url: https://sms.example.com/send
rules:
  - name: btc-below-60k
    kind: price_level
    symbols: [BTC*]
    direction: below
    threshold: 60000
    notify: [sms]
  - name: bad-prints
    kind: outlier
    symbols: [BTC*]
    window: 3
    pct: 10
  - name: move-5pct
    kind: change_pct
    threshold: 5
  - name: quiet
    kind: stale_feed
    symbols: [BTCUSDT]
    max_silence: 1m
`

// Apply wires the rules file to the pipeline's collections: the outlier
// rule's clean ticks feed the level rule, so the bad print below 60000 is
// quarantined instead of alerting.
func TestApply(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) { testApply(t, batched) })
	}
}

// testApply runs TestApply with the ticks as they are or as dedupe's batches
// (the outlier rule then judges them unbatched, stale_feed reads the batches).
func testApply(t *testing.T, batched bool) {
	rs, err := ParseRules(strings.NewReader(applyRules), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ticks := []tickbeam.Tick{
		tradeAt("BTCUSDT", sec(0), "1", 61000),
		tradeAt("BTCUSDT", sec(1), "2", 61100),
		tradeAt("BTCUSDT", sec(2), "3", 60900),
		tradeAt("BTCUSDT", sec(3), "4", 10), // bad print: quarantined, no level alert
		tradeAt("BTCUSDT", sec(4), "5", 59900),
	}
	changes := []tickbeam.PriceChange{
		{Symbol: "005930", EventTime: sec(10), Price: 73675, PrevClose: 70000, PrevCloseSource: tickbeam.PrevCloseFeed, Change: 3675, ChangePct: 5.25},
		{Symbol: "005930", EventTime: sec(11), Price: 1, PrevCloseSource: tickbeam.PrevCloseNone}, // no previous close: skipped
	}
	p, s := beam.NewPipelineWithRoot()
	in := beamtest.Ticks(s, ticks...)
	if batched {
		in = dedupe.Batches(s, in, dedupe.Options{Window: time.Hour})
	}
	out, err := TryApply(s, Inputs{
		Ticks:   in,
		Changes: beam.ParDo(s, stampChange, beam.CreateList(s, changes)),
	}, rs)
	if err != nil {
		t.Fatal(err)
	}
	equalAlerts(s, out.Alerts, []tickbeam.Alert{
		{AlertID: tickbeam.NewAlertID("btc-below-60k", "BTCUSDT", sec(4)), Rule: "btc-below-60k", Symbol: "BTCUSDT", Severity: tickbeam.Warning,
			EventTime: sec(4), Value: 59900, Threshold: 60000, Message: "BTCUSDT price 59900 is at or below 60000",
			Labels: []tickbeam.Attribute{{Key: "direction", Value: "below"}, {Key: "kind", Value: "price_level"}, {Key: "notify", Value: "sms"}}},
		{AlertID: tickbeam.NewAlertID("bad-prints", "BTCUSDT", sec(3)), Rule: "bad-prints", Symbol: "BTCUSDT", Severity: tickbeam.Warning,
			EventTime: sec(3), Value: 10, Threshold: 60900,
			Message: "BTCUSDT trade 10 quarantined as an outlier: rule bad-prints: 99.9836% from the last clean price 60900 (limit 10%)",
			Labels:  []tickbeam.Attribute{{Key: "kind", Value: "outlier"}, {Key: "quarantined", Value: "true"}, {Key: "trade_id", Value: "4"}}},
		{AlertID: tickbeam.NewAlertID("move-5pct", "005930", sec(10)), Rule: "move-5pct", Symbol: "005930", Severity: tickbeam.Warning,
			EventTime: sec(10), Value: 5.25, Threshold: 5, Message: "005930 is up 5.25% vs the previous close 70000 (limit +5%)",
			Labels: []tickbeam.Attribute{{Key: "direction", Value: "up"}, {Key: "kind", Value: "change_pct"}}},
		{AlertID: tickbeam.NewAlertID("quiet", "BTCUSDT", sec(64)), Rule: "quiet", Symbol: "BTCUSDT", Severity: tickbeam.Warning,
			EventTime: sec(64), Value: 60, Threshold: 60,
			Message: "BTCUSDT: no data for 1m0s of open market (last tick 2026-01-15T14:30:04Z, 1m0s ago)",
			Labels:  []tickbeam.Attribute{{Key: "kind", Value: "stale_feed"}, {Key: "last_tick", Value: "2026-01-15T14:30:04Z"}, {Key: "state", Value: "outage"}}},
	})
	beamtest.Equals(s, out.CleanTicks, []tickbeam.Tick{ticks[0], ticks[1], ticks[2], ticks[4]})
	ptest.RunAndValidate(t, p)
}

// The tick rules read dedupe's batches as they read ticks.
func TestApplyBatchedTicks(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`rules:
  - name: btc-below-60k
    kind: price_level
    symbols: [BTC*]
    direction: below
    threshold: 60000
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ticks := []tickbeam.Tick{
		tradeAt("BTCUSDT", sec(0), "1", 61000),
		tradeAt("BTCUSDT", sec(70), "2", 59000), // another dedupe window: another batch
		tradeAt("BTCUSDT", sec(71), "3", 59500),
		tradeAt("BTCUSDT", sec(130), "4", 60500),
		tradeAt("BTCUSDT", sec(131), "5", 59900),
	}
	p, s := beam.NewPipelineWithRoot()
	in := beamtest.Ticks(s, append(ticks, ticks[2])...) // with a copy dedupe drops
	out, err := TryApply(s, Inputs{Ticks: dedupe.Batches(s, in, dedupe.Options{Window: time.Minute})}, rs)
	if err != nil {
		t.Fatal(err)
	}
	alert := func(at time.Time, price float64) tickbeam.Alert {
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID("btc-below-60k", "BTCUSDT", at), Rule: "btc-below-60k", Symbol: "BTCUSDT",
			Severity: tickbeam.Warning, EventTime: at, Value: price, Threshold: 60000,
			Message: fmt.Sprintf("BTCUSDT price %v is at or below 60000", price),
			Labels:  []tickbeam.Attribute{{Key: "direction", Value: "below"}, {Key: "kind", Value: "price_level"}}}
	}
	equalAlerts(s, out.Alerts, []tickbeam.Alert{alert(sec(70), 59000), alert(sec(131), 59900)})
	ptest.RunAndValidate(t, p)
}

// Dedupe's batches reach the tick rules' step undecoded, packed per symbol,
// and are decoded only when due; the alerts are those of the same ticks one
// by one. 1,000 trades a symbol over ten dedupe windows make packed batches
// that wait in the bag; the prices cross the rules' levels often.
func TestApplyPackedTicksMatchTicks(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`rules:
  - name: cross-up
    kind: price_cross
    symbols: [A*]
    direction: above
    threshold: 100
    band: 0.2
  - name: low
    kind: price_level
    direction: below
    threshold: 99.5
    cooldown: 30s
  - name: wide
    kind: spread
    threshold: 50
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ticks []tickbeam.Tick
	for i, sym := range []string{"AAA", "ABC", "XYZ"} {
		price := 100.0
		for j := range 1000 {
			price += float64((j*7+i*3)%11-5) / 10 // a walk around 100
			if price < 98 || price > 102 {
				price = 100
			}
			at := t0.Add(time.Duration(j)*600*time.Millisecond + time.Duration(i)*time.Millisecond)
			ticks = append(ticks, tradeAt(sym, at, fmt.Sprint(j+1), price))
		}
	}
	for i := 0; i < len(ticks); i += 97 {
		ticks = append(ticks, ticks[i]) // copies for dedupe to drop
	}
	p, s := beam.NewPipelineWithRoot()
	in := beamtest.Ticks(s, ticks...)
	opts := dedupe.Options{Window: time.Minute}
	packed, err := TryApply(s.Scope("packed"), Inputs{Ticks: dedupe.Batches(s, in, opts)}, rs)
	if err != nil {
		t.Fatal(err)
	}
	oneByOne, err := TryApply(s.Scope("ticks"), Inputs{Ticks: dedupe.Ticks(s, in, opts)}, rs)
	if err != nil {
		t.Fatal(err)
	}
	got := beam.ParDo(s, stripDetected, packed.Alerts)
	passert.Equals(s, got, beam.ParDo(s, stripDetected, oneByOne.Alerts))
	passert.True(s, stats.CountElms(s, got), atLeast50)
	ptest.RunAndValidate(t, p)
}

func TestApplyMissingInputs(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(applyRules+`  - name: vol
    kind: volume_spike
    resolution: 1m
    factor: 4
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, s := beam.NewPipelineWithRoot()
	_, err = TryApply(s, Inputs{Ticks: beamtest.Ticks(s, tradeAt("X", sec(0), "1", 1)), Bars: beam.CreateList(s, []int{1})}, rs)
	want := "alerts.Apply: rule move-5pct (change_pct, rules.yaml:17) reads changes, but Inputs.Changes is not set\n" +
		"alerts.Apply: rule vol (volume_spike, rules.yaml:24): alerts: rule vol: bars input must be a PCollection<tickbeam.Bar>, got PCollection<int>"
	if err == nil || err.Error() != want {
		t.Errorf("Apply error:\n%v\nwant:\n%s", err, want)
	}
	if _, err := TryApply(s, Inputs{}, &RuleSet{}); err == nil {
		t.Error("Apply with no rules: no error")
	}
}
