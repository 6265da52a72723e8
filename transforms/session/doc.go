// Package session computes running statistics per symbol and exchange
// trading day, and filters ticks by trading session.
//
// Stats is the report a KIS (Korea Investment & Securities) desk keeps
// through the day: cumulative volume and notional, the session VWAP, trade
// strength (체결강도, KIS CTTR: buy volume / sell volume × 100) and buy
// pressure (buy volume / cumulative volume), as a tickbeam.SessionStats row
// per symbol at every period (Options.Resolution, default one minute) in which
// the symbol traded. The totals restart at the exchange's trading-day
// boundary from the calendar package, not at UTC midnight:
//
//	XKRX    Asia/Seoul: the day of 2026-01-16 runs 08:30-18:00 KST, which is
//	        2026-01-15T23:30Z to 2026-01-16T09:00Z; a trade at 23:50Z counts
//	        toward 2026-01-16
//	XNYS    America/New_York: 04:00-20:00 local, 09:00Z-01:00Z in winter and
//	        08:00Z-00:00Z in summer (DST from 2026-03-08 to 2026-11-01)
//	CRYPTO  the UTC day (the default)
//
// A row's AsOf is the end of its period, aligned to the exchange-local
// midnight and cut at the day's last close (with a 24h resolution, one row
// per day as of the close). Only trades count; UNKNOWN-side volume is in
// cum_volume only, so buy_volume + sell_volume can be less than cum_volume
// (tickrule.Classify infers sides for feeds that have none). trade_strength
// is 0 while sell_volume is 0 (see tickbeam.SessionStats).
//
// Trades in no trading day of their calendar (weekends, holidays, overnight:
// calendar.SessionDay is not ok) are skipped and counted in the Beam counter
// tickbeam/session.outside; trades in the quiet gap between two sessions of a
// day (XKRX 08:40-09:00) count toward that day.
//
// # Event time, lateness and memory
//
// Time is the feed's event time. A period's row is emitted once the
// watermark passes the period, so trades arriving out of order within the
// watermark count where they belong; on bounded input every row is emitted
// at the end. A trade arriving after its period's row, while its day is open
// (up to Options.AllowedLateness after the day's close), is added to the day
// and re-emits the day's latest row with revision+1 (counter
// tickbeam/session.late); a trade for a day already closed is dropped
// (tickbeam/session.dropped_late). Per (symbol, session_date) the row with
// the latest as_of and the highest revision is the truth so far.
//
// Each bundle folds its trades into one partial sum per symbol and period
// before anything crosses the runner. A stateful DoFn keyed by symbol holds
// the open days' totals and the partials the watermark has not yet passed; an
// event-time timer closes each day and drops its state, so on an unending
// stream memory per symbol stays at one or two days' totals and the partials
// within the watermark delay. Rows of a period wait at most until the
// watermark passes the latest period that was pending when the previous rows
// were emitted: with a watermark delay shorter than the resolution, that is
// the period itself.
//
// # Filter
//
// Filter keeps (or, with Drop, removes) the ticks inside chosen sessions
// (pre, regular, after) of their symbol's calendar, such as regular hours
// only for bars that match the exchange's official figures. Ticks removed are
// counted in tickbeam/session.filtered.
package session
