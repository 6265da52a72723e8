// Library is a user's own pipeline built from tickbeam's exported packages,
// the way a team that imports tickbeam writes one: raw feed lines are parsed,
// deduplicated and made into bars; a DoFn of its own turns each bar into a
// Move (close against open); an alert rule fires on large moves; bars,
// alerts and dead letters land in BigQuery.
//
//	bash scripts/emulators.sh install && eval "$(bash scripts/emulators.sh start)"
//	go run ./examples/library --input=examples/library/testdata/trades.jsonl --format=binance \
//	  --dataset=tickbeam-test.library
//
// main_test.go is the test such a team writes for it, with tickbeamtest and
// the BigQuery emulator.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/runners"
)

func main() {
	input := flag.String("input", "examples/library/testdata/trades.jsonl", "raw feed lines (glob, local or gs://)")
	format := flag.String("format", "binance", "feed format")
	bar := flag.Duration("bar", time.Minute, "bar resolution")
	move := flag.Float64("move_pct", 2, "alert on a bar that closes this % or more from its open")
	dataset := flag.String("dataset", "", "BigQuery PROJECT.DATASET receiving the tables bars, alerts and deadletters")
	flag.Parse()
	beam.Init()
	if err := run(context.Background(), os.Stdout, Config{Input: *input, Format: *format, Bar: *bar, MovePct: *move,
		BarsTable: *dataset + ".bars", AlertsTable: *dataset + ".alerts", DeadLettersTable: *dataset + ".deadletters"}); err != nil {
		fmt.Fprintln(os.Stderr, "library:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, cfg Config) error {
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, cfg); err != nil {
		return err
	}
	r, err := runners.Run(ctx, p, runners.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d ticks, %d alerts, %d dead letters; %d rows written to BigQuery\n",
		runners.Counter(r, "tickbeam/parse", "ticks"), runners.Counter(r, "tickbeam/alerts", "alerts"),
		runners.Counter(r, "tickbeam/parse", "dead_letters"), runners.Counter(r, "tickbeam/bigquery", "rows_written"))
	return nil
}
