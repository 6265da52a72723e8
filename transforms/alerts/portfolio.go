package alerts

import (
	"context"
	"fmt"
	"math"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
)

var portfolioType = reflect.TypeOf(tickbeam.PortfolioRow{})

func init() {
	register.DoFn3x0[context.Context, tickbeam.PortfolioRow, func(beam.EventTime, string, []byte)](&portfolioObsFn{})
}

// PortfolioSymbol is the symbol drawdown and position_value rules see for a
// portfolio row: the position's symbol, or for a currency's total "*" and
// the currency ("*USD"), so totals in two currencies keep apart. A rule's
// Symbols pattern "[*]*" matches every total, "[*]USD" the USD one.
func PortfolioSymbol(r tickbeam.PortfolioRow) string {
	if r.Symbol == tickbeam.PortfolioTotal {
		return tickbeam.PortfolioTotal + r.Currency
	}
	return r.Symbol
}

// portfolioObsFn turns portfolio rows into observations at their window's
// end: Value is the drawdown percent or the market value (per rule kind,
// so both go in), Name the currency.
type portfolioObsFn struct {
	Rules []Rule
	filter
}

func (fn *portfolioObsFn) Setup() { fn.setup(fn.Rules) }

func (fn *portfolioObsFn) ProcessElement(_ context.Context, p tickbeam.PortfolioRow, emit func(beam.EventTime, string, []byte)) {
	sym := PortfolioSymbol(p)
	m := fn.selectRules(sym, p.WindowStart, func(int, *Rule) bool { return true })
	fn.add(Observation{Symbol: sym, Time: p.WindowEnd, WindowStart: p.WindowStart, Name: p.Currency,
		Value: p.DrawdownPct, Close: p.MarketValue}, m, emit)
}

const (
	// KindDrawdown fires when a position's price, or a currency's portfolio
	// value index, is Threshold percent or more below its peak
	// (tickbeam.PortfolioRow's drawdown_pct).
	KindDrawdown Kind = "drawdown"
	// KindPositionValue fires when a position's market value, or a
	// currency's portfolio value, is at or beyond a level (above or below),
	// in that currency.
	KindPositionValue Kind = "position_value"
)

var drawdownKind = kindSpec{
	kind:   KindDrawdown,
	inputs: []Input{InputPortfolio},
	fields: []string{"input", "threshold", "band"},
	check: func(r *Rule, bad problemFn) {
		if !(r.Threshold > 0 && r.Threshold < 100) {
			bad("threshold", "must be a percent between 0 and 100")
		}
	},
	start: func(r *Rule, st *evalState) { st.Th.HasHigh, st.Th.High = true, r.Threshold },
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		what, _, ok := e.portfolioValue(o, o.Value)
		if !ok {
			return nil
		}
		return e.fire(o, o.Value, r.Threshold, fmt.Sprintf("%s is %s%% below its peak (limit %s%%)", what, g(math.Abs(o.Value)), g(r.Threshold)),
			attr("currency", o.Name))
	},
}

var positionValueKind = kindSpec{
	kind:       KindPositionValue,
	inputs:     []Input{InputPortfolio},
	fields:     []string{"input", "direction", "threshold", "band"},
	directions: []Direction{Above, Below},
	check:      checkLevel,
	start:      startLevel,
	observe: func(e *Evaluator, o Observation) []tickbeam.Alert {
		r := &e.rule
		what, s, ok := e.portfolioValue(o, o.Close)
		if !ok {
			return nil
		}
		dir := sideName(s, "above", "below")
		return e.fire(o, o.Close, r.Threshold, fmt.Sprintf("%s value %s %s is at or %s %s", what, g(o.Close), o.Name, dir, g(r.Threshold)),
			attr("currency", o.Name), attr("direction", dir))
	},
}

// portfolioValue judges v, a drawdown percent (o.Value) or a market value
// (o.Close; see portfolioObsFn), and names what the row is about: the
// position's symbol or "portfolio USD". ok is true when a limit fires.
func (e *Evaluator) portfolioValue(o Observation, v float64) (what string, s limitSide, ok bool) {
	what = o.Symbol
	if len(o.Symbol) > 0 && o.Symbol[:1] == tickbeam.PortfolioTotal {
		what = "portfolio " + o.Name
	}
	if !finite(v) || v < 0 {
		return what, noSide, false
	}
	s = e.st.Th.Evaluate(round9(v), o.Time)
	return what, s, s != noSide
}
