package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestMain(m *testing.M) { tickbeamtest.Main(m) }

// Three polls of 2026-01-15 from 10:00 New York time (15:00Z): IBM twice
// (the second repeats 10:01), MSFT once, and a rate-limit notice between.
func TestSeed000(t *testing.T) {
	out := t.TempDir()
	var printed bytes.Buffer
	if err := run(context.Background(), &printed, config("testdata/intraday.jsonl", "testdata/prev_close.csv", out)); err != nil {
		t.Fatal(err)
	}
	if want := "4 answers: 6 minute rows, 1 repeated by a later poll; 5 returns; 1 dead letters\n"; printed.String() != want {
		t.Errorf("printed %q, want %q", printed.String(), want)
	}
	t0 := time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC)
	ret := func(symbol string, min int, price, prev float64) tickbeam.PriceChange {
		at := t0.Add(time.Duration(min) * time.Minute)
		return tickbeam.PriceChange{Symbol: symbol, Kind: tickbeam.Trade, Source: "alphavantage", TradeID: at.In(newYork(t)).Format("20060102150405"),
			EventTime: at, SessionDate: "2026-01-15", Price: price, PrevClose: prev, PrevCloseSource: tickbeam.PrevCloseReference,
			SplitFactor: 1, Change: price - prev, ChangePct: (price - prev) * 100 / prev, Flag: tickbeam.FlagNeutral}
	}
	want := []tickbeam.PriceChange{
		ret("IBM", 0, 300, 295), // +1.69%
		ret("IBM", 1, 303, 295), // +2.71%
		ret("IBM", 2, 297, 295), // +0.68%
		ret("MSFT", 0, 400, 400),
		ret("MSFT", 1, 404, 400), // +1%
	}
	processed := filepath.Join(out, "processed")
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.FileRows[tickbeam.PriceChange](t, processed, "changes"), want); d != "" {
		t.Errorf("returns (-want +got):\n%s", d)
	}
	// Each minute row is a trade at its close with its volume: the 5m bar
	// of IBM is 300×100 + 303×200 + 297×50 = 105450 over 350 shares.
	end := t0.Add(5 * time.Minute)
	wantBars := []tickbeam.Bar{
		{Symbol: "IBM", Resolution: "5m", WindowStart: t0, WindowEnd: end, Open: 300, High: 303, Low: 297, Close: 297,
			Volume: 350, Notional: 105450, VWAP: 105450.0 / 350, Trades: 3, Timing: tickbeam.OnTime},
		{Symbol: "MSFT", Resolution: "5m", WindowStart: t0, WindowEnd: end, Open: 400, High: 404, Low: 400, Close: 404,
			Volume: 40, Notional: 16120, VWAP: 403, Trades: 2, Timing: tickbeam.OnTime},
	}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.FileRows[tickbeam.Bar](t, processed, "bars"), wantBars); d != "" {
		t.Errorf("bars (-want +got):\n%s", d)
	}
	if n := len(tickbeamtest.FileRows[tickbeam.Tick](t, filepath.Join(out, "lake"), "ticks")); n != 5 {
		t.Errorf("the lake holds %d ticks, want the 5 distinct minute rows", n)
	}
	if dead := tickbeamtest.FileRows[tickbeam.DeadLetter](t, filepath.Join(out, "deadletters"), "deadletters"); len(dead) != 1 {
		t.Errorf("dead letters %+v, want the rate-limit notice", dead)
	}
}

func newYork(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
