// Package portfolio values a portfolio of positions at every bar window:
// position value, unrealized and day P&L, weights, the portfolio's value,
// return and drawdown (seed 000's portfolio monitor).
//
// Compute takes two collections, bars (bars.Compute's output, one
// resolution) and Holdings (the positions), and returns
// tickbeam.PortfolioRow rows: per window, one row per position priced and
// one total row per currency (symbol "*"). It reads nothing itself: the
// caller reads the positions (ParseCSV for a CSV file, or rows queried from
// BigQuery into NewHoldings) and, on a stream, re-reads them when the
// source changes; pipelines/monitor does both for --positions.
//
// # Positions
//
// A positions CSV file has the columns
//
//	symbol,quantity,cost_basis,currency[,from_date[,split]]
//
// in that order, or in any order under a header line naming them; blank
// lines and lines starting with # are skipped. cost_basis is per unit.
// A row with from_date holds from that trading day until a later row of
// the symbol; a row without holds from the beginning, so a file of plain
// rows is a fixed portfolio. quantity 0 closes a position.
//
// A split is a row on its ex-date with the new quantity and cost basis and
// split = new shares per old share (2 for 2-for-1, 0.1 for 1-for-10):
//
//	symbol,quantity,cost_basis,currency,from_date,split
//	AAPL,10,150,USD,,
//	AAPL,20,75,USD,2026-01-16,2
//
// From 2026-01-16 the position is 20 shares at 75, and every price from
// before that day is halved where it meets a later one, so the previous
// close, the period return and the drawdown see no fall.
//
// # Figures
//
// A window's prices are its bars' closes; a held symbol with no trade in the
// window keeps its last price (price_time then shows the end of the bar it
// comes from), and a held symbol never priced is counted in the total's
// unpriced and is in no figure. The previous close is the last price of an
// earlier trading day of Options.Calendar (0 until one is seen: day P&L is
// then 0). Amounts are summed per currency, never converted. The total's
// period return is the value move of the holdings over the window at the
// current quantities, so a bought or sold position changes the value but is
// not a return; those returns chain into an index whose fall from its peak
// is the drawdown.
//
// # Order and state
//
// Windows are valued in event-time order once the watermark has passed
// them, with each bar's newest pane; a LATE pane of a window already valued
// is counted (tickbeam/portfolio.late_bars) and not applied. Book is the
// pure-Go core, usable without Beam.
package portfolio
