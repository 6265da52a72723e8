package monitor

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/alerts"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/portfolio"
)

func writePositions(t *testing.T, path, csv string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bookRows values bs (the run's own bars) window by window in a Book with h:
// what the pipeline's portfolio rows must be.
func bookRows(t *testing.T, h portfolio.Holdings, bs []tickbeam.Bar) []tickbeam.PortfolioRow {
	t.Helper()
	byEnd := map[time.Time][]tickbeam.Bar{}
	for _, b := range bs {
		byEnd[b.WindowEnd] = append(byEnd[b.WindowEnd], b)
	}
	ends := make([]time.Time, 0, len(byEnd))
	for e := range byEnd {
		ends = append(ends, e)
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	book, err := portfolio.NewBook(nil)
	if err != nil {
		t.Fatal(err)
	}
	book.SetHoldings(h)
	var want []tickbeam.PortfolioRow
	for _, e := range ends {
		rows, err := book.Window(byEnd[e])
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rows...)
	}
	return want
}

var sortPortfolioRows = cmpopts.SortSlices(func(a, b tickbeam.PortfolioRow) bool {
	if !a.WindowEnd.Equal(b.WindowEnd) {
		return a.WindowEnd.Before(b.WindowEnd)
	}
	if a.Currency != b.Currency {
		return a.Currency < b.Currency
	}
	return a.Symbol < b.Symbol
})

// A batch run values the positions file on its own 1m bars: the rows are
// what a Book gives on those bars, AAA and BBB (one trade every 75 s each)
// carry their prices through the minutes without one, and ZZZ, never
// traded, is unpriced.
func TestPortfolioBatch(t *testing.T) {
	dir := t.TempDir()
	positions := filepath.Join(dir, "positions.csv")
	csv := "symbol,quantity,cost_basis,currency\nAAA,10,90,USD\nBBB,3,120,USD\nZZZ,5,1,USD\n"
	writePositions(t, positions, csv)
	out := filepath.Join(dir, "out")
	res, _ := bars.ParseResolutions("1m")
	p, s := beam.NewPipelineWithRoot()
	uri := "synthetic:?symbols=AAA,BBB,CCC&rate=0.04&seed=3&count=150&start=2026-01-15T14:30:00Z&paced=false"
	rules := filepath.Join(dir, "rules.yaml")
	writePositions(t, rules, "rules:\n  - name: any-value\n    kind: position_value\n    direction: above\n    threshold: 0.01\n    cooldown: 24h\n")
	if err := build(s, Config{Input: uri, Bars: res, BarsOut: out, Positions: positions, PortfolioOut: out, Rules: rules,
		AlertsOut: out}); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)

	h, err := portfolio.ParseCSV(positions, []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	bs := readRows[tickbeam.Bar](t, out, "bars-1m")
	got := readRows[tickbeam.PortfolioRow](t, out, "portfolio")
	want := bookRows(t, h, bs)
	if diff := cmp.Diff(want, got, sortPortfolioRows, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("portfolio rows (-book +pipeline):\n%s", diff)
	}
	closes := map[string]map[time.Time]float64{}
	for _, b := range bs {
		if closes[b.Symbol] == nil {
			closes[b.Symbol] = map[time.Time]float64{}
		}
		closes[b.Symbol][b.WindowEnd] = b.Close
	}
	// lastClose is sym's close in the latest bar ending at or before end.
	lastClose := func(sym string, end time.Time) float64 {
		var at time.Time
		for e := range closes[sym] {
			if !e.After(end) && e.After(at) {
				at = e
			}
		}
		return closes[sym][at]
	}
	carried := 0
	for _, r := range got {
		switch {
		case r.Symbol == tickbeam.PortfolioTotal:
			// 10 AAA + 3 BBB at their last closes; ZZZ is unpriced.
			v := 10*lastClose("AAA", r.WindowEnd) + 3*lastClose("BBB", r.WindowEnd)
			if math.Abs(r.MarketValue-v) > 1e-9*v || r.Unpriced != 1 || r.Positions != 2 {
				t.Errorf("total %+v, want value %v, 2 positions, 1 unpriced", r, v)
			}
		case r.PriceTime.Before(r.WindowEnd):
			carried++
		}
	}
	// The rule reads the rows: one alert per position and total, at its first row.
	first := map[string]time.Time{}
	for _, r := range got {
		sym := alerts.PortfolioSymbol(r)
		if f, ok := first[sym]; !ok || r.WindowEnd.Before(f) {
			first[sym] = r.WindowEnd
		}
	}
	fired := map[string]time.Time{}
	for _, a := range readRows[tickbeam.Alert](t, out, "alerts") {
		fired[a.Symbol] = a.EventTime
	}
	if diff := cmp.Diff(first, fired); diff != "" || len(fired) != 3 {
		t.Errorf("position_value alerts (-first rows +alerts):\n%s", diff)
	}
	if carried == 0 {
		t.Error("no carried price: the test wants minutes without a trade of a held symbol")
	}
}

func TestValidatePortfolio(t *testing.T) {
	res := []bars.Resolution{bars.Resolution(time.Minute)}
	ok := Config{Input: "a.jsonl", Format: "binance", Bars: res, BarsOut: t.TempDir(), Positions: "p.csv", PortfolioOut: t.TempDir()}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{ok, ""},
		{with(func(c *Config) { c.PortfolioOut = "" }), "--positions and --portfolio_out go together"},
		{with(func(c *Config) { c.Positions = "" }), "--positions and --portfolio_out go together"},
		{with(func(c *Config) { c.PositionsRefresh = -time.Second }), "--positions_refresh -1s: want >= 0"},
		{with(func(c *Config) { c.Positions = "bq:nodots" }), "--positions: "},
	} {
		err := c.cfg.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", c.cfg, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want prefix %q", c.cfg, err, c.want)
		}
	}
}

// The watcher emits holdings only when the file's content changes, and a
// broken file once as a dead letter, keeping the previous positions.
func TestWatchPositions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "positions.csv")
	writePositions(t, path, "AAA,10,90,USD\n")
	src, err := ParsePositions(path)
	if err != nil {
		t.Fatal(err)
	}
	initial, err := LoadHoldings(context.Background(), src, Config{}.BigQuery)
	if err != nil {
		t.Fatal(err)
	}
	fn := &watchPositionsFn{Source: src, Initial: initial.Version}
	fn.Setup()
	var got []string
	var dead []tickbeam.DeadLetter
	tick := func() {
		t.Helper()
		err := fn.ProcessElement(context.Background(), nil, func(h portfolio.Holdings) {
			got = append(got, h.Positions[0].Symbol)
		}, func(d tickbeam.DeadLetter) { dead = append(dead, d) })
		if err != nil {
			t.Fatal(err)
		}
	}
	tick() // unchanged: the initial holdings are in place already
	writePositions(t, path, "BBB,1,1,USD\n")
	tick()
	tick()
	writePositions(t, path, "BBB,1,1,USD\nCCC,-1,1,USD\n")
	tick()
	tick()
	writePositions(t, path, "CCC,2,1,USD\n")
	tick()
	if diff := cmp.Diff([]string{"BBB", "CCC"}, got); diff != "" {
		t.Errorf("emitted holdings (-want +got):\n%s", diff)
	}
	if len(dead) != 1 || dead[0].Stage != tickbeam.StageParse || !strings.Contains(dead[0].ErrorMessage, "quantity -1") {
		t.Errorf("dead letters %+v, want one parse error naming quantity -1", dead)
	}
}

// A stream re-reads the positions file: the windows valued after a change
// use the new quantity. The paced feed runs 12 s of wall time.
func TestPortfolioStreamRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("12 s paced feed")
	}
	dir := t.TempDir()
	positions := filepath.Join(dir, "positions.csv")
	writePositions(t, positions, "AAA,10,90,USD\n")
	out := filepath.Join(dir, "out")
	res, _ := bars.ParseResolutions("1s")
	cfg := Config{Input: "synthetic:?symbols=AAA&rate=20&seed=3&paced=true", Bars: res, BarsOut: out, Positions: positions,
		PortfolioOut: out, PositionsRefresh: 500 * time.Millisecond, Duration: 12 * time.Second}
	p, s := beam.NewPipelineWithRoot()
	if err := build(s, cfg); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(5 * time.Second)
		writePositions(t, positions, "AAA,20,90,USD\n")
	}()
	start := time.Now()
	if _, err := runners.Run(context.Background(), p, runners.Options{Duration: cfg.Duration + 30*time.Second}); err != nil {
		t.Fatal(err)
	}
	<-done
	t.Logf("run took %s", time.Since(start).Round(time.Millisecond))
	rows := readRows[tickbeam.PortfolioRow](t, out, "portfolio")
	sort.Slice(rows, func(i, j int) bool { return rows[i].WindowEnd.Before(rows[j].WindowEnd) })
	var qty []float64
	for _, r := range rows {
		if r.Symbol != "AAA" {
			continue
		}
		if len(qty) == 0 || qty[len(qty)-1] != r.Quantity {
			qty = append(qty, r.Quantity)
		}
		if math.Abs(r.MarketValue-r.Quantity*r.Price) > 1e-9*r.MarketValue {
			t.Errorf("row %+v: value is not quantity × price", r)
		}
	}
	if diff := cmp.Diff([]float64{10, 20}, qty); diff != "" {
		t.Errorf("AAA quantities over the run (-want +got):\n%s", diff)
	}
}
