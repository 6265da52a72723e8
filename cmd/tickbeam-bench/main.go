// Command tickbeam-bench generates benchmark inputs and measures prism's floor.
//
//	tickbeam-bench gen-binance --n=1000000 --out=/tmp/binance-1m.jsonl
//	tickbeam-bench floor --input=/tmp/binance-1m.jsonl
//	tickbeam-bench soak --duration=10m --symbols=500
//	tickbeam-bench alerts --tickbeam=./tickbeam --n=1000000 --symbols=50
//
// gen-binance writes realistic Binance spot trade messages (three symbols,
// random walks, ~100 trades/s of event time). floor runs the monitor
// pipeline's shape on prism with trivial DoFns: read lines, one trivial DoFn
// call per line, one element per bundle into a 1-minute GBK. The difference
// to `tickbeam monitor` on the same file is what tickbeam's own code costs.
// With --shuffle_every_tick every line crosses the runner under its own key,
// as a naive per-tick dedupe would. soak streams the paced synthetic feed
// through the monitor pipeline (bars, session stats, indicators) and prints
// the heap every 30 s and its slope after warm-up. alerts times `tickbeam
// monitor` on the same trades with and without the example rules files plus
// a price rule per symbol.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/runners"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tickbeam-bench gen-binance|floor|naive|soak|alerts [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen-binance":
		err = genBinance(os.Args[2:])
	case "floor":
		err = floor(os.Args[2:])
	case "naive":
		err = naive(os.Args[2:])
	case "soak":
		err = soak(os.Args[2:])
	case "alerts":
		err = alertsBench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickbeam-bench:", err)
		os.Exit(1)
	}
}

func genBinance(args []string) error {
	fs := flag.NewFlagSet("gen-binance", flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "trades to write")
	out := fs.String("out", "binance.jsonl", "output file")
	seed := fs.Uint64("seed", 1, "random seed")
	nsyms := fs.Int("symbols", 3, "symbols: BTCUSDT, ETHUSDT, SOLUSDT, then the seeds' KRX codes, then SYM0007...")
	fs.Parse(args)
	return writeBinance(*out, *n, *nsyms, *seed)
}

// benchSymbols are gen-binance's symbols: three crypto pairs, the KRX codes
// the example rules watch, then made-up ones.
func benchSymbols(n int) []string {
	names := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT", "005930", "000660", "035720"}
	for i := len(names); i < n; i++ {
		names = append(names, fmt.Sprintf("SYM%04d", i+1))
	}
	return names[:n]
}

func writeBinance(out string, n, nsyms int, seed uint64) error {
	if nsyms < 1 {
		return fmt.Errorf("--symbols %d: want at least 1", nsyms)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(seed, 2))
	type sym struct {
		name  string
		price float64
		id    int64
	}
	syms := []sym{{"BTCUSDT", 97000, 4_500_000_000}, {"ETHUSDT", 3400, 2_100_000_000}, {"SOLUSDT", 190, 900_000_000}}
	for i, name := range benchSymbols(nsyms) {
		if i >= len(syms) {
			syms = append(syms, sym{name, 1000 + 100*float64(i), int64(i) * 1_000_000_000})
		}
	}
	syms = syms[:nsyms]
	ms := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC).UnixMilli()
	var b []byte
	for i := 0; i < n; i++ {
		ms += int64(r.IntN(20))
		s := &syms[r.IntN(len(syms))]
		s.price *= math.Exp(r.NormFloat64() * 0.0002)
		s.id++
		b = append(b[:0], `{"e":"trade","E":`...)
		b = strconv.AppendInt(b, ms+1, 10)
		b = append(b, `,"s":"`...)
		b = append(b, s.name...)
		b = append(b, `","t":`...)
		b = strconv.AppendInt(b, s.id, 10)
		b = append(b, `,"p":"`...)
		b = strconv.AppendFloat(b, math.Round(s.price*100)/100, 'f', 8, 64)
		b = append(b, `","q":"`...)
		b = strconv.AppendFloat(b, math.Round(r.ExpFloat64()*0.05*1e5)/1e5+0.00001, 'f', 8, 64)
		b = append(b, `","T":`...)
		b = strconv.AppendInt(b, ms, 10)
		b = append(b, `,"m":`...)
		b = strconv.AppendBool(b, r.IntN(2) == 0)
		b = append(b, `,"M":true}`+"\n"...)
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func init() {
	register.DoFn2x0[string, func(beam.EventTime, string, int64)](&countLinesFn{})
	register.Emitter3[beam.EventTime, string, int64]()
	register.Function2x0[string, func(beam.EventTime, string, int64)](keyEveryLine)
	register.Function2x2[string, func(*int64) bool, string, int64](sumGroup)
	register.Iter1[int64]()
}

// countLinesFn is the trivial stand-in for parse+batch: one call per line,
// one element per bundle out, as tickbeam's per-bundle batching emits.
type countLinesFn struct{ n int64 }

func (f *countLinesFn) StartBundle(func(beam.EventTime, string, int64)) { f.n = 0 }

func (f *countLinesFn) ProcessElement(_ string, _ func(beam.EventTime, string, int64)) { f.n++ }

func (f *countLinesFn) FinishBundle(emit func(beam.EventTime, string, int64)) {
	emit(mtime.Time(1_768_435_200_000), "BTCUSDT", f.n)
}

var lineNo atomic.Int64

// keyEveryLine gives every line its own key, as a per-tick dedupe shuffle would.
func keyEveryLine(_ string, emit func(beam.EventTime, string, int64)) {
	n := lineNo.Add(1)
	emit(mtime.Time(1_768_435_200_000+n*10), strconv.FormatInt(n, 10), 1)
}

func sumGroup(k string, vs func(*int64) bool) (string, int64) {
	var n, v int64
	for vs(&v) {
		n += v
	}
	return k, n
}

func floor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	input := fs.String("input", "binance.jsonl", "input file")
	shuffle := fs.Bool("shuffle_every_tick", false, "shuffle every line under its own key, as a naive per-tick dedupe would (slow: shows why tickbeam batches)")
	fs.Parse(args)
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	raw, _ := lines.Read(s, *input)
	var keyed beam.PCollection
	if *shuffle {
		keyed = beam.ParDo(s, keyEveryLine, raw)
	} else {
		keyed = beam.ParDo(s, &countLinesFn{}, raw)
	}
	keyed = beam.WindowInto(s, window.NewFixedWindows(time.Minute), keyed)
	stats.Sum(s, beam.DropKey(s, beam.ParDo(s, sumGroup, beam.GroupByKey(s, keyed))))
	start := time.Now()
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		return err
	}
	took := time.Since(start)
	n := runners.Counter(res, "tickbeam/lines", "lines")
	fmt.Printf("prism floor (read, one trivial DoFn call per line, per-bundle batch, GBK; shuffle_every_tick=%v): %d lines in %s: %.0f lines/s\n",
		*shuffle, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}
