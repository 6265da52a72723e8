package tickbeamtest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

func TestMain(m *testing.M) { tickbeamtest.Main(m) }

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

func TestTickBuilders(t *testing.T) {
	at := t0.Add(5 * time.Second)
	cases := []struct {
		name string
		got  tickbeam.Tick
		want tickbeam.Tick
	}{
		{"trade", tickbeamtest.Trade("BTCUSDT", at, 100.5, 2),
			tickbeam.Tick{Symbol: "BTCUSDT", Kind: tickbeam.Trade, EventTime: at, IngestTime: at, Price: 100.5, Size: 2, Side: tickbeam.Unknown, Source: "test"}},
		{"trade with options", tickbeamtest.Trade("BTCUSDT", at.In(time.FixedZone("KST", 9*3600)), 100.5, 2,
			tickbeamtest.WithID("7"), tickbeamtest.WithSide(tickbeam.Buy), tickbeamtest.WithSource("binance"), tickbeamtest.WithPrevClose(99)),
			tickbeam.Tick{Symbol: "BTCUSDT", Kind: tickbeam.Trade, EventTime: at, IngestTime: at, Price: 100.5, Size: 2, Side: tickbeam.Buy,
				TradeID: "7", Source: "binance", PrevClose: 99}},
		{"quote", tickbeamtest.Quote("AAPL", at, 10, 10.5),
			tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: at, IngestTime: at, BidPrice: 10, BidSize: 1, AskPrice: 10.5, AskSize: 1, Side: tickbeam.Unknown, Source: "test"}},
	}
	for _, c := range cases {
		if d := cmp.Diff(c.want, c.got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
		if c.got.EventTime.Location() != time.UTC {
			t.Errorf("%s: event time in %v, want UTC", c.name, c.got.EventTime.Location())
		}
	}
}

func TestTrades(t *testing.T) {
	got := tickbeamtest.Trades("X", t0, time.Second, 1, 2, 3)
	want := []tickbeam.Tick{
		tickbeamtest.Trade("X", t0, 1, 1, tickbeamtest.WithID("1")),
		tickbeamtest.Trade("X", t0.Add(time.Second), 2, 1, tickbeamtest.WithID("2")),
		tickbeamtest.Trade("X", t0.Add(2*time.Second), 3, 1, tickbeamtest.WithID("3")),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestWalk(t *testing.T) {
	w := tickbeamtest.Walk{Symbols: []string{"BTCUSDT", "ETHUSDT"}, Start: t0, Every: 200 * time.Millisecond, Seed: 7}
	a, b := w.Ticks(50), w.Ticks(50)
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("the same walk differs (-first +second):\n%s", d)
	}
	if len(a) != 50 {
		t.Fatalf("%d ticks, want 50", len(a))
	}
	for i, tk := range a {
		wantSym := w.Symbols[i%2]
		if tk.Symbol != wantSym || !tk.EventTime.Equal(t0.Add(time.Duration(i)*200*time.Millisecond)) || tk.Price <= 0 || tk.Kind != tickbeam.Trade {
			t.Fatalf("tick %d = %v, want a %s trade at %v", i, tk, wantSym, t0.Add(time.Duration(i)*200*time.Millisecond))
		}
	}
	w.Seed = 8
	if c := w.Ticks(50); cmp.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same walk")
	}
}

func TestLinesRoundTrip(t *testing.T) {
	ticks := tickbeamtest.Trades("X", t0, time.Second, 1.25, 2)
	lines := tickbeamtest.Lines(ticks...)
	for i, l := range lines {
		var got tickbeam.Tick
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(ticks[i], got); d != "" {
			t.Errorf("line %d (-want +got):\n%s", i, d)
		}
	}
}

// Every figure of the expected bars is computed by hand from the trades.
func TestBarsOf(t *testing.T) {
	ticks := []tickbeam.Tick{
		tickbeamtest.Trade("A", t0.Add(10*time.Second), 10, 3, tickbeamtest.WithSide(tickbeam.Sell), tickbeamtest.WithID("2")),
		tickbeamtest.Trade("A", t0.Add(5*time.Second), 12, 1, tickbeamtest.WithSide(tickbeam.Buy), tickbeamtest.WithID("1")),
		tickbeamtest.Quote("A", t0.Add(6*time.Second), 1, 100),
		tickbeamtest.Trade("A", t0.Add(70*time.Second), 11, 2, tickbeamtest.WithID("3")),
	}
	want := []tickbeam.Bar{
		// open 12 (the 5 s trade), close 10; 12x1 + 10x3 = 42 over volume 4.
		{Symbol: "A", Resolution: "1m", WindowStart: t0, WindowEnd: t0.Add(time.Minute), Open: 12, High: 12, Low: 10, Close: 10,
			Volume: 4, Notional: 42, VWAP: 10.5, Trades: 2, BuyVolume: 1, SellVolume: 3, Timing: tickbeam.OnTime},
		{Symbol: "A", Resolution: "1m", WindowStart: t0.Add(time.Minute), WindowEnd: t0.Add(2 * time.Minute), Open: 11, High: 11, Low: 11, Close: 11,
			Volume: 2, Notional: 22, VWAP: 11, Trades: 1, Timing: tickbeam.OnTime},
	}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, tickbeamtest.BarsOf(time.Minute, ticks...), want); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
