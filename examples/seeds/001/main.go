// Seed 001 rebuilt with tickbeam: Solana's real-time quote from TradingView,
// stored for a live line chart of price, change, change % and volume.
//
// The seed's producer opens TradingView's quote websocket for
// BINANCE:SOLUSDT, pulls lp, ch, chp and volume out of each qsd frame with a
// regular expression, stamps it with the wall clock and sends it to Kafka; a
// consumer indexes the messages in Elasticsearch, and Kibana draws the
// price. Here the tradingview parser reads the frames (several per message,
// heartbeats apart), each quote keeps TradingView's own lp_time, the
// previous close comes from the feed (lp − ch), and every quote becomes a
// PriceChange row (price, prev_close, change, change_pct and a ±5% flag):
// the index. Frames that cannot be read are dead letters, not a printed
// "Error procesando mensaje".
//
//	go run ./examples/seeds/001                                   # the capture in testdata
//	go run ./examples/seeds/001 --input='tradingview:?symbols=BINANCE:SOLUSDT' --out=out/ # live
//
// For the chart, run tickbeam monitor with the same flags and --ui (a live
// dashboard), or point --out at bq:P.D.T and Grafana (deploy/grafana).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/enrich"
)

// config is the seed's system as a monitor configuration: TradingView
// frames in, PriceChange rows (and dead letters) out.
func config(input, out string) monitor.Config {
	return monitor.Config{
		Input:  input,
		Format: "tradingview",
		// Quotes make no bars; the monitor needs a resolution all the same.
		Bars:             []bars.Resolution{bars.Resolution(time.Second)},
		BarsOut:          out,
		ChangesOut:       out,
		PrevCloseSources: []enrich.Source{enrich.SourceFeed},
		FlagThreshold:    5,
	}
}

func main() {
	input := flag.String("input", "examples/seeds/001/testdata/solusdt.txt", "TradingView frames: a capture file or tradingview:?symbols=...")
	out := flag.String("out", "seed001-out", "directory (or gs:// prefix) receiving changes-* and deadletters-* files")
	duration := flag.Duration("duration", 0, "stop a live input after this long")
	flag.Parse()
	beam.Init()
	if err := run(context.Background(), os.Stdout, config(*input, *out), *duration); err != nil {
		fmt.Fprintln(os.Stderr, "seed001:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, cfg monitor.Config, duration time.Duration) error {
	r, err := monitor.Run(ctx, cfg, runners.Options{Duration: duration, StopOnSignal: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d quotes -> %d price changes against the feed's previous close; %d frames as dead letters\n",
		runners.Counter(r, "tickbeam/parse", "ticks"), runners.Counter(r, "tickbeam/enrich", "from_feed"),
		runners.Counter(r, "tickbeam/parse", "dead_letters"))
	return nil
}
