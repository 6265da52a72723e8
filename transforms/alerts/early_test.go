package alerts

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func init() {
	register.Function3x0[string, dedupe.Batch, func(string, dedupe.Batch)](againBatch)
}

// againBatch passes every batch on again: a second copy of every tick.
func againBatch(k string, b dedupe.Batch, emit func(string, dedupe.Batch)) { emit(k, b) }

// The tick rules read dedupe's early batches, where every tick comes twice
// (a Screen branch that repeats them), and fire as on the deduplicated
// batches: a copy of a trade, or of a quote without a trade id that other
// quotes of its time leave apart from it, is evaluated once.
func TestTickRulesDropCopiesOfEarlyBatches(t *testing.T) {
	cross := Rule{Name: "btc-cross-100", Kind: KindPriceCross, Symbols: []string{"BTCUSDT"}, Direction: Below, Threshold: 100, Band: 0.5}
	spread := Rule{Name: "eth-spread", Kind: KindSpread, Symbols: []string{"ETHUSDT"}, Threshold: 50}
	quote := func(at time.Time, bid, ask float64) tickbeam.Tick {
		return tickbeam.Tick{Symbol: "ETHUSDT", Kind: tickbeam.Quote, EventTime: at, BidPrice: bid, BidSize: 1, AskPrice: ask, AskSize: 1, Source: "test"}
	}
	ticks := []tickbeam.Tick{
		tradeAt("BTCUSDT", sec(10), "1", 101), tradeAt("BTCUSDT", sec(20), "2", 99),
		tradeAt("BTCUSDT", sec(30), "3", 101), tradeAt("BTCUSDT", sec(40), "4", 99.9),
		// Two quotes of one time: 10 bps, then 100 bps (fires). Their copies,
		// evaluated, would re-arm the rule and fire again.
		quote(sec(5), 99.95, 100.05), quote(sec(5), 99.5, 100.5),
		quote(sec(6), 99.95, 100.05), quote(sec(7), 99.5, 100.5),
	}
	crossLabels := []tickbeam.Attribute{{Key: "direction", Value: "below"}, {Key: "kind", Value: "price_cross"}}
	spreadLabels := []tickbeam.Attribute{{Key: "kind", Value: "spread"}}
	crossAlert := func(at time.Time, price float64, msg string) tickbeam.Alert {
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID(cross.Name, "BTCUSDT", at), Rule: cross.Name, Symbol: "BTCUSDT",
			Severity: tickbeam.Warning, EventTime: at, Value: price, Threshold: 100, Message: msg, Labels: crossLabels}
	}
	spreadAlert := func(at time.Time) tickbeam.Alert {
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID(spread.Name, "ETHUSDT", at), Rule: spread.Name, Symbol: "ETHUSDT",
			Severity: tickbeam.Warning, EventTime: at, Value: 100, Threshold: 50,
			Message: "ETHUSDT spread 100 bps (bid 99.5, ask 100.5) is at or above 50 bps", Labels: spreadLabels}
	}
	want := []tickbeam.Alert{
		crossAlert(sec(20), 99, "BTCUSDT price 99 crossed below 100"),
		crossAlert(sec(40), 99.9, "BTCUSDT price 99.9 crossed below 100"),
		spreadAlert(sec(5)), spreadAlert(sec(7)),
	}

	p, s := beam.NewPipelineWithRoot()
	var early beam.PCollection
	unique := dedupe.Batches(s, beamtest.Ticks(s, ticks...), dedupe.Options{
		Screen: func(s beam.Scope, batches beam.PCollection, _ time.Duration) []beam.PCollection {
			return []beam.PCollection{batches, beam.ParDo(s, againBatch, batches)}
		},
		Early: func(b beam.PCollection) { early = b },
	})
	beamtest.Equals(s, dedupe.Unbatch(s, early), append(append([]tickbeam.Tick{}, ticks...), ticks...))
	rules := []Rule{cross, spread}
	for name, in := range map[string]beam.PCollection{"early": early, "unique": unique} {
		got, err := tryEvaluate(s.Scope(name), "alerts.ticks", rules, in)
		must(t, err)
		equalAlerts(s.Scope(name), got, want)
	}
	ptest.RunAndValidate(t, p)
}
