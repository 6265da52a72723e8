package alerts

import (
	"fmt"

	"github.com/tickbeam/tickbeam"
)

const (
	// KindPriceLevel fires when the price is at or beyond a level (above or
	// below), including the first price seen: "value below a level".
	KindPriceLevel Kind = "price_level"
	// KindPriceCross fires when the price crosses a level from the other side.
	KindPriceCross Kind = "price_cross"
)

var priceLevelKind = kindSpec{
	kind:       KindPriceLevel,
	inputs:     []Input{InputTicks, InputBars},
	fields:     []string{"input", "resolution", "direction", "threshold", "band"},
	directions: []Direction{Above, Below},
	check:      checkLevel,
	start:      startLevel,
	observe:    observePrice,
}

var priceCrossKind = kindSpec{
	kind:       KindPriceCross,
	inputs:     []Input{InputTicks, InputBars},
	fields:     []string{"input", "resolution", "direction", "threshold", "band"},
	directions: []Direction{Above, Below},
	check:      checkLevel,
	start: func(r *Rule, st *evalState) {
		startLevel(r, st)
		st.Th.Cross = true
	},
	observe: observePrice,
}

// checkLevel checks a level (price_level, price_cross, position_value).
func checkLevel(r *Rule, bad problemFn) { positive(bad, "threshold", r.Threshold) }

// startLevel arms the one limit of a level rule: its direction's.
func startLevel(r *Rule, st *evalState) {
	if r.Direction == Above {
		st.Th.HasHigh, st.Th.High = true, r.Threshold
	} else {
		st.Th.HasLow, st.Th.Low = true, r.Threshold
	}
}

// priceLimit judges the price of o against the rule's limits: the trade
// price, or the bar's close on bars. It returns the limit reached (noSide
// for none, or for a price that is not a positive number), the price and
// what to call it.
func (e *Evaluator) priceLimit(o Observation) (s limitSide, v float64, what string) {
	v, what = o.Price, "price"
	if e.rule.input() == InputBars {
		v, what = o.Close, e.rule.Resolution+" close"
	}
	if !(v > 0) || !finite(v) {
		return noSide, v, what
	}
	return e.st.Th.Evaluate(v, o.Time), v, what
}

func observePrice(e *Evaluator, o Observation) []tickbeam.Alert {
	r := &e.rule
	s, v, what := e.priceLimit(o)
	if s == noSide {
		return nil
	}
	dir := sideName(s, "above", "below")
	if r.Kind == KindPriceCross {
		return e.fire(o, v, r.Threshold, fmt.Sprintf("%s %s %s crossed %s %s", o.Symbol, what, g(v), dir, g(r.Threshold)), attr("direction", dir))
	}
	return e.fire(o, v, r.Threshold, fmt.Sprintf("%s %s %s is at or %s %s", o.Symbol, what, g(v), dir, g(r.Threshold)), attr("direction", dir))
}
