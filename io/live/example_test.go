package live_test

import (
	"fmt"

	"github.com/tickbeam/tickbeam/io/live"
)

// A live input URI parses once into typed settings; Open then gives the
// connector (Run keeps it connected).
func ExampleParse() {
	spec, err := live.Parse("binance:?symbols=btcusdt,ETHUSDT&silence=30s&max_frame=65536")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Vendor, spec.Format, spec.Common.Silence, spec.Common.MaxFrame, spec.Common.MaxAge, spec.Common.Backfill)
	_, err = live.Parse("alpaca:?symbols=AAPL&feed=nasdaq")
	fmt.Println(err)
	fmt.Println(live.IsURI("kis:?symbols=005930"), live.IsURI("data/trades.jsonl"))
	// Output:
	// binance binance 30s 65536 23h50m0s true
	// live input "alpaca:?symbols=AAPL&feed=nasdaq": feed="nasdaq": want iex (free) or sip (paid)
	// true false
}
