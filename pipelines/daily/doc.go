// Package daily is tickbeam's end-of-day batch job: over one trading day of
// the raw archive (monitor --raw_out) or any tick input, a report per symbol
// and a data-quality row per symbol, for a scheduler to run after the close.
//
//	archive (day and previous trading day) --> parse --> dedupe --> per symbol --> Report, Quality
//	                                             \--> dead letters -----------------> Quality "*", DeadLetter
//
// The report is the day's 1d bar (bars.Accumulator over the trading day of
// the calendar, pre-market and after-hours included) with trade strength,
// return against the previous trading day's close, the times of the high
// and the low, and the largest trade; it goes to
// daily_report/symbol=S/date=D.csv and as rows to BigQuery or files. The
// quality row counts duplicates dropped, trades outside every session,
// gaps without trades in the regular session, and sets the first and last
// regular trades against the open and close; row "*" holds the day's dead
// letters by stage (late ones included). Each failed check is counted in
// the tickbeam/quality counter of its name, which `tickbeam daily
// --fail_on` turns into exit status 3.
package daily
