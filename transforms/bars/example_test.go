package bars_test

import (
	"fmt"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// An Accumulator is what Compute folds each window's trades into; used
// directly it shows the bar arithmetic.
func ExampleAccumulator() {
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	trades := []tickbeam.Tick{
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: t0.Add(20 * time.Second), TradeID: "2", Price: 101, Size: 1, Side: tickbeam.Sell},
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: t0.Add(5 * time.Second), TradeID: "1", Price: 100, Size: 3, Side: tickbeam.Buy},
	}
	var a bars.Accumulator
	for i := range trades {
		a.Add(&trades[i])
	}
	b := a.Bar("AAPL", bars.Resolution(time.Minute), t0, t0.Add(time.Minute))
	fmt.Printf("%s %s open %g close %g volume %g vwap %g buy %g sell %g\n",
		b.Symbol, b.Resolution, b.Open, b.Close, b.Volume, b.VWAP, b.BuyVolume, b.SellVolume)
	// Output: AAPL 1m open 100 close 101 volume 4 vwap 100.25 buy 3 sell 1
}
