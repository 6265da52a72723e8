package portfolio_test

import (
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/portfolio"
)

func init() {
	register.Function2x0(stampBar)
	register.Emitter2[beam.EventTime, tickbeam.Bar]()
}

// stampBar timestamps a bar as bars.Compute does: its window's end less 1 ms.
func stampBar(b tickbeam.Bar, emit func(beam.EventTime, tickbeam.Bar)) {
	emit(mtime.FromTime(b.WindowEnd).Subtract(1), b)
}

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func bar(sym, start string, close float64, timing tickbeam.Timing, pane int64) tickbeam.Bar {
	t := at(start)
	return tickbeam.Bar{Symbol: sym, Resolution: "1m", WindowStart: t, WindowEnd: t.Add(time.Minute), Close: close, Timing: timing, PaneIndex: pane}
}

// Compute gives the rows a Book gives when fed the same windows in order,
// whatever order the bars arrive in: panes collapse to the newest (EARLY
// ones are ignored) and windows are valued in event-time order.
func TestComputeMatchesBook(t *testing.T) {
	h, err := portfolio.ParseCSV("p.csv", []byte("AAPL,10,150,USD\nAAPL,20,75,USD,2026-01-16,2\nMSFT,5,400,USD\nBTC,0.5,40000,USDT\n"))
	if err != nil {
		t.Fatal(err)
	}
	windows := [][]tickbeam.Bar{
		{bar("AAPL", "2026-01-15T10:00:00Z", 200, tickbeam.OnTime, 0), bar("MSFT", "2026-01-15T10:00:00Z", 420, tickbeam.OnTime, 0)},
		{bar("AAPL", "2026-01-15T10:01:00Z", 190, tickbeam.Late, 1), bar("BTC", "2026-01-15T10:01:00Z", 42000, tickbeam.OnTime, 0)},
		{bar("ETH", "2026-01-15T10:02:00Z", 3000, tickbeam.OnTime, 0)},
		{bar("AAPL", "2026-01-16T00:05:00Z", 101, tickbeam.OnTime, 0), bar("MSFT", "2026-01-16T00:05:00Z", 410, tickbeam.OnTime, 0)},
	}
	book, err := portfolio.NewBook(nil)
	if err != nil {
		t.Fatal(err)
	}
	book.SetHoldings(h)
	var want []tickbeam.PortfolioRow
	var in []tickbeam.Bar
	for _, w := range windows {
		rows, err := book.Window(w)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rows...)
		in = append(in, w...)
	}
	if len(want) != 14 { // 4 (BTC unpriced), 5, none (ETH is not held), 5
		t.Fatalf("the Book gave %d rows, want 14", len(want))
	}
	// Newest first, with an older pane and an EARLY pane of AAPL's second
	// window that must not count.
	for i, j := 0, len(in)-1; i < j; i, j = i+1, j-1 {
		in[i], in[j] = in[j], in[i]
	}
	in = append(in, bar("AAPL", "2026-01-15T10:01:00Z", 999, tickbeam.OnTime, 0), bar("AAPL", "2026-01-15T10:01:00Z", 555, tickbeam.Early, 0))

	p, s := beam.NewPipelineWithRoot()
	res, _ := bars.ParseResolution("1m")
	barCol := beam.ParDo(s, stampBar, beam.CreateList(s, in))
	rows := portfolio.Compute(s, barCol, beam.Create(s, h), portfolio.Options{Resolution: res})
	beamtest.Equals(s, rows, want)
	r, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"rows": 14, "windows": 3, "unpriced_count": 1, "holdings": 1, "late_bars": 0} {
		if got := beamtest.Counter(t, r, "tickbeam/portfolio", name); got != want {
			t.Errorf("counter %s = %d, want %d", name, got, want)
		}
	}
}

func TestComputeWithoutHoldingsEmitsNothing(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	res, _ := bars.ParseResolution("1m")
	barCol := beam.ParDo(s, stampBar, beam.Create(s, bar("AAPL", "2026-01-15T10:00:00Z", 200, tickbeam.OnTime, 0)))
	rows := portfolio.Compute(s, barCol, beam.CreateList(s, []portfolio.Holdings{}), portfolio.Options{Resolution: res})
	beamtest.Equals(s, rows, []tickbeam.PortfolioRow{})
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}
