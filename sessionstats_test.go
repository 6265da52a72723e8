package tickbeam

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSessionStatsDerive(t *testing.T) {
	for _, c := range []struct {
		name                     string
		in                       SessionStats
		vwap, strength, pressure float64
	}{
		// 71200×10 + 71300×5 + 71250×5 = 712000 + 356500 + 356250 = 1424750 over 20.
		{"buy and sell", SessionStats{CumVolume: 20, CumNotional: 1424750, BuyVolume: 12, SellVolume: 8}, 71237.5, 150, 0.6},
		// UNKNOWN volume is in CumVolume only: pressure 3/8.
		{"with unknown side", SessionStats{CumVolume: 8, CumNotional: 800, BuyVolume: 3, SellVolume: 4}, 100, 75, 0.375},
		// No sells: strength has no finite value and is 0; pressure says all buying.
		{"no sells", SessionStats{CumVolume: 4, CumNotional: 400, BuyVolume: 4}, 100, 0, 1},
		{"empty", SessionStats{}, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.in
			s.TradeStrength, s.BuyPressure, s.SessionVWAP = -1, -1, -1 // overwritten
			s.Derive()
			got := [3]float64{s.SessionVWAP, s.TradeStrength, s.BuyPressure}
			if want := [3]float64{c.vwap, c.strength, c.pressure}; got != want {
				t.Errorf("Derive: vwap, strength, pressure = %v, want %v", got, want)
			}
		})
	}
}

func TestSessionStatsCoderRoundTrip(t *testing.T) {
	s := SessionStats{Symbol: "005930", SessionDate: "2026-01-15", AsOf: at.Truncate(time.Minute), CumVolume: 20, CumNotional: 1424750,
		SessionVWAP: 71237.5, Trades: 3, BuyVolume: 12, SellVolume: 8, TradeStrength: 150, BuyPressure: 0.6, Calendar: "XKRX", Revision: 2}
	for _, in := range []SessionStats{s, {}} {
		b, err := encodeSessionStats(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeSessionStats(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	b, _ := encodeSessionStats(s)
	if _, err := decodeSessionStats(b[:len(b)-1]); err == nil {
		t.Error("truncated SessionStats decoded without error")
	}
}
