package portfolio

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
)

// Book values a portfolio window by window: the pure-Go core of Compute,
// which keeps one Book per pipeline in Beam state. Feed it the holdings
// (SetHoldings) and each bar window's bars in event-time order (Window); it
// keeps every symbol's last price, previous close and peak, and each
// currency's return index, and its state survives MarshalState and
// UnmarshalState. Use it directly to value a portfolio outside Beam, e.g. in
// a test or a notebook over recorded bars.
type Book struct {
	cal *calendar.Calendar
	st  bookState
}

type bookState struct {
	Holdings Holdings          `json:"holdings"`
	Symbols  map[string]*quote `json:"symbols"`
	Totals   map[string]*index `json:"totals"`
	LastEnd  time.Time         `json:"last_end"`
	// RowsEnd is the end of the last window that had rows: a period
	// return runs from a quote's Ref only if it was set then.
	RowsEnd time.Time `json:"rows_end"`
}

// quote is a symbol's market state. Prices are in the share terms of Day:
// a split since an older price divides it (Holdings.splitFactor).
type quote struct {
	Price     float64   `json:"p"`
	PriceTime time.Time `json:"t"`
	Day       string    `json:"d"`
	PrevClose float64   `json:"pc,omitempty"` // 0: no earlier trading day seen
	Peak      float64   `json:"pk"`
	MaxDD     float64   `json:"mdd,omitempty"`
	// Ref is the price at the symbol's last row (in the terms of RefDay),
	// in the window ending RefEnd: the base of its next period return.
	Ref    float64   `json:"r,omitempty"`
	RefDay string    `json:"rd,omitempty"`
	RefEnd time.Time `json:"re"`
}

// index is a currency's return index: the period returns chained from 1.
type index struct {
	Level float64 `json:"l"`
	Peak  float64 `json:"pk"`
	MaxDD float64 `json:"mdd,omitempty"`
}

// NewBook returns an empty Book whose trading days (previous closes, the
// days positions and splits take effect) follow cal; nil means CRYPTO, the
// UTC day.
func NewBook(cal *calendar.Calendar) (*Book, error) {
	if cal == nil {
		c, err := calendar.Lookup(DefaultCalendar)
		if err != nil {
			return nil, fmt.Errorf("portfolio: %w", err)
		}
		cal = c
	}
	return &Book{cal: cal, st: bookState{Symbols: map[string]*quote{}, Totals: map[string]*index{}}}, nil
}

// SetHoldings replaces the positions from the next window on. It reports
// whether they changed (another Version).
func (b *Book) SetHoldings(h Holdings) bool {
	if h.Version == b.st.Holdings.Version && b.st.Holdings.Version != "" {
		return false
	}
	b.st.Holdings = h
	return true
}

// Holdings returns the positions the Book values.
func (b *Book) Holdings() Holdings { return b.st.Holdings }

// Day returns the trading day of a window starting at start: its calendar
// session day, or its local date when no session is under way.
func (b *Book) Day(start time.Time) string {
	d, ok := b.cal.SessionDay(start)
	if !ok {
		d = calendar.DateOf(start.In(b.cal.Location()))
	}
	return d.String()
}

// Window takes the bars of one window (one per symbol, any symbols, the
// same WindowStart and WindowEnd) and returns the window's rows: for each
// currency, in currency order, its positions by symbol and then its total
// (Symbol tickbeam.PortfolioTotal). It returns no rows when no bar is of a
// symbol held that day: nothing moved. Windows must come in event-time
// order; a window ending at or before the last one is an error.
func (b *Book) Window(bars []tickbeam.Bar) ([]tickbeam.PortfolioRow, error) {
	if len(bars) == 0 {
		return nil, nil
	}
	start, end := bars[0].WindowStart, bars[0].WindowEnd
	for _, x := range bars {
		if !x.WindowStart.Equal(start) || !x.WindowEnd.Equal(end) {
			return nil, fmt.Errorf("portfolio: bars of windows %s and %s in one call", start, x.WindowStart)
		}
		if !(x.Close > 0) || math.IsInf(x.Close, 1) {
			return nil, fmt.Errorf("portfolio: %s bar at %s: close %v is not a positive price", x.Symbol, start, x.Close)
		}
	}
	if !b.st.LastEnd.IsZero() && !end.After(b.st.LastEnd) {
		return nil, fmt.Errorf("portfolio: window ending %s is not after the last one (%s)", end, b.st.LastEnd)
	}
	b.st.LastEnd = end
	day := b.Day(start)
	h := &b.st.Holdings
	for _, x := range bars {
		q := b.st.Symbols[x.Symbol]
		if q == nil {
			q = &quote{Day: day}
			b.st.Symbols[x.Symbol] = q
		}
		b.roll(x.Symbol, q, day)
		q.Price, q.PriceTime, q.Peak = x.Close, x.WindowEnd, max(q.Peak, x.Close)
		q.MaxDD = max(q.MaxDD, drawdown(q.Price, q.Peak))
	}
	held := h.at(day)
	moved := false
	for _, x := range bars {
		if _, ok := slices.BinarySearchFunc(held, x.Symbol, bySymbol); ok {
			moved = true
			break
		}
	}
	if !moved {
		return nil, nil
	}
	byCurrency := map[string][]Position{}
	for _, p := range held {
		byCurrency[p.Currency] = append(byCurrency[p.Currency], p)
	}
	var rows []tickbeam.PortfolioRow
	for _, cur := range slices.Sorted(maps.Keys(byCurrency)) {
		rows = b.currency(rows, cur, byCurrency[cur], bars[0].Resolution, start, end, day)
	}
	b.st.RowsEnd = end
	return rows, nil
}

func bySymbol(p Position, s string) int {
	switch {
	case p.Symbol < s:
		return -1
	case p.Symbol > s:
		return 1
	}
	return 0
}

// roll moves q to trading day day: a first price of a new day makes the
// last price before it the previous close, and splits since q's day divide
// its prices.
func (b *Book) roll(symbol string, q *quote, day string) {
	if q.Day >= day {
		return
	}
	f := b.st.Holdings.splitFactor(symbol, q.Day, day)
	q.Price /= f
	q.Peak /= f
	q.PrevClose = q.Price
	q.Day = day
}

// currency appends the rows of one currency's positions and their total.
func (b *Book) currency(rows []tickbeam.PortfolioRow, cur string, ps []Position, res string, start, end time.Time, day string) []tickbeam.PortfolioRow {
	total := tickbeam.PortfolioRow{Symbol: tickbeam.PortfolioTotal, Currency: cur, Resolution: res, WindowStart: start, WindowEnd: end,
		SessionDate: day}
	first := len(rows)
	var prevValue, moveValue, refValue, periodMove float64
	for _, p := range ps {
		q := b.st.Symbols[p.Symbol]
		if q == nil {
			total.Unpriced++
			continue
		}
		b.roll(p.Symbol, q, day)
		r := tickbeam.PortfolioRow{Symbol: p.Symbol, Currency: cur, Resolution: res, WindowStart: start, WindowEnd: end, SessionDate: day,
			Quantity: p.Quantity, CostBasis: p.CostBasis, Price: q.Price, PriceTime: q.PriceTime, PrevClose: q.PrevClose,
			MarketValue: p.Quantity * q.Price, CostValue: p.Quantity * p.CostBasis, DrawdownPct: drawdown(q.Price, q.Peak),
			MaxDrawdownPct: q.MaxDD, Positions: 1}
		r.UnrealizedPnL = r.MarketValue - r.CostValue
		r.UnrealizedPnLPct = pct(r.UnrealizedPnL, r.CostValue)
		if q.PrevClose > 0 {
			r.DayPnL = p.Quantity * (q.Price - q.PrevClose)
			r.DayReturnPct = pct(q.Price-q.PrevClose, q.PrevClose)
			prevValue += p.Quantity * q.PrevClose
		}
		if q.Ref > 0 && q.RefEnd.Equal(b.st.RowsEnd) { // held in the previous rows too
			ref := q.Ref / b.st.Holdings.splitFactor(p.Symbol, q.RefDay, day)
			r.PeriodReturnPct = pct(q.Price-ref, ref)
			refValue += p.Quantity * ref
			periodMove += p.Quantity * (q.Price - ref)
		}
		q.Ref, q.RefDay, q.RefEnd = q.Price, day, end
		moveValue += r.DayPnL
		total.Positions++
		total.MarketValue += r.MarketValue
		total.CostValue += r.CostValue
		if total.PriceTime.IsZero() || r.PriceTime.Before(total.PriceTime) {
			total.PriceTime = r.PriceTime
		}
		rows = append(rows, r)
	}
	for i := first; i < len(rows); i++ {
		rows[i].WeightPct = pct(rows[i].MarketValue, total.MarketValue)
	}
	total.UnrealizedPnL = total.MarketValue - total.CostValue
	total.UnrealizedPnLPct = pct(total.UnrealizedPnL, total.CostValue)
	total.DayPnL = moveValue
	total.DayReturnPct = pct(moveValue, prevValue)
	total.PeriodReturnPct = pct(periodMove, refValue)
	if total.Positions > 0 {
		total.WeightPct = 100
	}
	ix := b.st.Totals[cur]
	if ix == nil {
		ix = &index{Level: 1, Peak: 1}
		b.st.Totals[cur] = ix
	}
	if refValue > 0 {
		ix.Level *= 1 + periodMove/refValue
	}
	ix.Peak = max(ix.Peak, ix.Level)
	total.DrawdownPct = drawdown(ix.Level, ix.Peak)
	ix.MaxDD = max(ix.MaxDD, total.DrawdownPct)
	total.MaxDrawdownPct = ix.MaxDD
	return append(rows, total)
}

// pct is x over of, in percent; 0 when of is 0.
func pct(x, of float64) float64 {
	if of == 0 {
		return 0
	}
	return x / of * 100
}

// drawdown is how far x is below peak, in percent of peak.
func drawdown(x, peak float64) float64 {
	if peak <= 0 || x >= peak {
		return 0
	}
	return (1 - x/peak) * 100
}

// MarshalState encodes the Book's state (holdings, prices, indexes).
func (b *Book) MarshalState() ([]byte, error) { return json.Marshal(&b.st) }

// UnmarshalState restores a state MarshalState encoded.
func (b *Book) UnmarshalState(data []byte) error {
	st := bookState{}
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("portfolio: bad book state: %w", err)
	}
	if st.Symbols == nil {
		st.Symbols = map[string]*quote{}
	}
	if st.Totals == nil {
		st.Totals = map[string]*index{}
	}
	b.st = st
	return nil
}
