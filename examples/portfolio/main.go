// Portfolio rebuilds seed 000's near-real-time portfolio monitor with
// tickbeam: the positions in positions.csv valued on 1-minute bars of a
// synthetic US-stock feed (one trading hour), with each position's value,
// P&L and weight, the portfolio's value, return and drawdown, and the
// alerts of rules.yaml:
//
//	go run ./examples/portfolio [--out=portfolio-out]
//
// The same with the CLI (rows in portfolio-*.jsonl, alerts in alerts-*):
//
//	go run ./cmd/tickbeam monitor --input='synthetic:?symbols=AAPL,MSFT,NVDA,IBM&count=180&rate=0.05&seed=0&paced=false&start=2026-01-15T14:30:00Z' \
//	  --bar=1m --calendar=XNYS --bars_out=out/ --positions=examples/portfolio/positions.csv --portfolio_out=out/ \
//	  --rules=examples/portfolio/rules.yaml --alerts_out=out/ --notify=false
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// Feed is the synthetic feed: four stocks, one trade each every 80 s for an
// hour from the NYSE open, so some minutes have no trade of a symbol and its
// price carries.
const Feed = "synthetic:?symbols=AAPL,MSFT,NVDA,IBM&count=180&rate=0.05&seed=0&paced=false&start=2026-01-15T14:30:00Z"

func main() {
	out := flag.String("out", "portfolio-out", "directory receiving bars, portfolio rows and alerts")
	flag.Parse()
	beam.Init()
	if err := run(here(), *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portfolio:", err)
		os.Exit(1)
	}
}

// here is this example's directory, which holds positions.csv and rules.yaml.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

func run(dir, out string, w io.Writer) error {
	res, err := bars.ParseResolutions("1m")
	if err != nil {
		return err
	}
	cfg := monitor.Config{
		Input:        Feed,
		Bars:         res,
		BarsOut:      out,
		Calendar:     "XNYS",
		Positions:    filepath.Join(dir, "positions.csv"),
		PortfolioOut: out,
		Rules:        filepath.Join(dir, "rules.yaml"),
		AlertsOut:    out,
		Shards:       1,
	}
	plan, err := cfg.Resolve(runners.Local)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := monitor.Build(s, plan); err != nil {
		return err
	}
	beamlog.SetupLogging("warn", "text")
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		return err
	}
	rows, err := readRows[tickbeam.PortfolioRow](out, "portfolio-")
	if err != nil {
		return err
	}
	alerts, err := readRows[tickbeam.Alert](out, "alerts-")
	if err != nil {
		return err
	}
	report(w, rows, alerts)
	return nil
}

// report prints the portfolio minute by minute, the last minute's positions
// and the alerts.
func report(w io.Writer, rows []tickbeam.PortfolioRow, alerts []tickbeam.Alert) {
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].WindowEnd.Equal(rows[j].WindowEnd) {
			return rows[i].WindowEnd.Before(rows[j].WindowEnd)
		}
		return rows[i].Symbol < rows[j].Symbol
	})
	fmt.Fprintf(w, "%-5s %10s %9s %8s %8s %8s\n", "time", "value", "P&L", "return%", "drawdn%", "maxdd%")
	var last []tickbeam.PortfolioRow
	for _, r := range rows {
		if len(last) > 0 && !last[0].WindowEnd.Equal(r.WindowEnd) {
			last = last[:0]
		}
		last = append(last, r)
		if r.Symbol == tickbeam.PortfolioTotal {
			fmt.Fprintf(w, "%s %10.2f %+9.2f %+8.3f %8.3f %8.3f\n", r.WindowEnd.Format("15:04"), r.MarketValue, r.UnrealizedPnL,
				r.PeriodReturnPct, r.DrawdownPct, r.MaxDrawdownPct)
		}
	}
	if len(last) > 0 {
		fmt.Fprintf(w, "\npositions at %s\n%-5s %5s %8s %8s %9s %9s %7s\n", last[0].WindowEnd.Format("15:04"),
			"symbol", "qty", "cost", "price", "value", "P&L", "weight%")
		for _, r := range last {
			if r.Symbol != tickbeam.PortfolioTotal {
				fmt.Fprintf(w, "%-6s %5g %8.2f %8.2f %9.2f %+9.2f %7.2f\n", r.Symbol, r.Quantity, r.CostBasis, r.Price, r.MarketValue,
					r.UnrealizedPnL, r.WeightPct)
			}
		}
	}
	sort.Slice(alerts, func(i, j int) bool {
		if !alerts[i].EventTime.Equal(alerts[j].EventTime) {
			return alerts[i].EventTime.Before(alerts[j].EventTime)
		}
		return alerts[i].AlertID < alerts[j].AlertID
	})
	fmt.Fprintf(w, "\n%d alerts\n", len(alerts))
	for _, a := range alerts {
		fmt.Fprintf(w, "%s %-8s %s\n", a.EventTime.Format("15:04"), a.Severity, a.Message)
	}
}

// readRows decodes the JSON lines of the files in dir named prefix*.jsonl.
func readRows[T any](dir, prefix string) ([]T, error) {
	files, err := filepath.Glob(filepath.Join(dir, prefix+"*.jsonl"))
	if err != nil {
		return nil, err
	}
	var rows []T
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				fh.Close()
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			rows = append(rows, r)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return rows, nil
}
