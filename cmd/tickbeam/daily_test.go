package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/pipelines/daily"
)

// monitor archives a day (--raw_out) and makes its 1d bars on the XNYS
// calendar; daily over the archive reports the same day's figures, and
// --fail_on turns a failed check into exit 3.
func TestDailyOverMonitorArchive(t *testing.T) {
	dir := t.TempDir()
	raw, barsOut := filepath.Join(dir, "raw"), filepath.Join(dir, "bars")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"monitor",
		"--input=synthetic:?symbols=AAPL,MSFT&count=3000&rate=1&seed=4&paced=false&start=2026-01-15T14:30:00Z",
		"--bar=1m,1d", "--calendar=XNYS", "--raw_out=" + raw, "--bars_out=" + barsOut}, &stdout, &stderr); code != 0 {
		t.Fatalf("monitor: exit %d\n%s", code, stderr.String())
	}
	rows, quality := filepath.Join(dir, "rows"), filepath.Join(dir, "quality")
	args := []string{"daily", "--input=" + raw, "--calendar=XNYS", "--date=2026-01-15", "--report_out=" + dir,
		"--rows_out=" + rows, "--quality_out=" + quality}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), append(args, "--fail_on=duplicates,dead_letters"), &stdout, &stderr); code != 0 {
		t.Fatalf("daily: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	bars := map[string]tickbeam.Bar{}
	for _, b := range readRows[tickbeam.Bar](t, barsOut, "bars-1d") {
		bars[b.Symbol] = b
	}
	reports := readRows[daily.Report](t, rows, "daily_report")
	if len(reports) != 2 || len(bars) != 2 {
		t.Fatalf("%d reports and %d daily bars, want 2 of each", len(reports), len(bars))
	}
	for _, r := range reports {
		b := bars[r.Symbol]
		got := [7]float64{r.Open, r.High, r.Low, r.Close, r.Volume, r.VWAP, float64(r.Trades)}
		want := [7]float64{b.Open, b.High, b.Low, b.Close, b.Volume, b.VWAP, float64(b.Trades)}
		if got != want {
			t.Errorf("%s: report %v, monitor's 1d bar %v", r.Symbol, got, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "daily_report", "symbol="+r.Symbol, "date=2026-01-15.csv")); err != nil {
			t.Error(err)
		}
	}
	if n := len(readRows[daily.Quality](t, quality, "quality")); n != 2 {
		t.Errorf("%d quality rows, want 2", n)
	}
	// 1500 trades a symbol at 1 a second fill 25 minutes of a 390-minute
	// session: the rest is one long gap each.
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), append(args, "--fail_on=gaps"), &stdout, &stderr); code != exitQuality {
		t.Errorf("--fail_on=gaps: exit %d, want %d\n%s", code, exitQuality, stderr.String())
	}
	if !strings.Contains(stderr.String(), "quality checks failed: gaps (2 rows)") {
		t.Errorf("stderr %q does not name the failed check", stderr.String())
	}
}

func TestDailyFlagErrors(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"--fail_on=bogus", `unknown check "bogus"`},
		{"--date=2026-01-17", "XNYS does not trade that day"},
		{"--date=15/01/2026", "--date"},
		{"--calendar=MARS", "--calendar"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"daily", "--input=" + t.TempDir(), "--calendar=XNYS", "--date=2026-01-15", "--report_out=" + t.TempDir()}, strings.Fields(c.args)...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: stderr %q lacks %q", c.args, stderr.String(), c.want)
		}
	}
}
