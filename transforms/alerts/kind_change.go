package alerts

import (
	"fmt"
	"math"

	"github.com/tickbeam/tickbeam"
)

// KindChangePct fires when the change versus the previous close is
// Threshold percent or more, up, down or both.
const KindChangePct Kind = "change_pct"

var changePctKind = kindSpec{
	kind:       KindChangePct,
	inputs:     []Input{InputChanges},
	fields:     []string{"input", "direction", "threshold", "band"},
	directions: []Direction{"", Above, Below, Both},
	check:      func(r *Rule, bad problemFn) { positive(bad, "threshold", r.Threshold) },
	start:      startBothWays,
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		if !finite(o.Value) {
			return nil
		}
		s := e.st.Th.Evaluate(o.Value, o.Time)
		if s == noSide {
			return nil
		}
		dir, limit := sideName(s, "up", "down"), sideName(s, "+", "-")+g(r.Threshold)+"%"
		msg := fmt.Sprintf("%s is %s %s%% vs the previous close (limit %s)", o.Symbol, dir, g(math.Abs(o.Value)), limit)
		if o.Ref > 0 {
			msg = fmt.Sprintf("%s is %s %s%% vs the previous close %s (limit %s)", o.Symbol, dir, g(math.Abs(o.Value)), g(o.Ref), limit)
		}
		return e.fire(o, o.Value, float64(s)*r.Threshold, msg, attr("direction", dir))
	},
}

// startBothWays arms +Threshold and/or -Threshold by the rule's direction
// (default both): change_pct, vwap_deviation.
func startBothWays(r *Rule, st *evalState) {
	d := r.direction()
	st.Th.HasHigh, st.Th.High = d == Above || d == Both, r.Threshold
	st.Th.HasLow, st.Th.Low = d == Below || d == Both, -r.Threshold
}
