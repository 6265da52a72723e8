package feedformat

import (
	"encoding/json"
	"testing"

	"github.com/tickbeam/tickbeam"
)

// benchBinanceMsg is a real-shaped Binance spot trade.
var benchBinanceMsg = []byte(`{"e":"trade","E":1705312215123,"s":"BTCUSDT","t":3366123456,"p":"42817.55000000","q":"0.00125000","T":1705312215122,"m":true,"M":true}`)

func BenchmarkBinance(b *testing.B) {
	p, err := New("binance", Options{})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]tickbeam.Tick, 0, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBinanceMsg)))
	for b.Loop() {
		dst, err = p.Parse(dst[:0], benchBinanceMsg)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBinanceEncodingJSON decodes the same message with encoding/json
// into a struct, and does nothing more (no float or time conversion): the
// floor of what a parser built on encoding/json would cost.
func BenchmarkBinanceEncodingJSON(b *testing.B) {
	type trade struct {
		Event     string `json:"e"`
		EventTime int64  `json:"E"`
		Symbol    string `json:"s"`
		TradeID   int64  `json:"t"`
		Price     string `json:"p"`
		Quantity  string `json:"q"`
		TradeTime int64  `json:"T"`
		Maker     bool   `json:"m"`
		Ignore    bool   `json:"M"`
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBinanceMsg)))
	for b.Loop() {
		var t trade
		if err := json.Unmarshal(benchBinanceMsg, &t); err != nil {
			b.Fatal(err)
		}
	}
}
