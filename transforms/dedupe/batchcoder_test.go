package dedupe

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
)

func TestBatchCoderRoundTrip(t *testing.T) {
	at := func(ms int64) time.Time { return time.UnixMilli(1768435200000 + ms).UTC() }
	trade := func(id string, ms int64, side tickbeam.Side) tickbeam.Tick {
		return tickbeam.Tick{Source: "binance", Symbol: "BTCUSDT", Venue: "BINANCE", Kind: tickbeam.Trade, EventTime: at(ms),
			IngestTime: at(ms + 40), Price: 97000.12, Size: 0.0012, Side: side, TradeID: id}
	}
	q := tickbeam.Tick{Source: "binance", Symbol: "BTCUSDT", Venue: "OTHER", Kind: tickbeam.Quote, EventTime: at(5), IngestTime: at(1),
		BidPrice: 1, BidSize: 2, AskPrice: 3, AskSize: 4, PrevClose: 96000, Currency: "USDT", Side: tickbeam.Unknown}
	odd := trade("x", 9, "SIDEWAYS")
	otherSymbol := trade("12", 3, tickbeam.Buy)
	otherSymbol.Symbol = "ETHUSDT"
	zeroIngest := trade("13", 3, tickbeam.Sell)
	zeroIngest.IngestTime = time.Time{}
	for _, c := range []struct {
		name string
		b    Batch
	}{
		{"empty", Batch{}},
		{"trades", Batch{Ticks: []tickbeam.Tick{trade("100", 0, tickbeam.Buy), trade("99", -5, tickbeam.Sell), trade("007", 7, tickbeam.Unknown),
			trade("999999999999999999", 8, tickbeam.Buy), trade("9999999999999999999", 8, tickbeam.Buy), trade("", 9, tickbeam.Buy)}}},
		{"quotes and odd ticks", Batch{Ticks: []tickbeam.Tick{trade("1", 0, tickbeam.Buy), q, odd, otherSymbol, zeroIngest, trade("2", math.MaxInt32, tickbeam.Sell)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc, err := encodeBatch(c.b)
			if err != nil {
				t.Fatal(err)
			}
			b, err := DecodeBatch(enc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.All()
			if err != nil {
				t.Fatal(err)
			}
			var each []tickbeam.Tick
			if err := b.Each(func(t *tickbeam.Tick) { each = append(each, *t) }); err != nil {
				t.Fatal(err)
			}
			sameTime := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
			for name, got := range map[string][]tickbeam.Tick{"All": got, "Each": each} {
				if diff := cmp.Diff(c.b.Ticks, got, sameTime); diff != "" && len(c.b.Ticks) > 0 {
					t.Errorf("round trip through %s (-want +got):\n%s", name, diff)
				}
			}
			if again, _ := encodeBatch(b); string(again) != string(enc) {
				t.Error("a decoded batch passed on unread was not kept as it came")
			}
			if len(enc) > 4 {
				if trunc, err := DecodeBatch(enc[:len(enc)-3]); err == nil {
					if _, err := trunc.All(); err == nil {
						t.Error("truncated batch read by All without error")
					}
					if err := trunc.Each(func(*tickbeam.Tick) {}); err == nil {
						t.Error("truncated batch read by Each without error")
					}
				}
			}
		})
	}
}

// Span reads a batch's count, event times, source and symbol from its
// header, the same for a batch of Ticks, one packed by this package and one
// that crossed the runner; a batch mixing symbols has none.
func TestBatchSpan(t *testing.T) {
	tick := func(sym string, sec int64) tickbeam.Tick {
		return tickbeam.Tick{Source: "s", Symbol: sym, Kind: tickbeam.Trade, Side: tickbeam.Buy, TradeID: fmt.Sprint(sec),
			EventTime: time.Unix(sec, 0).UTC(), IngestTime: time.Unix(sec, 5).UTC(), Price: 1, Size: 1}
	}
	for _, c := range []struct {
		name  string
		ticks []tickbeam.Tick
		want  BatchSpan
		ok    bool
	}{
		{"one symbol, out of order", []tickbeam.Tick{tick("X", 5), tick("X", 2), tick("X", 9), tick("X", 4)},
			BatchSpan{"s", "X", 4, time.Unix(2, 0).UTC(), time.Unix(9, 0).UTC()}, true},
		{"one tick", []tickbeam.Tick{tick("X", 5)}, BatchSpan{"s", "X", 1, time.Unix(5, 0).UTC(), time.Unix(5, 0).UTC()}, true},
		{"two symbols", []tickbeam.Tick{tick("X", 5), tick("Y", 6)}, BatchSpan{}, false},
		{"empty", nil, BatchSpan{}, false},
	} {
		var packed batchEncoder
		for i := range c.ticks {
			if i == 0 {
				packed.source, packed.symbol = c.ticks[0].Source, c.ticks[0].Symbol
			}
			id, numeric := numericID(c.ticks[i].TradeID)
			packed.add(&c.ticks[i], id, numeric)
		}
		enc, err := Batch{Ticks: c.ticks}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		crossed, err := DecodeBatch(enc)
		if err != nil {
			t.Fatal(err)
		}
		for form, b := range map[string]Batch{"ticks": {Ticks: c.ticks}, "packed": {enc: &packed}, "crossed": crossed} {
			got, ok := b.Span()
			if diff := cmp.Diff(c.want, got); diff != "" || ok != c.ok {
				t.Errorf("%s, %s: Span() = _, %v, want %v (-want +got):\n%s", c.name, form, ok, c.ok, diff)
			}
		}
	}
	if _, err := DecodeBatch([]byte{0x7f}); err == nil {
		t.Error("DecodeBatch took a damaged batch")
	}
}

func FuzzDecodeBatch(f *testing.F) {
	b, _ := encodeBatch(Batch{Ticks: []tickbeam.Tick{{Source: "s", Symbol: "X", Kind: tickbeam.Trade, Side: tickbeam.Buy, TradeID: "1",
		EventTime: time.Unix(1, 0), IngestTime: time.Unix(2, 0), Price: 1, Size: 1}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := DecodeBatch(data); err == nil { // must not panic or hang
			_, _ = b.All()
			_ = b.Each(func(*tickbeam.Tick) {})
		}
	})
}
