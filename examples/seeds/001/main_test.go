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

// The capture: four SOLUSDT quotes (one message holds a quote and a
// heartbeat), a heartbeat alone and a cut frame.
func TestSeed001(t *testing.T) {
	out := t.TempDir()
	var printed bytes.Buffer
	if err := run(context.Background(), &printed, config("testdata/solusdt.txt", out), 0); err != nil {
		t.Fatal(err)
	}
	if want := "4 quotes -> 4 price changes against the feed's previous close; 1 frames as dead letters\n"; printed.String() != want {
		t.Errorf("printed %q, want %q", printed.String(), want)
	}
	t0 := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	// prev_close = lp − ch = 136.5 for all four; change_pct = ch × 100 / 136.5.
	row := func(sec int, price, change float64, flag string) tickbeam.PriceChange {
		return tickbeam.PriceChange{Symbol: "BINANCE:SOLUSDT", Kind: tickbeam.Quote, Source: "tradingview",
			EventTime: t0.Add(time.Duration(sec) * time.Second), SessionDate: "2026-01-15", Price: price, PrevClose: 136.5,
			PrevCloseSource: tickbeam.PrevCloseFeed, SplitFactor: 1, Change: change, ChangePct: change * 100 / 136.5, Flag: flag}
	}
	want := []tickbeam.PriceChange{
		row(0, 140, 3.5, tickbeam.FlagNeutral),    // +2.56%
		row(1, 141.4, 4.9, tickbeam.FlagNeutral),  // +3.59%
		row(2, 143.4, 6.9, tickbeam.FlagPositive), // +5.05%: beyond +5%
		row(3, 135.1, -1.4, tickbeam.FlagNeutral), // −1.03%
	}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.FileRows[tickbeam.PriceChange](t, out, "changes"), want); d != "" {
		t.Errorf("price changes (-want +got):\n%s", d)
	}
	dead := tickbeamtest.FileRows[tickbeam.DeadLetter](t, out, "deadletters")
	if len(dead) != 1 || dead[0].Stage != tickbeam.StageParse {
		t.Errorf("dead letters %+v, want the cut frame at stage parse", dead)
	}
}
