package portfolio

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
)

// The positions of the hand-computed tests: AAPL splits 2-for-1 on
// 2026-01-16 (a restated row from that day), NVDA has no price until the
// second day, BTC is in another currency.
const testPositions = `symbol,quantity,cost_basis,currency,from_date,split
AAPL,10,150,USD,,
AAPL,20,75,USD,2026-01-16,2
MSFT,5,400,usd,,
NVDA,4,100,USD,,
BTC,0.5,40000,USDT,,
`

var approx = cmpopts.EquateApprox(0, 1e-9)

func mustHoldings(t *testing.T, csv string) Holdings {
	t.Helper()
	h, err := ParseCSV("positions.csv", []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func minute(day string, hhmm string) time.Time {
	t, err := time.Parse(time.RFC3339, day+"T"+hhmm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

// barsAt builds the 1m bars of one window from symbol=close pairs.
func barsAt(start time.Time, closes ...any) []tickbeam.Bar {
	var bs []tickbeam.Bar
	for i := 0; i < len(closes); i += 2 {
		bs = append(bs, tickbeam.Bar{Symbol: closes[i].(string), Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
			Close: closes[i+1].(float64)})
	}
	return bs
}

// row is a position row of the test with the fields every row shares.
func row(sym, cur string, start time.Time, day string) tickbeam.PortfolioRow {
	return tickbeam.PortfolioRow{Symbol: sym, Currency: cur, Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
		SessionDate: day, Positions: 1}
}

func TestBookHandComputed(t *testing.T) {
	const d1, d2 = "2026-01-15", "2026-01-16"
	w1, w2, w3 := minute(d1, "10:00"), minute(d1, "10:01"), minute(d1, "10:03")
	w4, w5 := minute(d2, "00:00"), minute(d2, "00:01")
	book, err := NewBook(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !book.SetHoldings(mustHoldings(t, testPositions)) {
		t.Fatal("SetHoldings: no change")
	}
	if book.SetHoldings(mustHoldings(t, testPositions)) {
		t.Error("SetHoldings of the same content: changed")
	}
	// Index of the USD total after W2 and W3: the period returns chained.
	ix2 := 1 - 100.0/4100
	ix3 := ix2 * (1 + 250.0/4000)
	for _, c := range []struct {
		name string
		bars []tickbeam.Bar
		want []tickbeam.PortfolioRow
	}{{
		// First prices: no previous close, no period return yet; NVDA unpriced.
		name: "W1 first prices",
		bars: barsAt(w1, "AAPL", 200.0, "MSFT", 420.0, "BTC", 42000.0, "ETH", 3000.0),
		want: func() []tickbeam.PortfolioRow {
			aapl := row("AAPL", "USD", w1, d1)
			aapl.Quantity, aapl.CostBasis, aapl.Price, aapl.PriceTime = 10, 150, 200, w1.Add(time.Minute)
			aapl.MarketValue, aapl.CostValue, aapl.UnrealizedPnL, aapl.UnrealizedPnLPct = 2000, 1500, 500, 100*500.0/1500
			aapl.WeightPct = 100 * 2000.0 / 4100
			msft := row("MSFT", "USD", w1, d1)
			msft.Quantity, msft.CostBasis, msft.Price, msft.PriceTime = 5, 400, 420, w1.Add(time.Minute)
			msft.MarketValue, msft.CostValue, msft.UnrealizedPnL, msft.UnrealizedPnLPct = 2100, 2000, 100, 5
			msft.WeightPct = 100 * 2100.0 / 4100
			usd := row("*", "USD", w1, d1)
			usd.PriceTime, usd.MarketValue, usd.CostValue, usd.UnrealizedPnL = w1.Add(time.Minute), 4100, 3500, 600
			usd.UnrealizedPnLPct, usd.WeightPct, usd.Positions, usd.Unpriced = 100*600.0/3500, 100, 2, 1
			btc := row("BTC", "USDT", w1, d1)
			btc.Quantity, btc.CostBasis, btc.Price, btc.PriceTime = 0.5, 40000, 42000, w1.Add(time.Minute)
			btc.MarketValue, btc.CostValue, btc.UnrealizedPnL, btc.UnrealizedPnLPct, btc.WeightPct = 21000, 20000, 1000, 5, 100
			usdt := row("*", "USDT", w1, d1)
			usdt.PriceTime, usdt.MarketValue, usdt.CostValue, usdt.UnrealizedPnL = w1.Add(time.Minute), 21000, 20000, 1000
			usdt.UnrealizedPnLPct, usdt.WeightPct = 5, 100
			return []tickbeam.PortfolioRow{aapl, msft, usd, btc, usdt}
		}(),
	}, {
		// MSFT and BTC have no trade: their prices carry (price_time W1).
		name: "W2 last price carries",
		bars: barsAt(w2, "AAPL", 190.0),
		want: func() []tickbeam.PortfolioRow {
			aapl := row("AAPL", "USD", w2, d1)
			aapl.Quantity, aapl.CostBasis, aapl.Price, aapl.PriceTime = 10, 150, 190, w2.Add(time.Minute)
			aapl.MarketValue, aapl.CostValue, aapl.UnrealizedPnL, aapl.UnrealizedPnLPct = 1900, 1500, 400, 100*400.0/1500
			aapl.PeriodReturnPct, aapl.WeightPct, aapl.DrawdownPct, aapl.MaxDrawdownPct = -5, 47.5, 5, 5
			msft := row("MSFT", "USD", w2, d1)
			msft.Quantity, msft.CostBasis, msft.Price, msft.PriceTime = 5, 400, 420, w1.Add(time.Minute)
			msft.MarketValue, msft.CostValue, msft.UnrealizedPnL, msft.UnrealizedPnLPct, msft.WeightPct = 2100, 2000, 100, 5, 52.5
			// 10×(190−200) + 5×(420−420) over 10×200 + 5×420.
			usd := row("*", "USD", w2, d1)
			usd.PriceTime, usd.MarketValue, usd.CostValue, usd.UnrealizedPnL = w1.Add(time.Minute), 4000, 3500, 500
			usd.UnrealizedPnLPct, usd.PeriodReturnPct, usd.WeightPct, usd.Positions, usd.Unpriced = 100*500.0/3500, -100*100.0/4100, 100, 2, 1
			usd.DrawdownPct, usd.MaxDrawdownPct = 100*100.0/4100, 100*100.0/4100
			btc := row("BTC", "USDT", w2, d1)
			btc.Quantity, btc.CostBasis, btc.Price, btc.PriceTime = 0.5, 40000, 42000, w1.Add(time.Minute)
			btc.MarketValue, btc.CostValue, btc.UnrealizedPnL, btc.UnrealizedPnLPct, btc.WeightPct = 21000, 20000, 1000, 5, 100
			usdt := row("*", "USDT", w2, d1)
			usdt.PriceTime, usdt.MarketValue, usdt.CostValue, usdt.UnrealizedPnL = w1.Add(time.Minute), 21000, 20000, 1000
			usdt.UnrealizedPnLPct, usdt.WeightPct = 5, 100
			return []tickbeam.PortfolioRow{aapl, msft, usd, btc, usdt}
		}(),
	}, {
		name: "ETH only: no held symbol moved, no rows",
		bars: barsAt(minute(d1, "10:02"), "ETH", 3100.0),
	}, {
		name: "W3 recovery to a new peak",
		bars: barsAt(w3, "AAPL", 210.0, "MSFT", 430.0),
		want: func() []tickbeam.PortfolioRow {
			rows := []tickbeam.PortfolioRow{row("AAPL", "USD", w3, d1), row("MSFT", "USD", w3, d1), row("*", "USD", w3, d1)}
			rows[0].Quantity, rows[0].CostBasis, rows[0].Price, rows[0].PriceTime = 10, 150, 210, w3.Add(time.Minute)
			rows[0].MarketValue, rows[0].CostValue, rows[0].UnrealizedPnL, rows[0].UnrealizedPnLPct = 2100, 1500, 600, 40
			rows[0].PeriodReturnPct, rows[0].WeightPct, rows[0].MaxDrawdownPct = 100*(210.0/190-1), 100*2100.0/4250, 5
			rows[1].Quantity, rows[1].CostBasis, rows[1].Price, rows[1].PriceTime = 5, 400, 430, w3.Add(time.Minute)
			rows[1].MarketValue, rows[1].CostValue, rows[1].UnrealizedPnL, rows[1].UnrealizedPnLPct = 2150, 2000, 150, 7.5
			rows[1].PeriodReturnPct, rows[1].WeightPct = 100*(430.0/420-1), 100*2150.0/4250
			// 10×20 + 5×10 over 10×190 + 5×420: the index rises above its
			// peak of 1, so the drawdown is 0 and the maximum stays.
			usd := &rows[2]
			usd.PriceTime, usd.MarketValue, usd.CostValue, usd.UnrealizedPnL = w3.Add(time.Minute), 4250, 3500, 750
			usd.UnrealizedPnLPct, usd.PeriodReturnPct, usd.WeightPct, usd.Positions, usd.Unpriced = 100*750.0/3500, 6.25, 100, 2, 1
			usd.MaxDrawdownPct = 100 * 100.0 / 4100
			return append(rows, usdtCarried(w3, d1, 0)...)
		}(),
	}, {
		// AAPL's split ex-date: the restated row (20 at 75) holds, its
		// last price 210 is 105 in today's shares and is the previous
		// close: value, P&L and drawdown do not move. BTC's first trade of
		// the day moves against yesterday's last price.
		name: "W4 split ex-date, no AAPL trade yet",
		bars: barsAt(w4, "BTC", 43000.0),
		want: func() []tickbeam.PortfolioRow {
			rows := []tickbeam.PortfolioRow{row("AAPL", "USD", w4, d2), row("MSFT", "USD", w4, d2), row("*", "USD", w4, d2)}
			rows[0].Quantity, rows[0].CostBasis, rows[0].Price, rows[0].PriceTime, rows[0].PrevClose = 20, 75, 105, w3.Add(time.Minute), 105
			rows[0].MarketValue, rows[0].CostValue, rows[0].UnrealizedPnL, rows[0].UnrealizedPnLPct = 2100, 1500, 600, 40
			rows[0].WeightPct, rows[0].MaxDrawdownPct = 100*2100.0/4250, 5
			rows[1].Quantity, rows[1].CostBasis, rows[1].Price, rows[1].PriceTime, rows[1].PrevClose = 5, 400, 430, w3.Add(time.Minute), 430
			rows[1].MarketValue, rows[1].CostValue, rows[1].UnrealizedPnL, rows[1].UnrealizedPnLPct = 2150, 2000, 150, 7.5
			rows[1].WeightPct = 100 * 2150.0 / 4250
			usd := &rows[2]
			usd.PriceTime, usd.MarketValue, usd.CostValue, usd.UnrealizedPnL = w3.Add(time.Minute), 4250, 3500, 750
			usd.UnrealizedPnLPct, usd.WeightPct, usd.Positions, usd.Unpriced = 100*750.0/3500, 100, 2, 1
			usd.MaxDrawdownPct = 100 * 100.0 / 4100
			btc := row("BTC", "USDT", w4, d2)
			btc.Quantity, btc.CostBasis, btc.Price, btc.PriceTime, btc.PrevClose = 0.5, 40000, 43000, w4.Add(time.Minute), 42000
			btc.MarketValue, btc.CostValue, btc.UnrealizedPnL, btc.UnrealizedPnLPct, btc.WeightPct = 21500, 20000, 1500, 7.5, 100
			btc.DayPnL, btc.DayReturnPct, btc.PeriodReturnPct = 500, 100*(43000.0/42000-1), 100*(43000.0/42000-1)
			usdt := row("*", "USDT", w4, d2)
			usdt.PriceTime, usdt.MarketValue, usdt.CostValue, usdt.UnrealizedPnL = w4.Add(time.Minute), 21500, 20000, 1500
			usdt.UnrealizedPnLPct, usdt.WeightPct, usdt.DayPnL = 7.5, 100, 500
			usdt.DayReturnPct, usdt.PeriodReturnPct = 100*500.0/21000, 100*500.0/21000
			return append(rows, btc, usdt)
		}(),
	}, {
		// AAPL trades at 101 after the split: −4 against the adjusted
		// close 105. NVDA's first price: in the value, not in the returns.
		name: "W5 post-split trade, NVDA priced",
		bars: barsAt(w5, "AAPL", 101.0, "NVDA", 50.0),
		want: func() []tickbeam.PortfolioRow {
			rows := []tickbeam.PortfolioRow{row("AAPL", "USD", w5, d2), row("MSFT", "USD", w5, d2), row("NVDA", "USD", w5, d2),
				row("*", "USD", w5, d2)}
			a := &rows[0]
			a.Quantity, a.CostBasis, a.Price, a.PriceTime, a.PrevClose = 20, 75, 101, w5.Add(time.Minute), 105
			a.MarketValue, a.CostValue, a.UnrealizedPnL, a.UnrealizedPnLPct = 2020, 1500, 520, 100*520.0/1500
			a.DayPnL, a.DayReturnPct, a.PeriodReturnPct = -80, 100*(101.0/105-1), 100*(101.0/105-1)
			a.WeightPct, a.DrawdownPct, a.MaxDrawdownPct = 100*2020.0/4370, 100*(1-101.0/105), 5
			m := &rows[1]
			m.Quantity, m.CostBasis, m.Price, m.PriceTime, m.PrevClose = 5, 400, 430, w3.Add(time.Minute), 430
			m.MarketValue, m.CostValue, m.UnrealizedPnL, m.UnrealizedPnLPct, m.WeightPct = 2150, 2000, 150, 7.5, 100*2150.0/4370
			n := &rows[2]
			n.Quantity, n.CostBasis, n.Price, n.PriceTime = 4, 100, 50, w5.Add(time.Minute)
			n.MarketValue, n.CostValue, n.UnrealizedPnL, n.UnrealizedPnLPct, n.WeightPct = 200, 400, -200, -50, 100*200.0/4370
			usd := &rows[3]
			usd.PriceTime, usd.MarketValue, usd.CostValue, usd.UnrealizedPnL = w3.Add(time.Minute), 4370, 3900, 470
			usd.UnrealizedPnLPct, usd.WeightPct, usd.Positions = 100*470.0/3900, 100, 3
			// −80 over 20×105 + 5×430 (NVDA has no close and no earlier row).
			usd.DayPnL, usd.DayReturnPct, usd.PeriodReturnPct = -80, -100*80.0/4250, -100*80.0/4250
			usd.DrawdownPct = 100 * (1 - ix3*(1-80.0/4250)/ix3)
			usd.MaxDrawdownPct = 100 * 100.0 / 4100
			return append(rows, usdtCarried(w5, d2, 43000)...)
		}(),
	}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := book.Window(c.bars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got, approx); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
		// The state survives a round trip, as in Beam state.
		b, err := book.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		book, _ = NewBook(nil)
		if err := book.UnmarshalState(b); err != nil {
			t.Fatal(err)
		}
	}
}

// usdtCarried is the BTC position and USDT total in a window without a BTC
// trade: 42000 from W1 on day one, 43000 from W4 on day two.
func usdtCarried(start time.Time, day string, dayTwo float64) []tickbeam.PortfolioRow {
	btc := row("BTC", "USDT", start, day)
	btc.Quantity, btc.CostBasis, btc.Price, btc.PriceTime = 0.5, 40000, 42000, minute("2026-01-15", "10:01")
	if dayTwo > 0 {
		btc.Price, btc.PriceTime, btc.PrevClose = dayTwo, minute("2026-01-16", "00:01"), 42000
		btc.DayPnL, btc.DayReturnPct = 0.5*(dayTwo-42000), 100*(dayTwo/42000-1)
	}
	btc.MarketValue, btc.CostValue = 0.5*btc.Price, 20000
	btc.UnrealizedPnL, btc.UnrealizedPnLPct, btc.WeightPct = btc.MarketValue-20000, 100*(btc.MarketValue-20000)/20000, 100
	usdt := row("*", "USDT", start, day)
	usdt.PriceTime, usdt.MarketValue, usdt.CostValue, usdt.UnrealizedPnL = btc.PriceTime, btc.MarketValue, 20000, btc.UnrealizedPnL
	usdt.UnrealizedPnLPct, usdt.WeightPct, usdt.DayPnL, usdt.DayReturnPct = btc.UnrealizedPnLPct, 100, btc.DayPnL, btc.DayReturnPct
	return []tickbeam.PortfolioRow{btc, usdt}
}

// Without the split row, the same halving of the price is a 50% loss: what
// the split row prevents.
func TestBookWithoutSplitRowFalls(t *testing.T) {
	book, _ := NewBook(nil)
	book.SetHoldings(mustHoldings(t, "AAPL,10,150,USD\n"))
	if _, err := book.Window(barsAt(minute("2026-01-15", "10:00"), "AAPL", 200.0)); err != nil {
		t.Fatal(err)
	}
	rows, err := book.Window(barsAt(minute("2026-01-16", "00:00"), "AAPL", 101.0))
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1].DrawdownPct; got < 49 {
		t.Errorf("total drawdown without the split row = %v, want about 49.5", got)
	}
}

func TestBookFromDateAndClose(t *testing.T) {
	book, _ := NewBook(nil)
	book.SetHoldings(mustHoldings(t, "AAPL,10,150,USD,2026-01-16\nAAPL,0,0,USD,2026-01-17\n"))
	for _, c := range []struct {
		day  string
		want int // rows
	}{{"2026-01-15", 0}, {"2026-01-16", 2}, {"2026-01-17", 0}} {
		rows, err := book.Window(barsAt(minute(c.day, "10:00"), "AAPL", 200.0))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != c.want {
			t.Errorf("%s: %d rows, want %d: %+v", c.day, len(rows), c.want, rows)
		}
	}
}

// Trading days follow the calendar: an XKRX day starts at 08:30 KST, the UTC
// evening before, so a 23:40Z window belongs to the next day.
func TestBookCalendarDay(t *testing.T) {
	xkrx, err := calendar.Lookup("XKRX")
	if err != nil {
		t.Fatal(err)
	}
	book, _ := NewBook(xkrx)
	book.SetHoldings(mustHoldings(t, "005930,10,70000,KRW\n"))
	book.Window(barsAt(minute("2026-01-15", "05:00"), "005930", 71000.0))
	rows, err := book.Window(barsAt(minute("2026-01-15", "23:40"), "005930", 72000.0))
	if err != nil {
		t.Fatal(err)
	}
	if got := [3]any{rows[0].SessionDate, rows[0].PrevClose, rows[0].DayPnL}; got != [3]any{"2026-01-16", 71000.0, 10000.0} {
		t.Errorf("session date, prev close, day P&L = %v", got)
	}
}

func TestBookErrors(t *testing.T) {
	book, _ := NewBook(nil)
	w := minute("2026-01-15", "10:00")
	for _, c := range []struct {
		name string
		bars []tickbeam.Bar
		want string
	}{
		{"two windows", append(barsAt(w, "A", 1.0), barsAt(w.Add(time.Minute), "B", 1.0)...), "in one call"},
		{"zero close", barsAt(w, "A", 0.0), "not a positive price"},
	} {
		if _, err := book.Window(c.bars); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := book.Window(barsAt(w, "A", 1.0)); err != nil {
		t.Fatal(err)
	}
	if _, err := book.Window(barsAt(w, "A", 1.0)); err == nil || !strings.Contains(err.Error(), "not after") {
		t.Errorf("same window twice: err = %v", err)
	}
}
