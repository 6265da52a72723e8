package dedupe_test

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// Copies of a trade share an identity: source, symbol and trade id (the
// source and symbol are the batch key; Identity is the rest).
func ExampleIdentity() {
	trade := tickbeam.Tick{Source: "binance", Symbol: "BTCUSDT", TradeID: "4512345678", Kind: tickbeam.Trade}
	redelivered := trade
	fmt.Println(dedupe.Identity(&trade) == dedupe.Identity(&redelivered))
	// Output: true
}

// A file's trades, parsed and deduplicated in batches, folded into 1m bars
// without a step per tick; dedupe.Unbatch gives the ticks to steps that
// take them one by one.
func ExampleBlocks() {
	p, s := beam.NewPipelineWithRoot()
	blocks, oversized := lines.ReadBlocks(s, "trades.jsonl")
	batches, dead := dedupe.Blocks(s, blocks, parse.Config{Format: "binance"}, dedupe.Options{Window: time.Minute})
	minute := bars.Resolution(time.Minute)
	byRes := bars.Compute(s, batches, bars.Options{Resolutions: []bars.Resolution{minute}})
	ticks := dedupe.Unbatch(s, batches)
	_, _, _, _, _ = p, oversized, dead, byRes[minute], ticks
}
