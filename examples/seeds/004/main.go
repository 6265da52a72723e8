// Seed 004 rebuilt with tickbeam: publish an enriched real-time stock stream,
// flagging every trade that moved 5% or more from the previous trading day's
// close.
//
// The seed (Amazon MSK and Managed Service for Apache Flink) reads Alpaca's
// quote stream into a Kafka topic, a Flink job adds an indicator when a price
// is up or down 5% or more from the previous close and writes the enriched
// stream to a second topic and to OpenSearch, and customers consume it over
// PrivateLink. Here the alpaca parser reads the stream's JSON arrays
// (control messages apart), the previous close comes from a reference file
// (the vendor's) adjusted for splits, and every trade becomes a PriceChange
// row with the ±5% flag. Pointed at Pub/Sub and BigQuery instead of files,
// the same configuration is the second topic and the store:
//
//	go run ./examples/seeds/004     # the capture in testdata, rows in seed004-out/
//	go run ./cmd/tickbeam monitor --input='alpaca:?symbols=AAPL,MSFT,NVDA&feed=iex' --bar=1m --bars_out=out/ \
//	  --prev_close=REFERENCE,LAST_CLOSE --references=prev_close.csv --splits=splits.csv --calendar=XNYS \
//	  --changes_out=pubsub:projects/P/topics/enriched   # live, with ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY
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

// config is the seed's system as a monitor configuration: the Alpaca stream
// in; 1m bars, PriceChange rows flagged at ±5% and dead letters out.
func config(input, references, splits, out string) monitor.Config {
	return monitor.Config{
		Input:            input,
		Format:           "alpaca",
		Calendar:         "XNYS",
		Bars:             []bars.Resolution{bars.Resolution(time.Minute)},
		BarsOut:          out,
		ChangesOut:       out,
		PrevCloseSources: []enrich.Source{enrich.SourceReference, enrich.SourceLastClose},
		References:       references,
		Splits:           splits,
		FlagThreshold:    5,
	}
}

func main() {
	dir := "examples/seeds/004/testdata/"
	input := flag.String("input", dir+"stream.jsonl", "Alpaca stream messages: a capture file, or alpaca:?symbols=...")
	refs := flag.String("references", dir+"prev_close.csv", "previous closes, CSV symbol,date,prev_close")
	splits := flag.String("splits", dir+"splits.csv", "splits, CSV symbol,ex_date,ratio")
	out := flag.String("out", "seed004-out", "directory, gs:// prefix, bq:P.D.T or pubsub:projects/P/topics/T for the rows")
	flag.Parse()
	beam.Init()
	if err := run(context.Background(), os.Stdout, config(*input, *refs, *splits, *out)); err != nil {
		fmt.Fprintln(os.Stderr, "seed004:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, cfg monitor.Config) error {
	r, err := monitor.Run(ctx, cfg, runners.Options{StopOnSignal: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d messages (%d control): %d ticks, %d priced against a reference close; %d dead letters\n",
		runners.Counter(r, "tickbeam/parse", "messages"), runners.Counter(r, "tickbeam/parse", "control"),
		runners.Counter(r, "tickbeam/parse", "ticks"), runners.Counter(r, "tickbeam/enrich", "from_reference"),
		runners.Counter(r, "tickbeam/parse", "dead_letters"))
	return nil
}
