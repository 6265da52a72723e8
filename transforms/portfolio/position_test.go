package portfolio

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCSV(t *testing.T) {
	want := []Position{
		{Symbol: "AAPL", Quantity: 10, CostBasis: 150, Currency: "USD"},
		{Symbol: "AAPL", Quantity: 20, CostBasis: 75, Currency: "USD", FromDate: "2026-01-16", Split: 2},
		{Symbol: "BTCUSDT", Quantity: 0.5, CostBasis: 40000, Currency: "USDT"},
	}
	for _, c := range []struct {
		name, csv string
	}{
		{"no header", "AAPL,10,150,USD\n\n# the split\nAAPL,20,75,USD,2026-01-16,2\nBTCUSDT,0.5,40000,usdt,,\n"},
		{"header in another order", "\ufeffcurrency, symbol ,cost_basis,quantity,split,from_date\nUSD,AAPL,150,10,,\nUSD,AAPL,75,20,2,2026-01-16\n" +
			"USDT,BTCUSDT,40000,0.5,,\n"},
		{"header without optional columns", "symbol,quantity,cost_basis,currency\nAAPL,10,150,USD\nBTCUSDT,0.5,40000,USDT\n" +
			"# not a position\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := ParseCSV("p.csv", []byte(c.csv))
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if !strings.Contains(c.csv, "2026-01-16") {
				w = []Position{want[0], want[2]}
			}
			if diff := cmp.Diff(w, h.Positions); diff != "" {
				t.Errorf("positions (-want +got):\n%s", diff)
			}
			if h.Version == "" {
				t.Error("no version")
			}
		})
	}
}

func TestParseCSVErrors(t *testing.T) {
	for _, c := range []struct {
		name, csv string
		want      []string
	}{
		{"bad numbers and fields", "AAPL,ten,150,USD\nMSFT,5,400\nNVDA,-1,100,USD\n",
			[]string{`p.csv:1: quantity "ten": not a number`, "p.csv:2: 3 fields, want 4 to 6", "p.csv:3: quantity -1"}},
		{"currency, date, split", "AAPL,1,1,US$\nAAPL,1,1,USD,2026-13-01\nAAPL,1,1,USD,,2\nAAPL,1,1,USD,2026-01-02,0\n",
			[]string{`p.csv:1: currency "US$"`, "p.csv:2: from_date: invalid date", "p.csv:3: split: needs from_date", "p.csv:4: split 0"}},
		{"same day twice, two currencies", "AAPL,1,1,USD\nAAPL,2,1,USD\nBTC,1,1,USD\nBTC,1,1,USDT,2026-01-02\n",
			[]string{`AAPL: two rows from ""`, "BTC: rows in USD and USDT"}},
		{"bad header", "symbol,qty,cost_basis,currency\n", []string{`header: unknown column "qty"`}},
		{"header missing a column", "symbol,quantity,currency\n", []string{`header: column "cost_basis" missing`}},
		{"header width", "symbol,quantity,cost_basis,currency\nAAPL,1,1,USD,2026-01-02\n", []string{"p.csv:2: 5 fields, want 4, as the header"}},
		{"total symbol", "*,1,1,USD\n", []string{`symbol "*": not a ticker`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCSV("p.csv", []byte(c.csv))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
	if _, err := ParseCSV("big.csv", make([]byte, MaxFileBytes+1)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("oversized file: err = %v", err)
	}
}

func TestHoldingsVersionAndCoder(t *testing.T) {
	a := mustHoldings(t, "MSFT,5,400,USD\nAAPL,10,150,USD\n")
	b := mustHoldings(t, "AAPL,10,150,USD\nMSFT,5,400,USD\n")
	c := mustHoldings(t, "AAPL,10,150,USD\nMSFT,6,400,USD\n")
	if a.Version != b.Version {
		t.Errorf("same positions in another order: versions %s and %s", a.Version, b.Version)
	}
	if a.Version == c.Version {
		t.Error("other quantity, same version")
	}
	enc, _ := encodeHoldings(a)
	got, err := decodeHoldings(enc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := decodeHoldings(enc[:len(enc)-3]); err == nil {
		t.Error("truncated holdings decoded")
	}
}
