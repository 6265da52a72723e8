// Quickstart runs tickbeam's monitor pipeline on a synthetic feed on the
// local runner, with no cloud account, printing bars as their windows close
// and leaving them on disk:
//
//	go run ./examples/quickstart
//
// Flags: --duration (default 30s), --out (default ./quickstart-out),
// --symbols, --rate.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func main() {
	duration := flag.Duration("duration", 30*time.Second, "how long the synthetic feed runs")
	out := flag.String("out", "quickstart-out", "directory receiving bars and dead letters")
	symbols := flag.String("symbols", "AAPL,MSFT,NVDA", "synthetic symbols")
	rate := flag.Float64("rate", 300, "synthetic ticks per second, all symbols together")
	flag.Parse()
	if err := run(*duration, *out, *symbols, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, out, symbols string, rate float64) error {
	res, err := bars.ParseResolutions("5s,1m")
	if err != nil {
		return err
	}
	cfg := monitor.Config{
		Input:    fmt.Sprintf("synthetic:?symbols=%s&rate=%g&seed=1", symbols, rate),
		Bars:     res,
		BarsOut:  out,
		Duration: duration,
		Shards:   1,
	}
	beam.Init()
	plan, err := cfg.Resolve(runners.Local)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := monitor.Build(s, plan); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Printf("tickbeam quickstart: synthetic %s at %g ticks/s for %s on the local runner; bars in %s/\n", symbols, rate, duration, out)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); watch(out, stop) }()
	// Only the runner's warnings and errors: the bars are the show.
	beamlog.SetupLogging("warn", "text")
	start := time.Now()
	result, err := runners.Run(context.Background(), p, runners.Options{Duration: duration + time.Minute, StopOnSignal: true})
	close(stop)
	<-done
	if err != nil {
		return err
	}
	ticks := runners.Counter(result, "tickbeam/synthetic", "ticks")
	fmt.Printf("done in %s: %d ticks; bar files under %s/\n", time.Since(start).Round(time.Second), ticks, out)
	return nil
}

// watch prints the bars of files that appear in dir, once each, until stop
// closes (and once more after, for the last windows).
func watch(dir string, stop <-chan struct{}) {
	seen := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		printNew(dir, seen)
		select {
		case <-stop:
			printNew(dir, seen)
			return
		case <-tick.C:
		}
	}
}

func printNew(dir string, seen map[string]bool) {
	files, _ := filepath.Glob(filepath.Join(dir, "bars-*.jsonl"))
	sort.Strings(files)
	for _, f := range files {
		if seen[f] {
			continue
		}
		seen[f] = true
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		var rows []tickbeam.Bar
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var b tickbeam.Bar
			if json.Unmarshal(sc.Bytes(), &b) == nil {
				rows = append(rows, b)
			}
		}
		fh.Close()
		sort.Slice(rows, func(i, j int) bool { return rows[i].Symbol < rows[j].Symbol })
		for _, b := range rows {
			fmt.Printf("%s %-3s %-6s O %9.2f H %9.2f L %9.2f C %9.2f  vol %8.0f  vwap %9.3f  trades %4d  buy/sell %s\n",
				b.WindowStart.Format("15:04:05"), b.Resolution, b.Symbol, b.Open, b.High, b.Low, b.Close, b.Volume, b.VWAP, b.Trades,
				pressure(b))
		}
	}
}

func pressure(b tickbeam.Bar) string {
	if b.Volume == 0 {
		return "-"
	}
	return strings.TrimSpace(fmt.Sprintf("%3.0f%%/%3.0f%%", 100*b.BuyVolume/b.Volume, 100*b.SellVolume/b.Volume))
}
