package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestMain(m *testing.M) { tickbeamtest.Main(m) }

// Every alert the rule wrote reached the gateway, signed, once; the first is
// at the first trade of the walk at or under the level.
func TestSeed002(t *testing.T) {
	t.Setenv(SecretEnv, "test secret")
	out := t.TempDir()
	var printed bytes.Buffer
	if err := run(context.Background(), &printed, Input, "BTCUSDT", out); err != nil {
		t.Fatal(err)
	}
	// The same walk, outside Beam: tickbeamtest.Walk is the synthetic feed.
	ticks := tickbeamtest.Walk{Symbols: []string{"BTCUSDT"}, Start: time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC),
		Every: time.Second, Seed: 2, Volatility: 10}.Ticks(3000)
	level := Level("BTCUSDT")
	first := -1
	for i, tk := range ticks {
		if tk.Price <= level {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatalf("the walk never falls to %.2f: choose another seed", level)
	}

	alerts := tickbeamtest.FileRows[tickbeam.Alert](t, filepath.Join(out, "alerts"), "alerts")
	if len(alerts) == 0 || !alerts[0].EventTime.Equal(ticks[first].EventTime) || alerts[0].Value != ticks[first].Price {
		t.Fatalf("alerts %+v, want the first at %v, price %v", alerts, ticks[first].EventTime, ticks[first].Price)
	}
	want := fmt.Sprintf("3000 ticks of BTCUSDT archived, 1m bars written; level %.2f\n", level)
	for _, a := range alerts {
		want += fmt.Sprintf("SMS %s CRITICAL: %s\n", a.EventTime.Format(time.TimeOnly), a.Message)
	}
	if printed.String() != want {
		t.Errorf("printed:\n%s\nwant (every alert, delivered once):\n%s", printed.String(), want)
	}
	if !strings.Contains(printed.String(), "below") {
		t.Errorf("the SMS does not say the price is below the level:\n%s", printed.String())
	}
	if n := len(tickbeamtest.FileRows[tickbeam.Tick](t, filepath.Join(out, "lake"), "ticks")); n != 3000 {
		t.Errorf("the lake holds %d ticks, want 3000", n)
	}
}
