package feedformat

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
)

// fuzzFormat fuzzes one format's parser, seeded with its testdata payloads.
// It checks the Parser contract: no panic, the payload untouched and not
// aliased by the ticks, dst unchanged on error, at least one tick on
// success, and every tick with its Source, a UTC event time, a zero ingest
// time and a known kind and side. Error messages stay short.
func fuzzFormat(f *testing.F, format string) {
	for _, path := range payloads(f, format) {
		f.Add(readPayload(f, path))
	}
	opts := testOptions(f, filepath.Join("testdata", format, "options.json"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := mustNew(t, format, opts)
		orig := bytes.Clone(payload)
		dst := []tickbeam.Tick{{Symbol: "KEEP"}}
		got, err := p.Parse(dst, payload)
		if !bytes.Equal(payload, orig) {
			t.Fatal("Parse modified its payload")
		}
		if len(got) == 0 || got[0].Symbol != "KEEP" {
			t.Fatalf("Parse lost dst[0]: %v", got)
		}
		if err != nil {
			if len(got) != 1 {
				t.Fatalf("Parse returned %d ticks with error %v", len(got)-1, err)
			}
			if n := len(err.Error()); n > 600 {
				t.Fatalf("error message of %d bytes: %.200s", n, err)
			}
			if errors.Is(err, ErrControl) && err != ErrControl && len(err.Error()) == 0 {
				t.Fatal("empty control error message")
			}
			return
		}
		if len(got) < 2 {
			t.Fatal("Parse succeeded without a tick (want ErrControl)")
		}
		for i, tk := range got[1:] {
			if (tk.Source != format && (format != "tick" || tk.Source == "")) || tk.EventTime.Location() != time.UTC || !tk.IngestTime.IsZero() ||
				(tk.Kind != tickbeam.Trade && tk.Kind != tickbeam.Quote) ||
				(tk.Side != tickbeam.Buy && tk.Side != tickbeam.Sell && tk.Side != tickbeam.Unknown) {
				t.Fatalf("tick %d breaks the contract: %#v", i, tk)
			}
		}
		before := fmt.Sprintf("%#v", got)
		for i := range payload {
			payload[i] ^= 0x55
		}
		if after := fmt.Sprintf("%#v", got); after != before {
			t.Fatal("ticks alias the payload")
		}
	})
}

func FuzzBinance(f *testing.F)      { fuzzFormat(f, "binance") }
func FuzzAlpaca(f *testing.F)       { fuzzFormat(f, "alpaca") }
func FuzzCoinbase(f *testing.F)     { fuzzFormat(f, "coinbase") }
func FuzzKIS(f *testing.F)          { fuzzFormat(f, "kis") }
func FuzzTradingView(f *testing.F)  { fuzzFormat(f, "tradingview") }
func FuzzAlphaVantage(f *testing.F) { fuzzFormat(f, "alphavantage") }
func FuzzJSON(f *testing.F)         { fuzzFormat(f, "json") }
func FuzzCSV(f *testing.F)          { fuzzFormat(f, "csv") }
func FuzzTick(f *testing.F)         { fuzzFormat(f, "tick") }
