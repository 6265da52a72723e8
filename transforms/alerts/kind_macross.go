package alerts

import (
	"fmt"
	"strings"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

// KindMACross fires on a golden or death cross of a fast and a slow
// moving average.
const KindMACross Kind = "ma_cross"

var maCrossKind = kindSpec{
	kind:       KindMACross,
	inputs:     []Input{InputBars, InputCrosses},
	fields:     []string{"input", "resolution", "direction", "fast", "slow"},
	directions: []Direction{"", Golden, Death, Both},
	check: func(r *Rule, bad problemFn) {
		if r.Fast == "" {
			bad("fast", "required, e.g. sma:50")
		}
		if r.Slow == "" {
			bad("slow", "required, e.g. sma:200")
		}
		if r.Fast != "" && r.Slow != "" {
			if _, err := r.crossover(); err != nil {
				bad("fast", "%s", strings.TrimPrefix(err.Error(), "indicators: "))
			}
		}
	},
	start: func(*Rule, *evalState) {}, // a cooldown, no limits
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		cross, fast, slow := indicators.Cross(o.Cross), o.Fast, o.Slow
		if r.input() == InputBars {
			_, ok := e.updateSet(o, func() (*indicators.Set, error) { return indicators.NewSet(nil, e.cross) })
			if !ok || e.lastEvent == nil {
				return nil
			}
			cross, fast, slow = e.lastEvent.Cross, e.lastEvent.FastValue, e.lastEvent.SlowValue
		}
		if cross == indicators.NoCross {
			return nil
		}
		d := r.direction()
		if (cross == indicators.GoldenCross && d == Death) || (cross == indicators.DeathCross && d == Golden) {
			return nil
		}
		if !e.st.CD.Allow(o.Time) {
			return nil
		}
		dir := "above"
		if cross == indicators.DeathCross {
			dir = "below"
		}
		return e.fire(o, fast, slow, fmt.Sprintf("%s %s %s: %s %s crossed %s %s %s", o.Symbol, r.Resolution, cross,
			e.cross.Fast.Name(), g(fast), dir, e.cross.Slow.Name(), g(slow)), attr("direction", cross.String()))
	},
}
