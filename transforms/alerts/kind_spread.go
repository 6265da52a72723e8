package alerts

import (
	"fmt"

	"github.com/tickbeam/tickbeam"
)

// KindSpread fires when a quote's ask−bid spread is Threshold basis
// points of the mid or more.
const KindSpread Kind = "spread"

var spreadKind = kindSpec{
	kind:   KindSpread,
	inputs: []Input{InputTicks},
	fields: []string{"input", "threshold", "band"},
	quotes: true,
	check:  func(r *Rule, bad problemFn) { positive(bad, "threshold", r.Threshold) },
	start:  func(r *Rule, st *evalState) { st.Th.HasHigh, st.Th.High = true, r.Threshold },
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		if !(o.Bid > 0 && o.Ask >= o.Bid) || !finite(o.Bid, o.Ask) {
			return nil
		}
		bps := round9((o.Ask - o.Bid) / ((o.Ask + o.Bid) / 2) * 1e4)
		if e.st.Th.Evaluate(bps, o.Time) == noSide {
			return nil
		}
		return e.fire(o, bps, r.Threshold, fmt.Sprintf("%s spread %s bps (bid %s, ask %s) is at or above %s bps",
			o.Symbol, g(bps), g(o.Bid), g(o.Ask), g(r.Threshold)))
	},
}
