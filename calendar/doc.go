// Package calendar knows when exchanges trade: their sessions, weekends,
// holidays and early closes, in their own time zones.
//
// Lookup returns a built-in calendar:
//
//	XKRX    Korea Exchange, Asia/Seoul: pre 08:30-08:40, regular 09:00-15:30,
//	        after 15:40-18:00 (alias KRX)
//	XNYS    New York Stock Exchange, America/New_York: pre 04:00-09:30,
//	        regular 09:30-16:00, after 16:00-20:00 (alias NYSE)
//	XNAS    Nasdaq, the same hours and holidays as XNYS (alias NASDAQ)
//	CRYPTO  UTC, one regular session 00:00-24:00 every day, no holidays
//	        (aliases 24/7, 24x7)
//
// Holidays and special hours ship for 2026 and 2027 as text files embedded
// from data/ (their comments give the sources and the dates we are unsure
// of). Outside those years a calendar knows only its weekends. Users add or
// correct days with (*Calendar).LoadHolidays, LoadHolidayFile or
// WithHolidays, in the same format, or build a whole calendar with New.
//
// # Sessions and trading days
//
// Session hours are exchange-local wall-clock times, so 09:30 in New York is
// 14:30Z in winter and 13:30Z in summer. Sessions are half-open, [open,
// close). On an early close the regular session ends early and the holiday
// list says what happens to after-hours (for XNYS and XNAS it runs 13:00 to
// 17:00).
//
// A trading day runs from the open of its first session to the close of its
// last: SessionDay(t) returns the exchange-local date a tick belongs to,
// counting pre-market, after-hours and the gaps between a day's sessions
// toward the day, and nothing on weekends, holidays and overnight. Daily bars
// and session metrics key on it instead of the UTC date.
//
// Queries take any instant and, where they take session kinds, read no kinds
// as all of them:
//
//	cal, _ := calendar.Lookup("XNYS")
//	day, ok := cal.SessionDay(tick.EventTime)     // "2026-01-15", true
//	open := cal.IsOpen(now, calendar.Regular)      // regular session only
//	next := cal.NextOpen(now)                      // when any session next opens
//	kinds, _ := calendar.ParseSessions("pre,regular") // for a --sessions flag
//
// NextOpen and NextClose treat sessions that abut as one open period, so
// with all kinds XNYS opens at 04:00 and closes at 20:00; they serve timers
// such as a stale-feed rule's, which must not alert while the exchange is
// closed.
//
// A Calendar is immutable and safe for concurrent use. It marshals to JSON
// with its holidays, so a *Calendar can be a field of a Beam DoFn.
package calendar
