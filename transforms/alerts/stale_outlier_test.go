package alerts

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// Seed 003: email when no data for 5 minutes during 08:50-16:00 KST on
// XKRX trading days. Friday's feed ends at 15:59:30; Saturday, Sunday and
// the March 2 holiday are quiet and must not alert; Tuesday's first ticks
// come in time, a 10:00-10:20 outage alerts once at 10:05 and recovers at
// 10:20; after Tuesday's last tick the end of the stream reports the next
// outage 5 minutes after Wednesday's open.
func TestStaleFeedCalendar(t *testing.T) {
	r := Rule{Name: "krx-fresh", Kind: KindStaleFeed, Symbols: []string{"005930"}, MaxSilence: 5 * time.Minute,
		Sessions: &Sessions{Calendar: "XKRX", Hours: "08:50-16:00"}, Notify: []string{"ops-email"}}
	tick := func(at time.Time) tickbeam.Tick { return tradeAt("005930", at, "", 70000) }
	cfg := teststream.NewConfig()
	must(t, cfg.AdvanceWatermark(ms(kst(2, 27, 15, 0, 0))))
	must(t, cfg.AddElements(ms(kst(2, 27, 15, 50, 0)), tick(kst(2, 27, 15, 50, 0))))
	must(t, cfg.AddElements(ms(kst(2, 27, 15, 59, 30)), tick(kst(2, 27, 15, 59, 30))))
	must(t, cfg.AddElements(ms(kst(2, 27, 15, 59, 40)), tradeAt("000660", kst(2, 27, 15, 59, 40), "", 1))) // not watched
	must(t, cfg.AdvanceWatermark(ms(kst(2, 28, 12, 0, 0))))                                                // Saturday
	must(t, cfg.AdvanceWatermark(ms(kst(3, 2, 12, 0, 0))))                                                 // Monday, a holiday
	// Tuesday: a tick every 4 minutes from 08:52 to 10:00, then nothing until 10:20.
	for at := kst(3, 3, 8, 52, 0); !at.After(kst(3, 3, 10, 0, 0)); at = at.Add(4 * time.Minute) {
		must(t, cfg.AddElements(ms(at), tick(at)))
	}
	must(t, cfg.AdvanceWatermark(ms(kst(3, 3, 10, 15, 0))))
	must(t, cfg.AddElements(ms(kst(3, 3, 10, 20, 0)), tick(kst(3, 3, 10, 20, 0))))
	must(t, cfg.AddElements(ms(kst(3, 3, 15, 59, 0)), tick(kst(3, 3, 15, 59, 0))))
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	got := staleFeed(s, r, teststream.Create(s, cfg))
	labels := func(state, last string) []tickbeam.Attribute {
		ls := []tickbeam.Attribute{{Key: "kind", Value: "stale_feed"}}
		if last != "" {
			ls = append(ls, tickbeam.Attribute{Key: "last_tick", Value: last})
		}
		return append(ls, tickbeam.Attribute{Key: "notify", Value: "ops-email"}, tickbeam.Attribute{Key: "state", Value: state})
	}
	alert := func(at time.Time, sev tickbeam.Severity, v float64, msg string, ls []tickbeam.Attribute) tickbeam.Alert {
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID(r.Name, "005930", at), Rule: r.Name, Symbol: "005930", Severity: sev,
			EventTime: at.UTC(), Value: v, Threshold: 300, Message: msg, Labels: ls}
	}
	equalAlerts(s, got, []tickbeam.Alert{
		alert(kst(3, 3, 10, 5, 0), tickbeam.Warning, 300,
			"005930: no data for 5m0s of open market (last tick 2026-03-03T01:00:00Z, 5m0s ago)",
			labels("outage", "2026-03-03T01:00:00Z")),
		alert(kst(3, 3, 10, 20, 0), tickbeam.Info, 1200,
			"005930: data again at 2026-03-03T01:20:00Z after 20m0s of silence", labels("recovered", "")),
		alert(kst(3, 4, 8, 55, 0), tickbeam.Warning, 60960,
			"005930: no data for 5m0s of open market (last tick 2026-03-03T06:59:00Z, 16h56m0s ago)",
			labels("outage", "2026-03-03T06:59:00Z")),
	})
	ptest.RunAndValidate(t, p)
}

// Outlier ticks are quarantined to dead letters with the tick as payload,
// the alert says so, and clean ticks pass on, whatever the arrival order.
func TestOutliersQuarantine(t *testing.T) {
	r := Rule{Name: "bad-prints", Kind: KindOutlier, Symbols: []string{"BTC*"}, Window: 4, Pct: 5, Sigma: 3, Cooldown: time.Minute}
	ticks := []tickbeam.Tick{
		tradeAt("BTCUSDT", sec(3), "3", 99),
		tradeAt("BTCUSDT", sec(1), "1", 100),
		tradeAt("BTCUSDT", sec(2), "2", 101),
		tradeAt("BTCUSDT", sec(4), "4", 100),
		tradeAt("BTCUSDT", sec(5), "5", 150), // outlier: alert
		tradeAt("BTCUSDT", sec(6), "6", 100.5),
		tradeAt("BTCUSDT", sec(7), "7", 10), // outlier: dead letter, alert held back by the cooldown
		{Symbol: "BTCUSDT", Kind: tickbeam.Quote, EventTime: sec(5), BidPrice: 1, AskPrice: 1000, Source: "test"},
		tradeAt("ETHUSDT", sec(5), "9", 1e9), // not watched
	}
	p, s := beam.NewPipelineWithRoot()
	clean, quarantined, alerts := quarantineOutliers(s, r, beamtest.Ticks(s, ticks...))
	beamtest.Equals(s, clean, []tickbeam.Tick{ticks[0], ticks[1], ticks[2], ticks[3], ticks[5], ticks[7], ticks[8]})
	dead := func(tk tickbeam.Tick, reason string) tickbeam.DeadLetter {
		payload, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		return tickbeam.NewDeadLetter(tk.EventTime, payload, map[string]string{"rule": r.Name, "symbol": tk.Symbol, "trade_id": tk.TradeID},
			tickbeam.StageOutlier, "test", errString(reason))
	}
	// History 100, 101, 99, 100: mean 100, sd 0.707107; then 100.5 replaces 100: 100.5, 101, 99, 100.
	reason5 := "rule bad-prints: 50% from the last clean price 100 (limit 5%) and 70.7107 standard deviations from the mean 100 of the last 4 prices (limit 3)"
	reason7 := "rule bad-prints: 90.0498% from the last clean price 100.5 (limit 5%) and 121.871 standard deviations from the mean 100.125 of the last 4 prices (limit 3)"
	beamtest.Equals(s, quarantined, []tickbeam.DeadLetter{dead(ticks[4], reason5), dead(ticks[6], reason7)})
	equalAlerts(s, alerts, []tickbeam.Alert{{
		AlertID: tickbeam.NewAlertID(r.Name, "BTCUSDT", sec(5)), Rule: r.Name, Symbol: "BTCUSDT", Severity: tickbeam.Warning,
		EventTime: sec(5), Value: 150, Threshold: 100, Message: "BTCUSDT trade 150 quarantined as an outlier: " + reason5,
		Labels: []tickbeam.Attribute{{Key: "kind", Value: "outlier"}, {Key: "quarantined", Value: "true"}, {Key: "trade_id", Value: "5"}},
	}})
	res := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "quarantined"); n != 2 {
		t.Errorf("quarantined = %d, want 2", n)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func init() { register.Function1x2(dedupe.DecodeBatch) }

// stale_feed over dedupe's batches reads a batch of one symbol from its
// header (earliest and latest tick) and decodes it only when it straddles
// the last tick of a symbol that is down: the outage then ends at the first
// tick after that last one, inside the batch. Mixed batches are read tick
// by tick. Every outage and recovery below is what the ticks one by one give.
func TestStaleFeedPackedBatches(t *testing.T) {
	r := Rule{Name: "fresh", Kind: KindStaleFeed, MaxSilence: 5 * time.Minute}
	at := func(h, m, s int) time.Time { return time.Date(2026, 1, 5, h, m, s, 0, time.UTC) }
	batch := func(ticks ...tickbeam.Tick) []byte {
		b, err := dedupe.Batch{Ticks: ticks}.MarshalBinary()
		must(t, err)
		return b
	}
	x := func(h, m, s int) tickbeam.Tick { return tradeAt("X", at(h, m, s), "", 10) }
	cfg := teststream.NewConfig()
	must(t, cfg.AdvanceWatermark(ms(at(9, 59, 0))))
	must(t, cfg.AddElements(ms(at(10, 0, 0)), batch(x(10, 0, 0), x(10, 0, 30), x(10, 1, 0))))
	must(t, cfg.AdvanceWatermark(ms(at(10, 6, 30)))) // X down at 10:06
	// Late: it starts before X's last tick; the outage ends at 10:07 within it.
	must(t, cfg.AddElements(ms(at(10, 6, 30)), batch(x(10, 0, 45), x(10, 7, 0), x(10, 8, 0))))
	must(t, cfg.AddElements(ms(at(10, 8, 30)), batch(x(10, 8, 30), x(10, 9, 0))))
	must(t, cfg.AdvanceWatermark(ms(at(10, 19, 0)))) // X down at 10:14
	must(t, cfg.AddElements(ms(at(10, 20, 0)), batch(x(10, 20, 0), x(10, 21, 0))))
	must(t, cfg.AddElements(ms(at(10, 22, 0)), batch(x(10, 22, 0), tradeAt("Y", at(10, 22, 0), "", 5)))) // mixed
	must(t, cfg.AdvanceWatermarkToInfinity())

	p, s := beam.NewPipelineWithRoot()
	batches := beam.ParDo(s, dedupe.DecodeBatch, teststream.Create(s, cfg))
	got, err := tryStaleFeed(s, r, batches)
	must(t, err)
	rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	outage := func(sym string, last time.Time) tickbeam.Alert {
		due := last.Add(5 * time.Minute)
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID(r.Name, sym, due), Rule: r.Name, Symbol: sym, Severity: r.severity(),
			EventTime: due, Value: 300, Threshold: 300,
			Message: fmt.Sprintf("%s: no data for 5m0s of open market (last tick %s, 5m0s ago)", sym, rfc(last)),
			Labels:  r.labels(attr("last_tick", rfc(last)), attr("state", "outage"))}
	}
	recovery := func(sym string, back time.Time, silence time.Duration) tickbeam.Alert {
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID(r.Name, sym, back), Rule: r.Name, Symbol: sym, Severity: tickbeam.Info,
			EventTime: back, Value: silence.Seconds(), Threshold: 300,
			Message: fmt.Sprintf("%s: data again at %s after %s of silence", sym, rfc(back), silence),
			Labels:  r.labels(attr("state", "recovered"))}
	}
	equalAlerts(s, got, []tickbeam.Alert{
		outage("X", at(10, 1, 0)),
		recovery("X", at(10, 7, 0), 6*time.Minute),
		outage("X", at(10, 9, 0)),
		recovery("X", at(10, 20, 0), 11*time.Minute),
		outage("X", at(10, 22, 0)),
		outage("Y", at(10, 22, 0)),
	})
	ptest.RunAndValidate(t, p)
}
