package tickbeam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func samplePortfolioRow() PortfolioRow {
	end := at.Truncate(time.Minute).Add(time.Minute)
	return PortfolioRow{Symbol: "AAPL", Currency: "USD", Resolution: "1m", WindowStart: end.Add(-time.Minute), WindowEnd: end,
		SessionDate: "2026-01-15", Quantity: 20, CostBasis: 75, Price: 101, PriceTime: end, PrevClose: 100, MarketValue: 2020,
		CostValue: 1500, UnrealizedPnL: 520, UnrealizedPnLPct: 34.666666666666664, DayPnL: 20, DayReturnPct: 1, PeriodReturnPct: 0.5,
		WeightPct: 40, DrawdownPct: 2.5, MaxDrawdownPct: 3, Positions: 1}
}

// The JSON names are the BigQuery columns of --portfolio_out (as
// TestSchemaGolden pins the other rows').
func TestPortfolioRowGolden(t *testing.T) {
	row := samplePortfolioRow()
	got, err := json.MarshalIndent(row, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "portfolio.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("JSON schema changed (-golden +got):\n%s", diff)
	}
	var back PortfolioRow
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(row, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestPortfolioRowCoderRoundTrip(t *testing.T) {
	total := PortfolioRow{Symbol: PortfolioTotal, Currency: "KRW", Resolution: "1m", WindowStart: at, WindowEnd: at.Add(time.Minute),
		MarketValue: 1e6, Positions: 3, Unpriced: 1}
	for _, in := range []PortfolioRow{samplePortfolioRow(), total, {}} {
		b, err := encodePortfolioRow(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePortfolioRow(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		if _, err := decodePortfolioRow(b[:len(b)-1]); err == nil {
			t.Error("truncated PortfolioRow decoded without error")
		}
	}
}
