package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam/runners"
)

func init() {
	register.Function2x1[string, func(beam.EventTime, string, float64), error](naiveParse)
	register.Emitter3[beam.EventTime, string, float64]()
	register.Function2x1[string, float64, string](naiveFormat)
}

// naiveTrade is a Binance trade message as a first Beam pipeline reads it.
type naiveTrade struct {
	Symbol string `json:"s"`
	Time   int64  `json:"T"`
	Qty    string `json:"q"`
}

// naiveParse is what a newcomer writes: json.Unmarshal per line, the event
// time as the element's timestamp, the volume keyed by symbol.
func naiveParse(line string, emit func(beam.EventTime, string, float64)) error {
	var t naiveTrade
	if err := json.Unmarshal([]byte(line), &t); err != nil {
		return err
	}
	q, err := strconv.ParseFloat(t.Qty, 64)
	if err != nil {
		return err
	}
	emit(mtime.FromMilliseconds(t.Time), t.Symbol, q)
	return nil
}

func naiveFormat(sym string, vol float64) string { return fmt.Sprintf("%s,%g", sym, vol) }

// naive times the pipeline issue 12 compares tickbeam with: textio ->
// json.Unmarshal -> 1m windows -> SumPerKey of the volume, on prism.
func naive(args []string) error {
	fs := flag.NewFlagSet("naive", flag.ExitOnError)
	input := fs.String("input", "binance.jsonl", "Binance trade messages, one per line")
	out := fs.String("out", os.TempDir()+"/tickbeam-naive.txt", "output file")
	fs.Parse(args)
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	lines := textio.Read(s, *input)
	vols := beam.WindowInto(s, window.NewFixedWindows(time.Minute), beam.ParDo(s, naiveParse, lines))
	textio.Write(s, *out, beam.ParDo(s, naiveFormat, stats.SumPerKey(s, vols)))
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		return err
	}
	took := time.Since(start)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(syscall.TimevalToNsec(after.Utime) + syscall.TimevalToNsec(after.Stime) -
		syscall.TimevalToNsec(before.Utime) - syscall.TimevalToNsec(before.Stime))
	fmt.Printf("naive Beam pipeline (textio, json.Unmarshal, 1m windows, SumPerKey) on %s: %s wall, %s cpu\n",
		*input, took.Round(time.Millisecond), cpu.Round(time.Millisecond))
	return nil
}
