package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestMain(m *testing.M) { tickbeamtest.Main(m) }

func TestPipelineWritesBarsAndAlerts(t *testing.T) {
	env := tickbeamtest.Emulators(t, tickbeamtest.BigQuery)
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	// The second minute closes 3% above its open: one alert.
	ticks := tickbeamtest.Trades("BTCUSDT", t0, 20*time.Second, 100, 100.5, 101, 100, 102, 103)
	input := filepath.Join(t.TempDir(), "ticks.jsonl")
	if err := os.WriteFile(input, []byte(strings.Join(tickbeamtest.Lines(ticks...), "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Input: input, Format: "tick", Bar: time.Minute, MovePct: 2, BigQuery: env.BigQueryOptions(),
		BarsTable: env.Table("m", "bars"), AlertsTable: env.Table("m", "alerts"), DeadLettersTable: env.Table("m", "dead")}
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)

	bars := tickbeamtest.BigQueryRows[tickbeam.Bar](t, env, cfg.BarsTable)
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, bars, tickbeamtest.BarsOf(time.Minute, ticks...)); d != "" {
		t.Errorf("bars (-want +got):\n%s", d)
	}
	alerts := tickbeamtest.BigQueryRows[tickbeam.Alert](t, env, cfg.AlertsTable)
	if len(alerts) != 1 || alerts[0].Rule != "bar-move" || alerts[0].Value != 3 {
		t.Errorf("alerts %v, want one bar-move alert of 3%%", alerts)
	}
}
