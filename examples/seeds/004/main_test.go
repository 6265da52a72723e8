package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestMain(m *testing.M) { tickbeamtest.Main(m) }

// The capture: three control messages, five trades and a quote of
// Thursday 2026-01-15, and a trade with a price of "n/a".
func TestSeed004(t *testing.T) {
	out := t.TempDir()
	var printed bytes.Buffer
	if err := run(context.Background(), &printed, config("testdata/stream.jsonl", "testdata/prev_close.csv", "testdata/splits.csv", out)); err != nil {
		t.Fatal(err)
	}
	if want := "9 messages (3 control): 6 ticks, 5 priced against a reference close; 1 dead letters\n"; printed.String() != want {
		t.Errorf("printed %q, want %q", printed.String(), want)
	}
	at := func(hms string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, "2026-01-15T"+hms+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	row := func(symbol, id, hms string, price, prev, split float64, flag string) tickbeam.PriceChange {
		return tickbeam.PriceChange{Symbol: symbol, Kind: tickbeam.Trade, Source: "alpaca", TradeID: id, EventTime: at(hms),
			SessionDate: "2026-01-15", Price: price, PrevClose: prev, PrevCloseSource: tickbeam.PrevCloseReference,
			SplitFactor: split, Change: price - prev, ChangePct: (price - prev) * 100 / prev, Flag: flag}
	}
	want := []tickbeam.PriceChange{
		row("AAPL", "101", "15:00:00.1", 251, 250, 1, tickbeam.FlagNeutral), // +0.4%
		row("MSFT", "201", "15:00:01", 395, 400, 1, tickbeam.FlagNeutral),   // −1.25%
		row("AAPL", "102", "15:05:00", 263, 250, 1, tickbeam.FlagPositive),  // +5.2%
		row("MSFT", "203", "15:06:00", 379, 400, 1, tickbeam.FlagNegative),  // −5.25%
		row("NVDA", "301", "15:07:00", 95, 90, 2, tickbeam.FlagPositive),    // 180 halved by the 2-for-1 split: +5.56%
	}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.FileRows[tickbeam.PriceChange](t, out, "changes"), want); d != "" {
		t.Errorf("price changes (-want +got):\n%s", d)
	}
	dead := tickbeamtest.FileRows[tickbeam.DeadLetter](t, out, "deadletters")
	if len(dead) != 1 || dead[0].Stage != tickbeam.StageParse {
		t.Errorf("dead letters %+v, want the n/a trade at stage parse", dead)
	}
}
