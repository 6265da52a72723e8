package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/tickbeam/tickbeam"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

// The example's output: the last minute's total is the positions file's
// quantities at the last closes of the run's bars, some prices carry, and
// the alerts printed are the alerts written.
func TestExampleOutput(t *testing.T) {
	out := t.TempDir()
	var buf bytes.Buffer
	if err := run(here(), out, &buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("output:\n%s", buf.String())
	bs, err := readRows[tickbeam.Bar](out, "bars-")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readRows[tickbeam.PortfolioRow](out, "portfolio-")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := readRows[tickbeam.Alert](out, "alerts-")
	if err != nil {
		t.Fatal(err)
	}
	lastClose, lastEnd := map[string]float64{}, map[string]time.Time{}
	for _, b := range bs {
		if b.WindowEnd.After(lastEnd[b.Symbol]) {
			lastClose[b.Symbol], lastEnd[b.Symbol] = b.Close, b.WindowEnd
		}
	}
	var total tickbeam.PortfolioRow
	carried := 0
	for _, r := range rows {
		if r.Symbol == tickbeam.PortfolioTotal && r.WindowEnd.After(total.WindowEnd) {
			total = r
		}
		if r.Symbol != tickbeam.PortfolioTotal && r.PriceTime.Before(r.WindowEnd) {
			carried++
		}
	}
	want := 10*lastClose["AAPL"] + 5*lastClose["MSFT"] + 8*lastClose["NVDA"] + 4*lastClose["IBM"]
	if math.Abs(total.MarketValue-want) > 1e-9*want || total.Positions != 4 || total.CostValue != 10*150+5*400+8*120+4*180 {
		t.Errorf("last total %+v, want value %v of 4 positions at cost 5180", total, want)
	}
	if carried == 0 {
		t.Error("no carried price")
	}
	text := buf.String()
	line := fmt.Sprintf("%s %10.2f %+9.2f", total.WindowEnd.Format("15:04"), total.MarketValue, total.UnrealizedPnL)
	if !strings.Contains(text, line) || !strings.Contains(text, fmt.Sprintf("\n%d alerts\n", len(alerts))) {
		t.Errorf("output lacks %q or the alert count %d", line, len(alerts))
	}
	for _, a := range alerts {
		if a.Rule == "portfolio-drawdown" && (a.Symbol != "*USD" || a.Value < 0.3) {
			t.Errorf("drawdown alert %+v: want *USD at 0.3%% or more", a)
		}
		if !strings.Contains(text, a.Message) {
			t.Errorf("alert %q not printed", a.Message)
		}
	}
}
