// Package bars computes event-time OHLCV bars with VWAP and aggressor-side
// volumes from ticks.
//
// A bar covers the event-time window [start, start+resolution), windows
// aligned to multiples of the resolution since the Unix epoch (UTC). Within a
// window trades order by (event_time, trade_id — numerically when both ids
// are numbers): open is the first trade's price and close the last's, so
// out-of-order arrival does not change a bar. Notional is Σ price×size, VWAP
// is notional/volume, and buy/sell volume come from the aggressor side;
// trades of unknown side count in volume only. Quotes make no bars.
//
// Use it on a PCollection<tickbeam.Tick> whose element timestamps are the
// ticks' event times (what parse.Lines and synthetic.Ticks produce):
//
//	res, _ := bars.ParseResolutions("1m,5m")
//	byRes := bars.Compute(s, ticks, bars.Options{Resolutions: res})
//	oneMinute := byRes[res[0]] // PCollection<tickbeam.Bar> in 1-minute windows
//
// Compute panics on invalid Options (see Options.Validate); TryCompute
// returns the error instead.
//
// Daily bars can follow an exchange's trading days instead of UTC days:
//
//	xnys, _ := calendar.Lookup("XNYS")
//	daily := bars.Compute(s, ticks, bars.Options{Resolutions: []bars.Resolution{bars.Daily}, Calendar: xnys})
//
// Each 1d bar then covers calendar.DayBounds of its trading day (04:00 to
// 20:00 New York time, in EST and EDT alike). Beam Go has no custom window
// function, so these bars come from a stateful step per symbol that fires
// the ON_TIME pane when the watermark passes the day's last close.
//
// Memory per window is constant: trades fold into an Accumulator inside each
// bundle, and only accumulators cross the runner.
package bars
