// Package monitor is tickbeam's ready-made market-monitoring pipeline, the
// one `tickbeam monitor` runs: a Config says what to read and where each
// kind of row goes, Build adds the pipeline to a Beam scope, and
// runners.Run runs it, on prism in this process or on Dataflow.
//
//	input --> parse --> dedupe --> [outlier rules] --> ticks --> raw_out (archive)
//	  |                                                 |--> bars (each resolution) --> bars_out
//	  |                                                 |      |--> indicators --> indicators_out
//	  |                                                 |      |--> portfolio (positions) --> portfolio_out
//	  |                                                 |--> session stats --> session_out
//	  |                                                 |--> price changes --> changes_out
//	  |                                                 '--> alert rules --> alerts_out (and notifiers)
//	  '--> dead letters (parse, late, outlier, notify, ...) --------------------> deadletter_out
//
// Input is a file glob (local or gs://), a Pub/Sub subscription, a live
// vendor connection (io/live) or the synthetic feed; every output is a
// directory or gs:// prefix of JSONL files, a BigQuery table (bq:P.D.T) or a
// Pub/Sub topic, and only the outputs that are set are computed. Use it
// when the monitor computes what you need; to add a step of your own, build
// from the transforms instead (examples/library), or observe the
// collections with a Tap.
//
// Nothing disappears without a count: the Beam counters tickbeam/parse.messages,
// .ticks, .control, .blank, .dead_letters and tickbeam/dedupe.duplicates add up
// (tickbeamtest.Conservation checks it in a test).
package monitor
