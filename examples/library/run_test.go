package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

// tickbeam's CI must not skip a test for want of an emulator.
func init() { os.Setenv(tickbeamtest.RequireEnv, "1") }

// The program on its sample capture: 9 trades (one sent twice), one
// malformed line; the second minute moves 100.8 -> 103.5, +2.68%.
func TestRunOnSample(t *testing.T) {
	env := tickbeamtest.Emulators(t, tickbeamtest.BigQuery)
	cfg := Config{Input: "testdata/trades.jsonl", Format: "binance", Bar: time.Minute, MovePct: 2, BigQuery: env.BigQueryOptions(),
		BarsTable: env.Table("lib", "bars"), AlertsTable: env.Table("lib", "alerts"), DeadLettersTable: env.Table("lib", "deadletters")}
	var out bytes.Buffer
	if err := run(context.Background(), &out, cfg); err != nil {
		t.Fatal(err)
	}
	// 3 bars + 1 alert + 1 dead letter.
	if want := "9 ticks, 1 alerts, 1 dead letters; 5 rows written to BigQuery\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	wantBars := []tickbeam.Bar{
		// 100x0.5 + 100.4x0.2 + 100.8x0.1 = 50 + 20.08 + 10.08 = 80.16 over 0.8; the redelivered trade 3 counts once.
		{Symbol: "BTCUSDT", Resolution: "1m", WindowStart: t0, WindowEnd: t0.Add(time.Minute), Open: 100, High: 100.8, Low: 100, Close: 100.8,
			Volume: 0.8, Notional: 80.16, VWAP: 100.2, Trades: 3, BuyVolume: 0.6, SellVolume: 0.2, Timing: tickbeam.OnTime},
		// 100.8x0.3 + 102.1x0.4 + 103.5x0.2 = 30.24 + 40.84 + 20.7 = 91.78 over 0.9.
		{Symbol: "BTCUSDT", Resolution: "1m", WindowStart: t0.Add(time.Minute), WindowEnd: t0.Add(2 * time.Minute), Open: 100.8, High: 103.5, Low: 100.8, Close: 103.5,
			Volume: 0.9, Notional: 91.78, VWAP: 91.78 / 0.9, Trades: 3, BuyVolume: 0.6, SellVolume: 0.3, Timing: tickbeam.OnTime},
		// 103.5x0.1 + 103x0.6 = 10.35 + 61.8 = 72.15 over 0.7.
		{Symbol: "BTCUSDT", Resolution: "1m", WindowStart: t0.Add(2 * time.Minute), WindowEnd: t0.Add(3 * time.Minute), Open: 103.5, High: 103.5, Low: 103, Close: 103,
			Volume: 0.7, Notional: 72.15, VWAP: 72.15 / 0.7, Trades: 2, SellVolume: 0.7, Timing: tickbeam.OnTime},
	}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.BigQueryRows[tickbeam.Bar](t, env, cfg.BarsTable), wantBars); d != "" {
		t.Errorf("bars (-want +got):\n%s", d)
	}
	alerts := tickbeamtest.BigQueryRows[tickbeam.Alert](t, env, cfg.AlertsTable)
	if len(alerts) != 1 || alerts[0].Symbol != "BTCUSDT" || !alerts[0].EventTime.Equal(t0.Add(2*time.Minute)) ||
		alerts[0].Value < 2.678 || alerts[0].Value > 2.679 {
		t.Errorf("alerts %+v, want one at 14:32 of +2.68%%", alerts)
	}
	dead := tickbeamtest.BigQueryRows[tickbeam.DeadLetter](t, env, cfg.DeadLettersTable)
	if len(dead) != 1 || dead[0].Stage != tickbeam.StageParse || dead[0].PayloadString != `{"e":"trade","s":"BTCUSDT","t":7,"p":"abc"}` {
		t.Errorf("dead letters %+v, want the malformed line at stage parse", dead)
	}
}
