package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// soak streams the paced synthetic feed through the monitor pipeline on
// prism in this process for --duration and samples the Go heap (after a
// GC) every --every: a pipeline whose state grows without bound shows a
// rising line once the warm-up is over.
func soak(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	dur := fs.Duration("duration", 10*time.Minute, "how long to stream")
	nsym := fs.Int("symbols", 500, "symbols in the feed")
	rate := fs.Int("rate", 1000, "ticks per second, all symbols together")
	every := fs.Duration("every", 30*time.Second, "heap sample interval")
	warmup := fs.Duration("warmup", 2*time.Minute, "samples before this are warm-up")
	bar := fs.String("bar", "1s,1m", "bar resolutions")
	ind := fs.String("indicators", "sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2", "indicators on the first resolution")
	out := fs.String("out", os.TempDir()+"/tickbeam-soak", "output directory (bars, session stats, indicators)")
	memProfile := fs.String("memprofile", "", "write a heap profile here at every sample (the last one stays)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run here (go tool pprof)")
	dedupeWindow := fs.Duration("dedupe_window", 0, "the monitor's --dedupe_window (0: its default)")
	withAlerts := fs.Bool("alerts", false, "also run rules (price_cross per symbol, change_pct, outlier, stale_feed) notifying a webhook served here, and --changes_out")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := bars.ParseResolutions(*bar)
	if err != nil {
		return fmt.Errorf("--bar: %w", err)
	}
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	syms := make([]string, *nsym)
	for i := range syms {
		syms[i] = fmt.Sprintf("S%03d", i)
	}
	cfg := monitor.Config{
		DedupeWindow: *dedupeWindow,
		Input:        fmt.Sprintf("synthetic:?symbols=%s&rate=%d&seed=1", strings.Join(syms, ","), *rate),
		Bars:         res,
		BarsOut:      *out, SessionOut: *out, Indicators: *ind, IndicatorsOut: *out,
		Duration: *dur,
	}
	var posts atomic.Int64
	var alertLag atomic.Int64 // ns from the last alert's tick to its arrival: a pipeline falling behind shows it growing
	if *withAlerts {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var a tickbeam.Alert
			if json.NewDecoder(r.Body).Decode(&a) == nil {
				alertLag.Store(int64(time.Since(a.EventTime)))
			}
			posts.Add(1)
		}))
		defer srv.Close()
		path, err := writeSoakRules(*out, syms, srv.URL)
		if err != nil {
			return err
		}
		cfg.Rules, cfg.AlertsOut, cfg.Notify, cfg.ChangesOut = path, *out, true, *out
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
	type sample struct {
		at   time.Duration
		heap uint64
	}
	var samples []sample
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(*every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if *memProfile != "" {
					writeHeapProfile(*memProfile)
				}
				smp := sample{time.Since(start).Round(time.Second), m.HeapInuse}
				samples = append(samples, smp)
				lag := ""
				if *withAlerts {
					lag = fmt.Sprintf(", last alert %s after its tick", time.Duration(alertLag.Load()).Round(time.Millisecond))
				}
				fmt.Printf("soak: %8s heap in use %7.1f MiB, goroutines %d%s\n", smp.at, float64(smp.heap)/(1<<20), runtime.NumGoroutine(), lag)
			}
		}
	}()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res2, err := runners.Run(context.Background(), p, runners.Options{Duration: *dur, StopOnSignal: true})
	close(done)
	if err != nil {
		return err
	}
	var ticks int64
	for _, c := range res2.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == "tickbeam/synthetic" && c.Key.Name == "ticks" {
			ticks += c.Committed
		}
	}
	// Least-squares slope of the heap after warm-up, in MiB per minute.
	var n, sx, sy, sxx, sxy, lo, hi float64
	lo = 1e18
	for _, smp := range samples {
		if smp.at < *warmup {
			continue
		}
		x, y := smp.at.Minutes(), float64(smp.heap)/(1<<20)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
		lo, hi = min(lo, y), max(hi, y)
	}
	fmt.Printf("soak: %d symbols, %d ticks in %s (%.0f ticks/s), --bar=%s, --indicators=%s\n",
		*nsym, ticks, time.Since(start).Round(time.Second), float64(ticks)/time.Since(start).Seconds(), *bar, *ind)
	if *withAlerts {
		fmt.Printf("soak: rules on, %d alerts delivered to the webhook, price changes to %s\n", posts.Load(), *out)
	}
	if n < 2 {
		return fmt.Errorf("only %v samples after the %s warm-up: run longer", n, *warmup)
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	fmt.Printf("soak: heap after warm-up %.1f..%.1f MiB over %v samples, slope %+.2f MiB/min\n", lo, hi, n, slope)
	return nil
}

// writeSoakRules writes a rules file into dir: two price_cross rules per
// symbol 0.05% around its first price (seed 1 starts the same whatever the
// start time), and change_pct, outlier and stale_feed over every symbol,
// all notifying url.
func writeSoakRules(dir string, syms []string, url string) (string, error) {
	g, err := synthetic.NewGenerator(synthetic.Config{Symbols: syms, Rate: 1, Seed: 1, Count: int64(len(syms)), Start: time.Unix(0, 0)})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "notifiers:\n  webhooks:\n    - name: soak\n      url: %s\nrules:\n", url)
	fmt.Fprintf(&b, "  - {name: move-1pct, kind: change_pct, symbols: [\"*\"], threshold: 1, band: 0.2, severity: WARNING, notify: [soak]}\n")
	fmt.Fprintf(&b, "  - {name: outliers, kind: outlier, symbols: [\"*\"], sigma: 8, pct: 3, severity: WARNING, notify: [soak]}\n")
	fmt.Fprintf(&b, "  - {name: fresh, kind: stale_feed, symbols: [\"*\"], max_silence: 30s, severity: WARNING, notify: [soak]}\n")
	for {
		t, ok := g.Next()
		if !ok {
			break
		}
		for _, d := range []struct {
			name string
			f    float64
		}{{"above", 1.0005}, {"below", 0.9995}} {
			fmt.Fprintf(&b, "  - {name: cross-%s-%s, kind: price_cross, symbols: [%q], input: ticks, direction: %s, threshold: %g, band: %g, severity: INFO, notify: [soak]}\n",
				strings.ToLower(t.Symbol), d.name, t.Symbol, d.name, t.Price*d.f, t.Price*0.0002)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "soak-rules.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: --memprofile:", err)
		return
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "soak: --memprofile:", err)
	}
}
