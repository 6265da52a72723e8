// Package tickbeamtest is the kit for testing a Beam pipeline built from
// tickbeam's transforms, in the style of Beam's ptest, passert and
// teststream: tick builders, a TestStream builder, matchers for tickbeam's
// rows with go-cmp diffs, a conservation check, and real emulators on
// loopback. Use it in the tests of your own pipelines; tickbeam's own tests
// use it too.
//
// # Ticks
//
// Trade and Quote build one tick (WithID, WithSide, WithSource,
// WithPrevClose adjust it); Trades builds a sequence at fixed steps; Walk is
// a seeded random walk (the synthetic feed's geometric Brownian motion).
// Ticks puts ticks in a pipeline, each timestamped at its event time, as a
// source would; Lines turns them into raw lines of the "tick" format for
// pipelines that start from files or Pub/Sub messages. BarsOf computes the
// bars a pipeline should make of them, without Beam.
//
// # Streams
//
// NewStream builds a TestStream that interleaves ticks with watermark
// advances and processing-time steps (NewStreamOf for other element types):
//
//	ticks := tickbeamtest.NewStream().
//		Add(onTime...).
//		AdvanceWatermark(t0.Add(time.Minute)). // the first minute's bars fire
//		Add(late).                             // behind the watermark: late
//		Create(s)
//
// See Stream for what prism does with processing time.
//
// # Matchers
//
// AssertBars, AssertAlerts, AssertSessionStats, AssertIndicatorValues and
// AssertDeadLetters check a PCollection's rows, in any order, windows and
// panes, and fail the pipeline with a go-cmp diff; floats compare within
// DefaultMatch's tolerance, and fields set from the wall clock
// (Alert.DetectedAt, DeadLetter.Timestamp) are not compared. Assert takes a
// Match of your own; Diff compares rows read back from a sink (FileRows
// reads a directory output, BigQueryRows a table). Conservation
// counts what goes in and what comes out of a pipeline and Ledger.Check
// fails a test in which something vanished: in = ticks + dead letters +
// duplicates (+ the control messages and blank lines parse skips).
//
// # Emulators
//
// Emulators starts the Pub/Sub emulator (Google Cloud CLI), the BigQuery
// emulator (goccy/bigquery-emulator, as scripts/emulators.sh builds it into
// ~/.cache/tickbeam/bin, or $TICKBEAM_BIGQUERY_EMULATOR) and fake-gcs-server
// on loopback, gives each test a project of its own, sets the variables the
// clients read (PUBSUB_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST,
// BIGQUERY_STORAGE_EMULATOR_HOST, STORAGE_EMULATOR_HOST) and returns the
// Env. When an emulator is not installed the test is skipped with the
// command that installs it; set TICKBEAMTEST_REQUIRE=1 (or use
// RequireEmulators) where a skip must not pass, as in CI. Emulators never
// outlive the test binary, even one killed by -timeout; Main, as a
// TestMain, also stops them when the tests end.
//
// # Example
//
// A team's test of its own pipeline against the BigQuery emulator
// (examples/library: parse, bars, a DoFn of its own, alerts, BigQuery):
//
//	func TestMain(m *testing.M) { tickbeamtest.Main(m) }
//
//	func TestPipelineWritesBarsAndAlerts(t *testing.T) {
//		env := tickbeamtest.Emulators(t, tickbeamtest.BigQuery)
//		t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
//		// The second minute closes 3% above its open: one alert.
//		ticks := tickbeamtest.Trades("BTCUSDT", t0, 20*time.Second, 100, 100.5, 101, 100, 102, 103)
//		input := filepath.Join(t.TempDir(), "ticks.jsonl")
//		if err := os.WriteFile(input, []byte(strings.Join(tickbeamtest.Lines(ticks...), "\n")), 0o644); err != nil {
//			t.Fatal(err)
//		}
//		cfg := Config{Input: input, Format: "tick", Bar: time.Minute, MovePct: 2, BigQuery: env.BigQueryOptions(),
//			BarsTable: env.Table("m", "bars"), AlertsTable: env.Table("m", "alerts"), DeadLettersTable: env.Table("m", "dead")}
//		p, s := beam.NewPipelineWithRoot()
//		if err := Build(s, cfg); err != nil {
//			t.Fatal(err)
//		}
//		ptest.RunAndValidate(t, p)
//
//		bars := tickbeamtest.BigQueryRows[tickbeam.Bar](t, env, cfg.BarsTable)
//		if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, bars, tickbeamtest.BarsOf(time.Minute, ticks...)); d != "" {
//			t.Errorf("bars (-want +got):\n%s", d)
//		}
//		alerts := tickbeamtest.BigQueryRows[tickbeam.Alert](t, env, cfg.AlertsTable)
//		if len(alerts) != 1 || alerts[0].Rule != "bar-move" || alerts[0].Value != 3 {
//			t.Errorf("alerts %v, want one bar-move alert of 3%%", alerts)
//		}
//	}
//
// Run it with go test ./examples/library/.
package tickbeamtest
