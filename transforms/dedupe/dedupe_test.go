package dedupe

import (
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

func tick(src, sym, id string, at time.Duration, ingest time.Duration, price float64) tickbeam.Tick {
	return tickbeam.Tick{Source: src, Symbol: sym, TradeID: id, Kind: tickbeam.Trade, EventTime: t0.Add(at),
		IngestTime: t0.Add(ingest), Price: price, Size: 1, Side: tickbeam.Buy}
}

func TestTicks(t *testing.T) {
	first := tick("binance", "BTCUSDT", "7", time.Second, 2*time.Second, 100)
	redelivered := first
	// A redelivery is the same message again; ingest time is set after dedupe sees it.
	otherSource := tick("coinbase", "BTCUSDT", "7", time.Second, 2*time.Second, 100)
	otherSymbol := tick("binance", "ETHUSDT", "7", time.Second, 2*time.Second, 100)
	next := tick("binance", "BTCUSDT", "8", 59*time.Second, 60*time.Second, 101)
	quote := tickbeam.Tick{Source: "alpaca", Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: t0.Add(3 * time.Second), BidPrice: 10, AskPrice: 11}
	quoteAgain := quote

	otherQuote := quote
	otherQuote.AskPrice = 11.5

	in := []tickbeam.Tick{redelivered, first, otherSource, otherSymbol, next, redelivered, quoteAgain, quote, otherQuote}
	want := []tickbeam.Tick{first, otherSource, otherSymbol, next, quote, otherQuote}

	p, s := beam.NewPipelineWithRoot()
	out := Ticks(s, beamtest.Ticks(s, in...), Options{})
	beamtest.Equals(s, out, want)
	r := ptest.RunAndValidate(t, p)
	if got := beamtest.Counter(t, r, "tickbeam/dedupe", "duplicates"); got != int64(len(in)-len(want)) {
		t.Errorf("duplicates counter = %d, want %d", got, len(in)-len(want))
	}
}
