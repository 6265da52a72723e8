package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigValidate(t *testing.T) {
	t.Setenv("BIGQUERY_EMULATOR_HOST", "")
	t.Setenv("BIGQUERY_STORAGE_EMULATOR_HOST", "")
	ok := Config{Input: "in/*.jsonl", Format: "tick", Bar: time.Minute, MovePct: 2,
		BarsTable: "my-project.m.bars", AlertsTable: "my-project.m.alerts", DeadLettersTable: "my-project.m.dead"}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", ok, ""},
		{"input", with(func(c *Config) { c.Input = "" }), "library: Input is required"},
		{"format", with(func(c *Config) { c.Format = "" }), "library: Format is required"},
		{"json", with(func(c *Config) { c.Format = "json" }), `parse: format json: Options.JSONFields is empty: map tick fields to dotted JSON paths, e.g. {"symbol": "s", "price": "p", "event_time": "T"}`},
		{"bar", with(func(c *Config) { c.Bar = 7 * time.Hour }), "library: Bar: bars: Resolutions: bar resolution 7h0m0s: must divide a day evenly"},
		{"move", with(func(c *Config) { c.MovePct = 0 }), "library: MovePct must be > 0, got 0"},
		{"table", with(func(c *Config) { c.AlertsTable = "alerts" }), `library: AlertsTable: bigqueryx: table "alerts": want PROJECT.DATASET.TABLE or PROJECT:DATASET.TABLE`},
	} {
		var got string
		if err := c.cfg.Validate(); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}
