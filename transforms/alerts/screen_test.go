package alerts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// Run inside dedupe, the outlier rules give the verdicts Apply gives after
// it (TestOutliersQuarantine's ticks), over ticks arriving in two bundles
// with copies across them: a copy of a clean trade and of an outlier leave
// as duplicates, not as a second clean tick or a second dead letter. A
// second rule judges what the first passed.
func TestScreenQuarantinesInsideDedupe(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`
rules:
  - name: bad-prints
    kind: outlier
    symbols: ["BTC*"]
    window: 4
    pct: 5
    sigma: 3
    cooldown: 1m
  - name: eth-prints
    kind: outlier
    symbols: [ETHUSDT]
    window: 2
    pct: 50
    min_history: 2
  - name: level
    kind: price_level
    input: ticks
    symbols: [BTCUSDT]
    direction: above
    threshold: 1000
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ticks := []tickbeam.Tick{
		tradeAt("BTCUSDT", sec(3), "3", 99),
		tradeAt("BTCUSDT", sec(1), "1", 100),
		tradeAt("BTCUSDT", sec(2), "2", 101),
		tradeAt("BTCUSDT", sec(4), "4", 100),
		tradeAt("BTCUSDT", sec(5), "5", 150), // outlier
		tradeAt("BTCUSDT", sec(6), "6", 100.5),
		tradeAt("BTCUSDT", sec(7), "7", 10), // outlier
		{Symbol: "BTCUSDT", Kind: tickbeam.Quote, EventTime: sec(5), BidPrice: 1, AskPrice: 1000, Source: "test"},
		tradeAt("ETHUSDT", sec(5), "9", 1e9),
		tradeAt("ETHUSDT", sec(6), "10", 1e9),
		tradeAt("ETHUSDT", sec(7), "11", 1),  // outlier of the second rule
		tradeAt("SOLUSDT", sec(70), "12", 5), // watched by neither, in the next minute
	}
	copies := []tickbeam.Tick{ticks[3], ticks[4]}
	p, s := beam.NewPipelineWithRoot()
	in := beam.Flatten(s, beamtest.Ticks(s, ticks...), beamtest.Ticks(s, copies...))
	scr := &Screen{Rules: rs}
	clean := dedupe.Ticks(s, in, dedupe.Options{Screen: scr.Batches})
	if err := scr.Err(); err != nil {
		t.Fatal(err)
	}
	beamtest.Equals(s, clean, []tickbeam.Tick{ticks[0], ticks[1], ticks[2], ticks[3], ticks[5], ticks[7], ticks[8], ticks[9], ticks[11]})
	var ids []string
	beamtest.Equals(s, beam.ParDo(s, deadTradeID, scr.Quarantined), append(ids, "5", "7", "11"))
	res := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "quarantined"); n != 3 {
		t.Errorf("quarantined = %d, want 3", n)
	}
	// in = clean + quarantined + duplicates
	if n := beamtest.Counter(t, res, "tickbeam/dedupe", "duplicates"); n != 2 {
		t.Errorf("duplicates = %d, want 2", n)
	}
}

func init() { register.Function1x2(deadTradeID) }

func deadTradeID(d tickbeam.DeadLetter) (string, error) {
	var tk tickbeam.Tick
	err := json.Unmarshal([]byte(d.PayloadString), &tk)
	return tk.TradeID, err
}

func TestScreenWithoutOutlierRules(t *testing.T) {
	rs, err := ParseRules(strings.NewReader("rules:\n  - {name: level, kind: price_level, input: ticks, symbols: [X], direction: above, threshold: 1}\n"), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, s := beam.NewPipelineWithRoot()
	scr := &Screen{Rules: rs}
	dedupe.Ticks(s, beamtest.Ticks(s, tradeAt("X", sec(1), "1", 2)), dedupe.Options{Screen: scr.Batches, Window: time.Minute})
	if scr.Err() == nil {
		t.Error("no error for a rules file without outlier rules")
	}
}
