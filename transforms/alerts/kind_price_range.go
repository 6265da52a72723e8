package alerts

import (
	"fmt"

	"github.com/tickbeam/tickbeam"
)

// KindPriceRange fires when the price leaves the range from Low to High:
// at or below Low, or at or above High, including the first price seen.
const KindPriceRange Kind = "price_range"

var priceRangeKind = kindSpec{
	kind:   KindPriceRange,
	inputs: []Input{InputTicks, InputBars},
	fields: []string{"input", "resolution", "low", "high", "band"},
	check: func(r *Rule, bad problemFn) {
		positive(bad, "low", r.Low)
		positive(bad, "high", r.High)
		if r.Low > 0 && r.High > 0 && r.High <= r.Low {
			bad("high", "must be above low")
		}
	},
	start: func(r *Rule, st *evalState) {
		st.Th.HasLow, st.Th.Low = true, r.Low
		st.Th.HasHigh, st.Th.High = true, r.High
	},
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		s, v, what := e.priceLimit(o)
		if s == noSide {
			return nil
		}
		dir, end, limit := sideName(s, "above", "below"), sideName(s, "high", "low"), r.High
		if s == lowSide {
			limit = r.Low
		}
		return e.fire(o, v, limit, fmt.Sprintf("%s %s %s is at or %s the range %s %s (range %s to %s)",
			o.Symbol, what, g(v), dir, end, g(limit), g(r.Low), g(r.High)), attr("direction", dir))
	},
}
