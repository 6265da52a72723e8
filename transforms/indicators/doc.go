// Package indicators computes technical indicators incrementally over the
// bars of one symbol: SMA, EMA, RSI (Wilder), MACD, Bollinger bands, distance
// from VWAP, and crossovers of a fast and a slow moving average.
//
// Set is the arithmetic; Compute is the Beam transform that feeds it the
// bars of each symbol in event-time order and emits tickbeam.IndicatorValue
// and CrossEvent rows.
//
// # The transform
//
// Compute takes PCollection<tickbeam.Bar> of one resolution, in their
// event-time windows, possibly with several panes per window. A stateful
// DoFn keyed by symbol keeps the symbol's Set (persisted with
// Set.MarshalBinary) and a bounded reorder buffer in the global window:
//
//   - Order: a bar waits until the watermark passes its window, then the
//     waiting bars are applied oldest window first, so arrival order does
//     not matter. On bounded input the watermark moves only at the end, when
//     every bar is in; Options.MaxBuffered must then exceed a symbol's bars.
//   - Panes: EARLY panes are ignored (counter tickbeam/indicators.early_bars):
//     indicator state cannot be rewound, so only a window's settled bar may
//     enter it. Of the panes that wait together the highest pane_index wins.
//     A pane for a window at or before the last applied one, e.g. a LATE pane
//     of an applied window, is counted in tickbeam/indicators.late_bars and
//     not applied.
//   - Output: rows are timestamped at their bar's window end minus 1 ms (the
//     window's max timestamp, where the bar itself is) and re-windowed into
//     the input's windows, so windowed sinks downstream see the bar's window,
//     on time (the flush timer holds the watermark for them).
//   - Quiet: after Options.Quiet of event time without a bar (default 100
//     bars, at least 4 days, so nights and long weekends keep the averages)
//     a timer releases the symbol's state, which prism would otherwise keep
//     forever; the next bar starts a fresh warm-up. Bars that far apart
//     restart the warm-up in a batch run too, so batch and streaming agree.
//
// # Specs
//
// Indicators are named by specs, as in the monitor command's --indicators
// flag: ParseSpecs("sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2,vwapdist").
// Each spec's Name is the indicator column of its IndicatorValue rows:
// sma_20, ema_12, rsi_14, macd_12_26_9, bb_20_2 (bb_20_2.5 for k = 2.5) and
// vwap_distance. Periods are integers from 1 to MaxPeriod; MACD's fast period
// must be less than its slow period; Bollinger's k is any positive number.
// Crossovers are FAST/SLOW pairs of sma or ema specs, as in
// ParseCrossovers("sma:50/sma:200,ema:12/ema:26").
//
// # Conventions
//
// The formulas and warm-up follow TA-Lib and the npm technicalindicators
// package. Counting inputs (closes) from 1:
//
//   - SMA(n): the mean of the last n closes; first value at the n-th close.
//   - EMA(n): seeded with the SMA of the first n closes (its first value, at
//     the n-th close), then EMA = EMA + α·(close − EMA) with α = 2/(n+1).
//   - RSI(n), Wilder's: with changes Δ = close − previous close, gain =
//     max(Δ, 0) and loss = max(−Δ, 0), the first average gain and loss are
//     the simple means of the first n changes, so the first RSI comes after
//     n changes, at close n+1; then avg = (avg·(n−1) + x)/n. RSI = 100 −
//     100/(1 + avgGain/avgLoss), computed as 100·avgGain/(avgGain+avgLoss):
//     100 when avgLoss is 0 and avgGain > 0, 0 when avgGain is 0 and avgLoss
//     > 0, and 50 when both are 0 (a series that has not moved over the whole
//     seed). We choose 50, the neutral midpoint, because no movement is
//     neither overbought nor oversold: a halted or illiquid symbol must not
//     fire RSI ≥ 70 or ≤ 30 alerts. TA-Lib returns 0 in that case (deeply
//     "oversold") and technicalindicators has no consistent rule for it.
//   - MACD(fast, slow, signal): line = EMA(fast) − EMA(slow), both seeded as
//     above from the first close, so the line is defined from the slow EMA's
//     first value (close slow); signal = EMA(signal) of the line, seeded with
//     the SMA of the first signal line values; histogram = line − signal.
//     Values are reported once the signal is defined, at close
//     slow + signal − 1 (34 for 12/26/9), so every MACD row has all three
//     columns. These are technicalindicators' values with EMAs for both
//     (SimpleMAOscillator and SimpleMASignal false; it also reports the line
//     alone before the signal exists). TA-Lib's MACD starts at the same close
//     but seeds its fast EMA later (over the fast closes ending where the
//     slow EMA starts), so its early values differ slightly until the seeds'
//     influence decays.
//   - Bollinger(n, k): middle = SMA(n); sd = the population standard
//     deviation (divisor n) of the same n closes; upper and lower = middle ±
//     k·sd.
//   - VWAP distance: (close − vwap)/vwap × 100 for each bar, from that bar's
//     own VWAP; no value for a bar whose VWAP is 0 or not finite.
//
// Crossover rule: a cross is a change of sign of fast − slow from strictly
// negative to strictly positive (golden cross) or strictly positive to
// strictly negative (death cross), remembering the last non-zero sign. A
// touch (equal lines, then back to the same side) is not a cross; equal lines
// followed by the other side is a cross on the bar that reaches the other
// side. The first bar where both lines exist only sets the sign.
//
// # Memory and accuracy
//
// State is bounded whatever the number of bars: SMA(n) and Bollinger(n) keep
// a ring buffer of the last n closes (capacity n, never grown), EMA, RSI and
// MACD a handful of numbers (a running sum during the seed, no buffer). The
// rolling mean and variance are updated in O(1) per bar (sliding Welford)
// and recomputed exactly from the ring buffer (compensated two-pass) every n
// bars, and sooner when a running bound on the sliding updates' rounding
// error passes 1e-12 of the mean or 1e-10 of the variance (as when an
// outlier leaves the window): rounding never accumulates, however long the
// stream, and the amortized cost stays O(1) per bar. Non-finite closes are rejected (Set.Update returns an error)
// instead of poisoning the state.
package indicators
