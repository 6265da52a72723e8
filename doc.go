// Package tickbeam turns raw market-data messages into event-time ticks,
// bars, indicators, session statistics and alerts on the Apache Beam Go SDK,
// on Beam's local runner (prism, in this process) or on Dataflow. This
// package holds the rows the pipelines make, whose JSON field names are also
// their BigQuery column names (snake_case, times RFC 3339 in UTC):
//
//	Tick            one trade or quote, with the feed's own event time
//	Bar             OHLCV, notional and VWAP of one symbol over one window
//	IndicatorValue  SMA, EMA, RSI, MACD or Bollinger value of one bar
//	SessionStats    running totals of one symbol's exchange trading day
//	PriceChange     a tick against its previous close, with a ±X% flag
//	Alert           one firing of an alert rule
//	Gap             a hole a live connection saw in its feed
//	DeadLetter      a message that could not be used, with the reason
//
// # Where to start
//
// To run the ready-made pipeline, use the CLI (cmd/tickbeam) or
// pipelines/monitor's Config and Build; pipelines/daily is the batch report
// of one trading day. To build a pipeline of your own, compose the
// transforms, each a package with one idea:
//
//	transforms/parse       raw feed messages -> Tick (or DeadLetter): Binance, Alpaca,
//	                       Coinbase, KIS, TradingView, Alpha Vantage, JSON, CSV
//	transforms/dedupe      drop redelivered trades
//	transforms/bars        event-time bars at one or more resolutions
//	transforms/indicators  indicators over bars, in event-time order
//	transforms/session     SessionStats per exchange trading day
//	transforms/enrich      PriceChange against the previous close (feed, reference, last close; splits)
//	transforms/tickrule    a side for trades that came without one
//	transforms/alerts      alert rules (YAML) -> Alert, and their delivery (notify)
//	transforms/portfolio   positions valued on bars: value, P&L, weights, drawdown
//	io/lines, io/lake      read lines of local or gs:// files; write windowed JSONL files
//	io/pubsubx, io/bigqueryx  Pub/Sub in and out, BigQuery out (Storage Write API)
//	io/live, io/synthetic  vendor connections; a seeded synthetic feed
//	runners                run on prism with clean stops, or on Dataflow
//	calendar               exchange sessions, holidays, trading days
//
// examples/library is such a pipeline (parse, bars, a DoFn of its own,
// alerts, BigQuery), and examples/seeds rebuilds the systems of the seed
// documents. tickbeamtest is the kit to test yours: tick builders, a
// TestStream builder, matchers with go-cmp diffs, a conservation check and
// the Pub/Sub, BigQuery and GCS emulators on loopback.
//
// Every Tick carries the feed's own timestamp (EventTime); windows, lateness
// and watermarks follow it, never the clock of the machine that parses it.
// Nothing vanishes: what cannot be used becomes a DeadLetter with its
// payload, stage and reason, and the counters of a run add up.
package tickbeam
