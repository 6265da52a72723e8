// Package enrich puts each tick against the previous close of its exchange
// trading day: PrevClose turns PCollection<tickbeam.Tick> into
// PCollection<tickbeam.PriceChange> with prev_close, change = price −
// prev_close, change_pct = change × 100 / prev_close and a ±X% flag, as the
// MSK/Flink sample flags its stream.
//
// # Prices and trading days
//
// A trade is priced at its Price; a quote at its last price when it carries
// one (TradingView lp, Alpha Vantage GLOBAL_QUOTE), or with
// Options.QuoteMidpoint at (bid+ask)/2 when it has both sides. Other ticks
// produce no row (counter no_price).
//
// A tick's session_date is its trading day in its symbol's calendar
// (Options.Calendars, else Options.Calendar, else XNYS): the day whose
// sessions, pre-market to after-hours, contain it, or for a tick outside
// every trading day (overnight, a weekend, a holiday) the next trading day.
// The previous close of trading day D is the close of the trading day
// before D: on XNYS, Tuesday 2026-01-20 moves against Friday the 16th, since
// Monday the 19th is Martin Luther King Jr. Day.
//
// # Sources of the previous close
//
// Options.Sources lists the sources in priority order; the first that knows
// a previous close for the tick gives it, and the prev_close_source column
// names it. The default, DefaultSources, is FEED, then REFERENCE, then
// LAST_CLOSE. Sources not listed are never consulted.
//
//   - FEED: the tick's own PrevClose, when positive. Parsers set it from the
//     vendor: KIS as STCK_PRPR − PRDY_VRSS (signed by PRDY_VRSS_SIGN),
//     TradingView as lp − ch, Alpha Vantage's GLOBAL_QUOTE as its previous
//     close. It is the close the vendor moves the tick's own day against, so
//     it is never split-adjusted.
//   - REFERENCE: Options.References, a bounded PCollection<Reference> in the
//     global window, read as a side input: ParseReferenceCSV of the lines of
//     files (symbol,date,prev_close), or beam.CreateList of the rows of a
//     BigQuery query run when the pipeline is built (CheckReferences). A Reference's Date is
//     the trading day that moves against its PrevClose, not the day of that
//     close. Rows are validated (counter bad_references); copies of a
//     (symbol, date) that agree are one reference, and copies that disagree
//     are all ignored (counter reference_conflicts, once per (symbol, date))
//     rather than picked by arrival order. References are fixed for the run:
//     right for batch jobs and streaming jobs restarted daily.
//   - LAST_CLOSE: the last trade inside the regular session of the previous
//     trading day, as the pipeline saw it, per the symbol's calendar (XNYS
//     09:30–16:00 America/New_York). Pre-market and after-hours trades and
//     quotes never make a close. The last trade is the one with the latest
//     event time, ties broken by trade id (numerically when both are
//     decimal), so the close does not depend on arrival order.
//
// # Splits
//
// Options.Splits, a bounded PCollection<Split> in the global window (e.g.
// ParseSplitCSV of a corporate-actions file symbol,ex_date,ratio), adjusts
// closes from before a split. The split factor of a tick is the product of
// the ratios of its symbol's splits with an ex-date after the previous
// close's day and on or before the tick's trading day; LAST_CLOSE closes,
// and REFERENCE closes unless Options.ReferenceAdjusted says the vendor
// adjusted them already, are divided by it, and split_factor records it (1
// when nothing was divided). After a 2-for-1 split with ex-date Friday,
// Thursday's close 400 is Friday's previous close 200 (split_factor 2); a
// 1-for-10 reverse split (ratio 0.1) makes a close of 10 into 100. Ratios are
// new shares per old share: "2", "1.5", "3:2", "1/10" (ParseRatio). Invalid
// rows are counted in bad_splits; copies of a (symbol, ex_date) with
// different ratios are all ignored (split_conflicts).
//
// # The flag
//
// Flag(change_pct, X) with X = Options.FlagThreshold (default 5, for ±5%):
// POSITIVE when change_pct is strictly greater than +X, NEGATIVE when it is
// strictly less than −X, else NEUTRAL. A move of exactly ±X% is NEUTRAL:
// 210 against 200 is +5%, NEUTRAL; 211 is +5.5%, POSITIVE. change_pct
// multiplies by 100 before dividing, so whole-percent moves are exact (1000 /
// 200 is 5, where 10 / 200 × 100 is 5.000000000000001).
//
// # No previous close
//
// A tick no listed source knows a close for still gets a row, with
// prev_close_source NONE, prev_close, change and change_pct 0, split_factor
// 1 and flag NEUTRAL; with Options.SkipMissing it gets none. Either way it
// is counted in no_prev_close. The first day of a symbol in a run that
// relies on LAST_CLOSE alone is such a day.
//
// # Streaming
//
// Ticks whose close comes from FEED or REFERENCE go straight through. A tick
// that needs LAST_CLOSE (no source before it in the priority knew a close)
// goes to a stateful DoFn keyed by symbol, in the global window, which
// records each day's last regular trade. The first ticks of day D wait there
// until the watermark passes the end of the regular session of the day
// before D, when that day's last regular trade is known for sure; an
// event-time timer then resolves them, holding the output watermark at the
// earliest waiting tick so their rows are not late. Later ticks of D resolve
// as they come. So a stream buffers only the opening ticks of each day, for
// as long as the watermark lags behind the previous close; on bounded input
// everything resolves at the end, whatever the order of the ticks. A
// regular-session trade arriving after its day's close was used is not
// applied, so rows never disagree (counter late_close_trades). A symbol's
// state is released after Options.Quiet (default 14 days) of event time
// without a tick (counter released).
//
// Rows are timestamped at their tick's event time, in the input's windows
// (with its allowed lateness), so windowed sinks downstream take them as
// they are.
//
// # Counters
//
// In namespace tickbeam/enrich: from_feed, from_reference and
// from_last_close (rows per source), no_prev_close, no_price,
// late_close_trades, bad_references, reference_conflicts, bad_splits,
// split_conflicts and released.
//
// # Reference files
//
// ParseReferenceCSV and ParseSplitCSV parse lines some reader gives them:
// monitor reads local or gs:// globs (.gz transparently) with io/lines, whose
// oversized lines it adds to the dead letters. Reading is io's, never this
// package's: transforms take collections. A header line may appear in any file and
// any letter case; fields may be quoted but a record must fit on one line.
// Dates are YYYY-MM-DD exactly ("2026-1-6" is refused, not guessed). Every
// other bad line becomes a tickbeam.DeadLetter with stage parse, the glob as
// its source, the line as its payload and the reason as its error message.
package enrich
