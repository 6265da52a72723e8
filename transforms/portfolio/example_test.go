package portfolio_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/portfolio"
)

func init() {
	register.Function2x0(stampTick)
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	register.Function1x0(collect)
}

// stampTick timestamps a tick with its event time, as tickbeam's sources do.
func stampTick(t tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	emit(mtime.FromTime(t.EventTime), t)
}

// The example collects rows in memory: prism runs the DoFns in this process.
var (
	mu      sync.Mutex
	printed []string
)

func collect(r tickbeam.PortfolioRow) {
	mu.Lock()
	defer mu.Unlock()
	printed = append(printed, fmt.Sprintf("%s %-4s price %g value %g P&L %+g weight %.1f%% period %+.2f%% drawdown %.2f%%",
		r.WindowEnd.Format("15:04"), r.Symbol, r.Price, r.MarketValue, r.UnrealizedPnL, r.WeightPct, r.PeriodReturnPct, r.DrawdownPct))
}

// Ten AAPL bought at 150 and five MSFT at 400, valued on 1-minute bars of
// their trades. MSFT does not trade in the second minute: its price carries,
// and AAPL's fall is the portfolio's return and drawdown (row "*").
func ExampleCompute() {
	positions, err := portfolio.ParseCSV("positions.csv", []byte("symbol,quantity,cost_basis,currency\nAAPL,10,150,USD\nMSFT,5,400,USD\n"))
	if err != nil {
		log.Fatal(err)
	}
	trades := []tickbeam.Tick{
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: at("2026-01-15T14:30:05Z"), Price: 200, Size: 3},
		{Symbol: "MSFT", Kind: tickbeam.Trade, EventTime: at("2026-01-15T14:30:10Z"), Price: 420, Size: 1},
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: at("2026-01-15T14:31:02Z"), Price: 190, Size: 2},
	}

	p, s := beam.NewPipelineWithRoot()
	ticks := beam.ParDo(s, stampTick, beam.CreateList(s, trades))
	res, _ := bars.ParseResolutions("1m")
	oneMinute := bars.Compute(s, ticks, bars.Options{Resolutions: res})[res[0]]
	rows := portfolio.Compute(s, oneMinute, beam.Create(s, positions), portfolio.Options{Resolution: res[0]})
	beam.ParDo0(s, collect, rows)
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	sort.Strings(printed)
	fmt.Println(strings.Join(printed, "\n"))
	// Output:
	// 14:31 *    price 0 value 4100 P&L +600 weight 100.0% period +0.00% drawdown 0.00%
	// 14:31 AAPL price 200 value 2000 P&L +500 weight 48.8% period +0.00% drawdown 0.00%
	// 14:31 MSFT price 420 value 2100 P&L +100 weight 51.2% period +0.00% drawdown 0.00%
	// 14:32 *    price 0 value 4000 P&L +500 weight 100.0% period -2.44% drawdown 2.44%
	// 14:32 AAPL price 190 value 1900 P&L +400 weight 47.5% period -5.00% drawdown 5.00%
	// 14:32 MSFT price 420 value 2100 P&L +100 weight 52.5% period +0.00% drawdown 0.00%
}
