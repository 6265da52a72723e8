package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickbeam/tickbeam"
)

// monitor --positions --portfolio_out writes a row per held position and a
// total per window; --positions alone is a flag error.
func TestMonitorPortfolioFlags(t *testing.T) {
	dir := t.TempDir()
	positions := filepath.Join(dir, "positions.csv")
	if err := os.WriteFile(positions, []byte("AAPL,10,150,USD\nMSFT,5,400,USD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	input := "--input=synthetic:?symbols=AAPL,MSFT&count=240&rate=2&seed=1&paced=false&start=2026-01-15T14:30:00Z"
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"monitor", input, "--bar=1m", "--bars_out=" + out, "--positions=" + positions,
		"--portfolio_out=" + out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	rows := readRows[tickbeam.PortfolioRow](t, out, "portfolio-")
	totals := 0
	for _, r := range rows {
		if r.Symbol == tickbeam.PortfolioTotal {
			totals++
		}
	}
	if len(rows) != 3*totals || totals != 2 { // 240 trades at 2/s: two minutes
		t.Errorf("%d rows with %d totals, want 2 windows of AAPL, MSFT and the total", len(rows), totals)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"monitor", input, "--bars_out=" + out, "--positions=" + positions}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "--positions and --portfolio_out go together") {
		t.Errorf("--positions alone: exit %d, %q", code, stderr.String())
	}
}
