package tickbeam_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tickbeam/tickbeam"
)

// A trade as the parsers make it and as it is stored: JSON field names are
// the BigQuery column names.
func Example() {
	t := tickbeam.Tick{Symbol: "BTCUSDT", Kind: tickbeam.Trade, EventTime: time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC),
		Price: 97250.5, Size: 0.02, Side: tickbeam.Buy, TradeID: "4211", Source: "binance"}
	b, err := json.Marshal(t)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"symbol":"BTCUSDT","venue":"","kind":"TRADE","event_time":"2026-01-15T09:30:00Z","ingest_time":"0001-01-01T00:00:00Z","price":97250.5,"size":0.02,"side":"BUY","bid_price":0,"bid_size":0,"ask_price":0,"ask_size":0,"trade_id":"4211","prev_close":0,"source":"binance","currency":""}
}
