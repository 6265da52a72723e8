// Package tickbeam holds the domain types of tickbeam's market-data pipelines:
// Tick, Bar, Alert and DeadLetter, with the JSON field names that are also the
// BigQuery column names (snake_case, times RFC3339 in UTC).
//
// The transforms live in sub-packages, one idea each:
//
//	transforms/parse   raw feed messages -> Tick (or DeadLetter)
//	transforms/dedupe  drop redelivered trades
//	transforms/bars    event-time OHLCV/VWAP bars at one or more resolutions
//	io/lines           bounded line source (local paths, gs:// globs, .gz)
//	io/lake            windowed, sharded JSONL files (local or gs://)
//	io/synthetic       an unbounded synthetic feed for the local runner
//	runners            run on prism in-process or on Dataflow, with clean stops
//	pipelines/monitor  the ready-made monitor pipeline the CLI runs
//
// Every Tick carries the feed's own timestamp (EventTime); windows, lateness and
// watermarks follow it, never the clock of the machine that parses it.
package tickbeam
