// Seed 000 rebuilt with tickbeam (Sistema de monitoreo en tiempo casi real
// del cambio de las acciones): near-real-time prices and returns of the
// stocks of a portfolio, from Alpha Vantage, with the raw data in a lake and
// the processed data where a Grafana dashboard reads it.
//
// The seed polls Alpha Vantage from EC2, pushes each batch through Kinesis
// (simulating a continuous flow) into S3 as raw JSON and, through Lambda,
// into DynamoDB as prices and returns; Grafana draws them. Here the
// alphavantage parser reads each poll's TIME_SERIES_INTRADAY answer (one
// tick per minute row, in the exchange's time zone), the rows a later poll
// repeats are dropped, the ticks are archived (the lake), and each becomes
// a PriceChange row, its return against the previous close, beside 5m bars:
// the processed data. An answer that is a rate-limit notice is a dead
// letter, not a silent hole.
//
//	go run ./examples/seeds/000      # the captured polls in testdata, output in seed000-out/
//	go run ./cmd/tickbeam monitor --input='alphavantage:?symbols=IBM,MSFT&interval=1min&every=15m' ...  # live
//
// With bq:P.D.T outputs, deploy/grafana's dashboard reads the tables; the
// portfolio view itself (positions -> value, P&L, weights, drawdown) is
// monitor.Config.Positions, shown in examples/portfolio.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/enrich"
)

func config(input, references, out string) monitor.Config {
	return monitor.Config{
		Input:            input,
		Format:           "alphavantage",
		Calendar:         "XNYS",
		Bars:             []bars.Resolution{bars.Resolution(5 * time.Minute)},
		BarsOut:          filepath.Join(out, "processed"),
		ChangesOut:       filepath.Join(out, "processed"),
		PrevCloseSources: []enrich.Source{enrich.SourceReference, enrich.SourceLastClose},
		References:       references,
		RawOut:           filepath.Join(out, "lake"),
		DeadLetterOut:    filepath.Join(out, "deadletters"),
	}
}

func main() {
	input := flag.String("input", "examples/seeds/000/testdata/intraday.jsonl", "Alpha Vantage answers, one per line, or alphavantage:?symbols=...")
	refs := flag.String("references", "examples/seeds/000/testdata/prev_close.csv", "previous closes, CSV symbol,date,prev_close")
	out := flag.String("out", "seed000-out", "output directory (or gs:// prefix)")
	flag.Parse()
	beam.Init()
	if err := run(context.Background(), os.Stdout, config(*input, *refs, *out)); err != nil {
		fmt.Fprintln(os.Stderr, "seed000:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, cfg monitor.Config) error {
	r, err := monitor.Run(ctx, cfg, runners.Options{StopOnSignal: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d answers: %d minute rows, %d repeated by a later poll; %d returns; %d dead letters\n",
		runners.Counter(r, "tickbeam/parse", "messages"), runners.Counter(r, "tickbeam/parse", "ticks"),
		runners.Counter(r, "tickbeam/dedupe", "duplicates"), runners.Counter(r, "tickbeam/enrich", "from_reference"),
		runners.Counter(r, "tickbeam/parse", "dead_letters"))
	return nil
}
