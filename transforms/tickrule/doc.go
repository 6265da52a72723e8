// Package tickrule infers the aggressor side of trades for feeds that carry
// none (Alpaca, Alpha Vantage), with the tick test: per symbol, in
// event-time order, a trade above the previous trade's price is a buy
// (uptick), below it a sell (downtick), and a trade at the previous price
// (zero tick) takes the direction of the last price change. The first trade
// of a symbol, and zero ticks before its price has moved, stay UNKNOWN.
//
//	price  100      100.5  100.5  100.25  100.25  100.75
//	side   UNKNOWN  BUY    BUY    SELL    SELL    BUY
//
// Only trades whose Side is UNKNOWN are changed; trades with a side keep it
// and their prices still count in the sequence (only prices drive the test,
// as in Lee and Ready's algorithm). Quotes pass unchanged. Trades of the same
// event time are ordered by trade id, numerically when numeric, as bars
// order them. A trade a quiet period (Options.Quiet, default 96h) or more
// after the previous one starts a new sequence.
//
// Inferred sides are not marked on the tick: tickbeam.Tick is shared and has
// no field for it, so each side set is counted in the Beam counter
// tickbeam/tickrule.inferred and a consumer that must tell them apart runs
// Classify only on feeds without sides (a Tick field side_inferred would mark
// them row by row). Downstream, bars and session statistics then split
// volume into buy and sell volume instead of leaving it UNKNOWN.
//
// # Order, lateness and memory
//
// Each bundle packs its ticks into one batch per symbol; a stateful DoFn
// keyed by symbol buffers the trades (internal/reorder, the buffer every
// stateful transform shares) until an event-time timer says the
// watermark has passed them and classifies them in order, so trades out of
// order within the watermark are classified as if they had arrived in
// order, on a stream as in a batch run. A trade arriving after a later trade
// of its symbol was classified is passed on as it came (UNKNOWN trades
// counted in tickbeam/tickrule.late). State per symbol is the last price and
// direction and the trades within the watermark delay, bounded by
// Options.MaxBuffered (past it the oldest half is classified early, counted
// in tickbeam/tickrule.forced); an event-time timer releases it once the
// symbol has been quiet for Options.Quiet (tickbeam/tickrule.released), since
// prism never collects global-window state.
package tickrule
