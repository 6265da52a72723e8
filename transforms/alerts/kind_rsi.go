package alerts

import (
	"fmt"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

// KindRSI fires when RSI reaches Overbought or Oversold.
const KindRSI Kind = "rsi"

var rsiKind = kindSpec{
	kind:   KindRSI,
	inputs: []Input{InputBars, InputIndicators},
	fields: []string{"input", "resolution", "period", "overbought", "oversold", "band"},
	check: func(r *Rule, bad problemFn) {
		if r.Period < 0 || r.Period == 1 || r.Period > indicators.MaxPeriod {
			bad("period", "must be from 2 to %d", indicators.MaxPeriod)
		}
		if r.Overbought == 0 && r.Oversold == 0 {
			bad("overbought", "one of overbought or oversold is required")
		}
		if r.Overbought < 0 || r.Overbought >= 100 {
			bad("overbought", "must be between 0 and 100")
		}
		if r.Oversold < 0 || r.Oversold >= 100 {
			bad("oversold", "must be between 0 and 100")
		}
		if r.Overbought != 0 && r.Oversold != 0 && r.Oversold >= r.Overbought {
			bad("oversold", "must be below overbought")
		}
	},
	start: func(r *Rule, st *evalState) {
		st.Th.HasHigh, st.Th.High = r.Overbought > 0, r.Overbought
		st.Th.HasLow, st.Th.Low = r.Oversold > 0, r.Oversold
	},
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		v := o.Value
		if r.input() == InputBars {
			res, ok := e.updateSet(o, func() (*indicators.Set, error) {
				return indicators.NewSet([]indicators.Spec{indicators.RSI(r.period())})
			})
			if !ok || len(res) == 0 {
				return nil
			}
			v = res[0].Value.Value
		}
		if !finite(v) {
			return nil
		}
		s := e.st.Th.Evaluate(v, o.Time)
		if s == noSide {
			return nil
		}
		state, limit := sideName(s, "overbought", "oversold"), r.Overbought
		cmp := ">="
		if s == lowSide {
			limit, cmp = r.Oversold, "<="
		}
		return e.fire(o, v, limit, fmt.Sprintf("%s RSI(%d) %s is %s (%s %s)", o.Symbol, r.period(), g(v), state, cmp, g(limit)), attr("direction", state))
	},
}
