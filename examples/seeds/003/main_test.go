package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestMain(m *testing.M) { tickbeamtest.Main(m) }

// The capture, Thursday 2026-01-15 from 09:00 KST (00:00Z): six trades of
// three stocks, one of them sent twice, a PINGPONG and an encrypted frame.
func TestSeed003(t *testing.T) {
	out := t.TempDir()
	day, err := calendar.ParseDate("2026-01-15")
	if err != nil {
		t.Fatal(err)
	}
	var printed bytes.Buffer
	if err := run(context.Background(), &printed, streaming("testdata/kis.txt", "../../rules/krx-freshness.yaml", out), batch(out, day)); err != nil {
		t.Fatal(err)
	}
	if want := "monitor: 7 trades parsed (1 redelivered, dropped), 3 stale-feed alerts, 1 dead letters\n" +
		"daily: reports of 2026-01-15 under " + filepath.Join(out, "daily_report") + "\n"; printed.String() != want {
		t.Errorf("printed %q, want %q", printed.String(), want)
	}

	// Each stock's feed falls silent after its last trade: one alert 5
	// minutes later (Notify is off: no email).
	var alerts []string
	for _, a := range tickbeamtest.FileRows[tickbeam.Alert](t, filepath.Join(out, "alerts"), "alerts") {
		alerts = append(alerts, a.Symbol+" "+a.EventTime.Format(time.TimeOnly)+" "+a.Rule)
	}
	slices.Sort(alerts)
	if d := cmp.Diff([]string{"000660 00:05:40 krx-feed-fresh", "005930 00:06:10 krx-feed-fresh", "035720 00:05:10 krx-feed-fresh"}, alerts); d != "" {
		t.Errorf("stale-feed alerts (-want +got):\n%s", d)
	}

	// The daily report of Samsung Electronics: open 71000, high 71200 at
	// 09:00:30 KST, low 71000 at 09:00:00, close 71100, the largest trade 30
	// shares at 09:01:10; no previous day in the archive, so no return.
	report, err := os.ReadFile(filepath.Join(out, "daily_report", "symbol=005930", "date=2026-01-15.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("symbol,date,open,high,low,close,volume,notional,vwap,trades,buy_volume,sell_volume,trade_strength,prev_close,return_pct,"+
		"high_time,low_time,largest_trade_price,largest_trade_size,largest_trade_time,first_trade,last_trade\n"+
		"005930,2026-01-15,71000,71200,71000,71100,60,4267000,71116.66666666667,3,40,20,200,,,"+
		"2026-01-15T00:00:30Z,2026-01-15T00:00:00Z,71100,30,2026-01-15T00:01:10Z,2026-01-15T00:00:00Z,2026-01-15T00:01:10Z\n",
		string(report)); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}

	asOf := func(min int) time.Time { return time.Date(2026, 1, 15, 0, min, 0, 0, time.UTC) }
	stats := func(symbol string, min int, trades int64, vol, notional, buy, sell float64) tickbeam.SessionStats {
		st := tickbeam.SessionStats{Symbol: symbol, SessionDate: "2026-01-15", AsOf: asOf(min), CumVolume: vol, CumNotional: notional,
			SessionVWAP: notional / vol, Trades: trades, BuyVolume: buy, SellVolume: sell, BuyPressure: buy / vol, Calendar: "XKRX"}
		if sell > 0 {
			st.TradeStrength = buy / sell * 100
		}
		return st
	}
	want := []tickbeam.SessionStats{
		// 71000×10 (buy) + 71200×20 (sell): strength 50, buy pressure 1/3.
		stats("005930", 1, 2, 30, 2134000, 10, 20),
		// + 71100×30 (buy): 60 shares, 4,267,000 won, VWAP 71116.67, strength 200.
		stats("005930", 2, 3, 60, 4267000, 40, 20),
		// Buyers only: strength 0 (no sells), buy pressure 1.
		stats("000660", 1, 2, 10, 1355000, 10, 0),
		// Sellers only: buy pressure 0.
		stats("035720", 1, 1, 100, 5000000, 0, 100),
	}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.FileRows[tickbeam.SessionStats](t, filepath.Join(out, "session"), "session"), want); d != "" {
		t.Errorf("session stats (-want +got):\n%s", d)
	}
}
