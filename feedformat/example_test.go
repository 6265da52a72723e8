package feedformat_test

import (
	"errors"
	"fmt"

	"github.com/tickbeam/tickbeam/feedformat"
)

func ExampleNew() {
	p, err := feedformat.New("binance", feedformat.Options{})
	if err != nil {
		panic(err)
	}
	msg := `{"e":"trade","E":1705312215123,"s":"BTCUSDT","t":3366123456,"p":"42817.55000000","q":"0.00125000","T":1705312215122,"m":true,"M":true}`
	ticks, err := p.Parse(nil, []byte(msg))
	if err != nil {
		panic(err)
	}
	fmt.Println(ticks[0])

	// Subscription acks hold no market data.
	_, err = p.Parse(nil, []byte(`{"result":null,"id":1}`))
	fmt.Println(errors.Is(err, feedformat.ErrControl))
	// Output:
	// binance BTCUSDT TRADE 2024-01-15T09:50:15.122Z 42817.55 x 0.00125 SELL id=3366123456
	// true
}
