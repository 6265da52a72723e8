package dedupe_test

import (
	"fmt"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// Copies of a trade share an identity: source, symbol and trade id (the
// source and symbol are the batch key; Identity is the rest).
func ExampleIdentity() {
	trade := tickbeam.Tick{Source: "binance", Symbol: "BTCUSDT", TradeID: "4512345678", Kind: tickbeam.Trade}
	redelivered := trade
	fmt.Println(dedupe.Identity(&trade) == dedupe.Identity(&redelivered))
	// Output: true
}
