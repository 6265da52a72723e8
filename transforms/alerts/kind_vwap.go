package alerts

import (
	"fmt"
	"math"

	"github.com/tickbeam/tickbeam"
)

// KindVWAPDeviation fires when a bar's close is Threshold percent or more
// away from the bar's VWAP or from the session VWAP.
const KindVWAPDeviation Kind = "vwap_deviation"

var vwapDeviationKind = kindSpec{
	kind:       KindVWAPDeviation,
	inputs:     []Input{InputBars},
	fields:     []string{"input", "resolution", "direction", "threshold", "band", "vwap"},
	directions: []Direction{"", Above, Below, Both},
	check: func(r *Rule, bad problemFn) {
		positive(bad, "threshold", r.Threshold)
		if r.VWAP != "" && r.VWAP != "bar" && r.VWAP != "session" {
			bad("vwap", "%q: want bar or session", r.VWAP)
		}
	},
	start: startBothWays,
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		ref, what := o.VWAP, "bar VWAP"
		if r.VWAP == "session" {
			var ok bool
			if ref, ok = e.st.VWAP.Add(e.sessionDay(o), o.Notional, o.Volume); !ok {
				return nil
			}
			what = "session VWAP"
		}
		if !(ref > 0) || !finite(ref, o.Close) {
			return nil
		}
		dev := round9((o.Close - ref) / ref * 100)
		s := e.st.Th.Evaluate(dev, o.Time)
		if s == noSide {
			return nil
		}
		dir := sideName(s, "above", "below")
		return e.fire(o, dev, float64(s)*r.Threshold, fmt.Sprintf("%s %s close %s is %s%% %s the %s %s (limit %s%%)",
			o.Symbol, r.Resolution, g(o.Close), g(math.Abs(dev)), dir, what, g(ref), g(r.Threshold)), attr("direction", dir), attr("vwap", g(ref)))
	},
}
