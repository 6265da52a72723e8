package alerts

import (
	"fmt"

	"github.com/tickbeam/tickbeam"
)

// KindVolumeSpike fires when a bar's volume is Factor times the mean of
// the previous Window bars or more, or ZScore standard deviations above it.
const KindVolumeSpike Kind = "volume_spike"

var volumeSpikeKind = kindSpec{
	kind:   KindVolumeSpike,
	inputs: []Input{InputBars},
	fields: []string{"input", "resolution", "window", "factor", "zscore", "band"},
	check: func(r *Rule, bad problemFn) {
		checkWindow(r, bad)
		switch {
		case r.Factor == 0 && r.ZScore == 0:
			bad("factor", "one of factor or zscore is required")
		case r.Factor != 0 && r.ZScore != 0:
			bad("zscore", "give factor or zscore, not both")
		case r.Factor < 0:
			bad("factor", "must be > 0")
		case r.ZScore < 0:
			bad("zscore", "must be > 0")
		}
	},
	start: func(r *Rule, st *evalState) {
		st.Vol = newVolumeSpike(r.window(), r.Factor, r.ZScore, r.Band, r.Cooldown)
	},
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		if !finite(o.Volume) || o.Volume < 0 {
			return nil
		}
		ok, metric, level := e.st.Vol.Evaluate(o.Volume, o.Time)
		if !ok {
			return nil
		}
		var msg string
		if r.Factor > 0 {
			msg = fmt.Sprintf("%s %s volume %s is %s× the mean of the last %d bars (limit %s×)", o.Symbol, r.Resolution, g(o.Volume), g(metric), r.window(), g(r.Factor))
		} else {
			msg = fmt.Sprintf("%s %s volume %s is %s standard deviations above the mean of the last %d bars (limit %s)", o.Symbol, r.Resolution, g(o.Volume), g(metric), r.window(), g(r.ZScore))
		}
		return e.fire(o, o.Volume, level, msg, attr("metric", g(metric)))
	},
}
