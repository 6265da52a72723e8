package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
)

// liveInputHelp lists the live inputs in -h.
const liveInputHelp = "; live: binance:?symbols=BTCUSDT,ETHUSDT, coinbase:?products=BTC-USD, alpaca:?symbols=AAPL&feed=iex|sip, " +
	"alpaca:crypto?symbols=BTC/USD, kis:?symbols=005930, tradingview:?symbols=BINANCE:SOLUSDT, " +
	"alphavantage:?symbols=IBM&interval=1min&every=60s (credentials from the environment; &endpoint= overrides the URL)"

// defaultLiveOut is where a live monitor writes when --bars_out is not given.
const defaultLiveOut = "tickbeam-live-out"

// liveDefaults lets a live monitor run with no output flag: bars go to
// defaultLiveOut and print as their windows close.
func liveDefaults(cfg *monitor.Config) {
	if cfg.Live() && cfg.BarsOut == "" {
		cfg.BarsOut = defaultLiveOut
	}
}

// startLive connects a live input before the pipeline starts, so a refused
// connection is one line and exit 1 (the local runner's DoFn then reads
// this connection), and prints bars as files appear when --bars_out is a
// local directory. stop ends both.
func startLive(ctx context.Context, plan monitor.Plan, stdout, stderr io.Writer) (stop func(), code int) {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "tickbeam monitor: "+format+"\n", args...) }
	release, err := live.Preflight(ctx, plan.Input.URI, live.Options{Logf: logf}, 30*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam monitor: %v\n", err)
		return nil, 1
	}
	dir := plan.Outputs.Bars.URI
	if plan.Outputs.Bars.Kind != endpoint.FileOutput || plan.Outputs.Bars.Remote() {
		return release, 0
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "tickbeam monitor: --bars_out: %v\n", err)
		release()
		return nil, 1
	}
	fmt.Fprintf(stdout, "tickbeam monitor: live %s; bars print as their windows close and stay in %s/\n", plan.Input.URI, dir)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); printBars(stdout, dir, done) }()
	return func() { close(done); wg.Wait(); release() }, 0
}

// printBars prints the rows of bar files that appear in dir, each file once,
// until done closes (then once more, for the last windows).
func printBars(w io.Writer, dir string, done <-chan struct{}) {
	seen := map[string]bool{}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		printNewBars(w, dir, seen)
		select {
		case <-done:
			printNewBars(w, dir, seen)
			return
		case <-t.C:
		}
	}
}

func printNewBars(w io.Writer, dir string, seen map[string]bool) {
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
			fmt.Fprintf(w, "%s %-3s %s  O %g H %g L %g C %g  V %g  VWAP %.6g  trades %d\n", b.WindowStart.Format("15:04:05"),
				b.Resolution, b.Symbol, b.Open, b.High, b.Low, b.Close, b.Volume, b.VWAP, b.Trades)
		}
	}
}
