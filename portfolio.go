package tickbeam

import (
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// PortfolioTotal is the Symbol of a PortfolioRow that sums a currency's
// positions.
const PortfolioTotal = "*"

// PortfolioRow is one position of a portfolio, or the whole portfolio of one
// currency (Symbol PortfolioTotal), valued at the end of one bar window
// [WindowStart, WindowEnd) of Resolution: the rows of transforms/portfolio.
// Amounts are in Currency; nothing is converted between currencies. Figures
// named _pct are percent.
//
// A position's Price is the close of its symbol's latest bar up to the
// window: the window's own bar, or, for a symbol with no trade in it, the
// last one before (the price carries). PriceTime is the end of the bar the
// price comes from, so PriceTime before WindowEnd marks a carried price; on
// a total row it is the oldest price in the total. SessionDate is the
// trading day of the window in the portfolio's calendar. Quantity and
// CostBasis (per unit) are the position's on that day, after any split.
//
//	MarketValue       Quantity × Price
//	CostValue         Quantity × CostBasis
//	UnrealizedPnL     MarketValue − CostValue; UnrealizedPnLPct over CostValue
//	PrevClose         the last price of the previous trading day seen, split-adjusted
//	                  (0: none seen yet, and then DayPnL and DayReturnPct are 0)
//	DayPnL            Quantity × (Price − PrevClose); DayReturnPct over Quantity × PrevClose
//	PeriodReturnPct   the price move since the previous row of the position (split-adjusted)
//	WeightPct         MarketValue over the currency's total MarketValue
//	DrawdownPct       how far Price is below its highest since first seen (split-adjusted);
//	                  MaxDrawdownPct the deepest so far
//
// On a total row the amounts are sums over the priced positions (Quantity,
// CostBasis, Price and PrevClose are 0), DayReturnPct is ΣDayPnL over
// Σ Quantity × PrevClose, PeriodReturnPct is the holdings' value move over
// the window at today's quantities (so a changed position is not a gain),
// and DrawdownPct and MaxDrawdownPct follow the index those returns chain
// into. Positions counts the priced positions (1 on a position row) and
// Unpriced those whose symbol has had no bar yet, which are in no figure.
type PortfolioRow struct {
	Symbol           string    `json:"symbol"`
	Currency         string    `json:"currency"`
	Resolution       string    `json:"resolution"`
	WindowStart      time.Time `json:"window_start"`
	WindowEnd        time.Time `json:"window_end"`
	SessionDate      string    `json:"session_date"`
	Quantity         float64   `json:"quantity"`
	CostBasis        float64   `json:"cost_basis"`
	Price            float64   `json:"price"`
	PriceTime        time.Time `json:"price_time"`
	PrevClose        float64   `json:"prev_close"`
	MarketValue      float64   `json:"market_value"`
	CostValue        float64   `json:"cost_value"`
	UnrealizedPnL    float64   `json:"unrealized_pnl"`
	UnrealizedPnLPct float64   `json:"unrealized_pnl_pct"`
	DayPnL           float64   `json:"day_pnl"`
	DayReturnPct     float64   `json:"day_return_pct"`
	PeriodReturnPct  float64   `json:"period_return_pct"`
	WeightPct        float64   `json:"weight_pct"`
	DrawdownPct      float64   `json:"drawdown_pct"`
	MaxDrawdownPct   float64   `json:"max_drawdown_pct"`
	Positions        int64     `json:"positions"`
	Unpriced         int64     `json:"unpriced"`
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(PortfolioRow{}), encodePortfolioRow, decodePortfolioRow)
}

// floats lists the float columns in wire order.
func (p *PortfolioRow) floats() []*float64 {
	return []*float64{&p.Quantity, &p.CostBasis, &p.Price, &p.PrevClose, &p.MarketValue, &p.CostValue, &p.UnrealizedPnL,
		&p.UnrealizedPnLPct, &p.DayPnL, &p.DayReturnPct, &p.PeriodReturnPct, &p.WeightPct, &p.DrawdownPct, &p.MaxDrawdownPct}
}

func encodePortfolioRow(p PortfolioRow) ([]byte, error) {
	b := make([]byte, 0, 192)
	for _, s := range [...]string{p.Symbol, p.Currency, p.Resolution, p.SessionDate} {
		b = wire.AppendString(b, s)
	}
	for _, t := range [...]time.Time{p.WindowStart, p.WindowEnd, p.PriceTime} {
		b = wire.AppendTime(b, t)
	}
	for _, f := range p.floats() {
		b = wire.AppendFloat(b, *f)
	}
	b = wire.AppendInt(b, p.Positions)
	return wire.AppendInt(b, p.Unpriced), nil
}

func decodePortfolioRow(b []byte) (PortfolioRow, error) {
	r := wire.NewReader(b)
	var p PortfolioRow
	for _, s := range [...]*string{&p.Symbol, &p.Currency, &p.Resolution, &p.SessionDate} {
		*s = r.String()
	}
	for _, t := range [...]*time.Time{&p.WindowStart, &p.WindowEnd, &p.PriceTime} {
		*t = r.Time()
	}
	for _, f := range p.floats() {
		*f = r.Float()
	}
	p.Positions = r.Int()
	p.Unpriced = r.Int()
	if err := r.Err(); err != nil {
		return PortfolioRow{}, fmt.Errorf("decode PortfolioRow: %w", err)
	}
	return p, nil
}
