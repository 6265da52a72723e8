package alerts

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Every kind of row survives the batch codec with its rule mask, whichever
// numbers it leaves zero.
func TestRuleObsCodecRoundTrip(t *testing.T) {
	var wide ruleMask
	wide.set(0)
	wide.set(70)
	wide.set(maxGroup - 1)
	rows := []ruleObs{
		{Observation: Observation{Symbol: "BTCUSDT", Time: sec(1), ID: "42", Price: 101.5}, rules: ruleMask{1}},
		{Observation: Observation{Symbol: "BTCUSDT", Time: sec(2), Bid: 100, Ask: 100.2}, rules: wide},
		{Observation: Observation{Symbol: "AAPL", Time: at(1), WindowStart: at(0), Pane: 2, Close: 190.1, VWAP: 190.05,
			Volume: 1e6, Notional: 1.9e8}, rules: ruleMask{4}},
		{Observation: Observation{Symbol: "005930", Time: at(2), Value: -5.5, Ref: 70000, ID: "7"}, rules: ruleMask{2}},
		{Observation: Observation{Symbol: "ETHUSDT", Time: at(5), WindowStart: at(4), Name: "sma_5/sma_20", Cross: -1,
			Fast: 99.5, Slow: 100}, rules: ruleMask{0, 1}},
		{Observation: Observation{Symbol: "X", Time: at(3), Value: math.Inf(1), Price: math.NaN()}, rules: ruleMask{1}},
	}
	got, err := ruleObsCodec.Decode(nil, ruleObsCodec.Encode(rows))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, got, cmp.AllowUnexported(ruleObs{}), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ruleObsCodec.Decode(nil, ruleObsCodec.Encode(rows)[:40]); err == nil {
		t.Error("a truncated batch decoded without error")
	}
}
