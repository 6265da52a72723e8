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

// observePortfolio evaluates a drawdown rule on o.Value and a
// position_value rule on o.Close (see portfolioObsFn).
func (e *Evaluator) observePortfolio(o Observation) []tickbeam.Alert {
	r := &e.rule
	what := o.Symbol
	if len(o.Symbol) > 0 && o.Symbol[:1] == tickbeam.PortfolioTotal {
		what = "portfolio " + o.Name
	}
	v := o.Value
	if r.Kind == KindPositionValue {
		v = o.Close
	}
	if !finite(v) || v < 0 {
		return nil
	}
	s := e.st.Th.Evaluate(round9(v), o.Time)
	if s == NoSide {
		return nil
	}
	cur := attr("currency", o.Name)
	if r.Kind == KindDrawdown {
		return []tickbeam.Alert{r.newAlert(o.Symbol, o.Time, r.severity(), v, r.Threshold,
			fmt.Sprintf("%s is %s%% below its peak (limit %s%%)", what, g(math.Abs(v)), g(r.Threshold)), cur)}
	}
	dir := sideName(s, "above", "below")
	return []tickbeam.Alert{r.newAlert(o.Symbol, o.Time, r.severity(), v, r.Threshold,
		fmt.Sprintf("%s value %s %s is at or %s %s", what, g(v), o.Name, dir, g(r.Threshold)), cur, attr("direction", dir))}
}
