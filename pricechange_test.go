package tickbeam

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPriceChangeCoderRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		v    PriceChange
	}{
		{"split-adjusted last close", PriceChange{Symbol: "AAPL", Kind: Trade, Source: "alpaca", TradeID: "52983525029461",
			EventTime: time.Date(2026, 1, 16, 14, 31, 0, 250_000_000, time.UTC), SessionDate: "2026-01-16", Price: 105, PrevClose: 100,
			PrevCloseSource: PrevCloseLastClose, SplitFactor: 2, Change: 5, ChangePct: 5, Flag: FlagNeutral}},
		{"no previous close", PriceChange{Symbol: "005930", Kind: Quote, EventTime: at, SessionDate: "2026-01-15", Price: 71200,
			PrevCloseSource: PrevCloseNone, SplitFactor: 1, Flag: FlagNeutral}},
		{"zero", PriceChange{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := encodePriceChange(c.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodePriceChange(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.v, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if _, err := decodePriceChange(b[:len(b)-1]); err == nil {
				t.Error("truncated PriceChange decoded without error")
			}
		})
	}
}
