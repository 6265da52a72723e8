// Package synthetic is a market-data feed made up on the spot: trades for a
// list of symbols at a fixed rate, with prices that follow a geometric
// Brownian motion per symbol. It stands in for a real feed on the local
// runner, in demos, tests and load tests.
//
// Ticks is the Beam source: an unbounded splittable DoFn whose elements are
// timestamped with their event times and whose watermark follows the feed,
// so event-time windows downstream close as it advances. It runs forever
// unless Config.Count or Config.Duration ends it. Paced feeds emit each tick
// when the wall clock reaches it, like a live feed; unpaced ones emit as fast
// as the pipeline takes them, still spacing event times 1/Rate apart.
//
//	cfg, err := synthetic.ParseURI("synthetic:?symbols=AAPL,MSFT&rate=200&seed=7")
//	if err != nil {
//		return err
//	}
//	ticks := synthetic.Ticks(s, cfg) // PCollection<tickbeam.Tick>
//
// Generator produces the same ticks without Beam. With Config.Start set, a
// feed is deterministic: the same Seed gives the same ticks in the same order.
package synthetic
