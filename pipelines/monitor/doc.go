// Package monitor is tickbeam's ready-made market-monitoring pipeline, the
// one `tickbeam monitor` runs: a Config says what to read and where each
// kind of row goes, Config.Resolve parses and checks it once for a runner
// into a Plan, Build adds the Plan's pipeline to a Beam scope, and
// runners.Run runs it, on prism in this process or on Dataflow (Run does
// all three).
//
//	input --> parse --> dedupe [outlier rules] ------+--> raw_out (archive)
//	  |                                              '--> [tick test] --> ticks
//	  |                                                                    |--> bars (each resolution) --> bars_out
//	  |                                                                    |      |--> indicators --> indicators_out
//	  |                                                                    |      '--> portfolio (positions) --> portfolio_out
//	  |                                                                    |--> session stats --> session_out
//	  |                                                                    |--> price changes (references, splits) --> changes_out
//	  |                                                                    '--> alert rules --> alerts_out (and notifiers)
//	  |--> gaps (a live input's) --> gaps_out
//	  '--> dead letters (parse, late, outlier, notify, ...) --> deadletter_out
//
// The outlier rules judge inside dedupe (alerts.Screen), before its
// grouping, so the ticks they pass cross the runner no more often than
// without them; without dedupe (--dedupe=false) they run after parse. The
// tick test (Config.InferSide) gives what is computed from ticks the
// sides the feed left out; the raw archive keeps the feed's own. The alert
// rules read ticks, bars, indicator crosses, price changes and the
// portfolio.
//
// Input is a file glob (local or gs://), a Pub/Sub subscription, a live
// vendor connection (io/live) or the synthetic feed; every output is a
// directory or gs:// prefix of JSONL files, a BigQuery table (bq:P.D.T) or a
// Pub/Sub topic, and only the outputs that are set are computed. Inputs and
// outputs are parsed by one registry of their schemes (Input, Output).
//
// Resolve holds the runner's policy: on the local runner the allowed
// lateness defaults to 0 (AutoAllowedLateness) and a Pub/Sub message is
// acked once every output computed from it is written; on Dataflow every
// output must be remote, Pub/Sub is read natively and live inputs are
// refused.
//
// Use it when the monitor computes what you need; to add a step of your
// own, build from the transforms instead (examples/library), or observe the
// collections with a Tap.
//
// Nothing disappears without a count: the Beam counters tickbeam/parse.messages,
// .ticks, .control, .blank, .dead_letters and tickbeam/dedupe.duplicates add up
// (tickbeamtest.Conservation checks it in a test).
package monitor
