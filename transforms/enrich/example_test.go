package enrich_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/enrich"
)

func init() {
	register.Function2x0(stamp)
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	register.Function1x0(collect)
}

// stamp timestamps a tick with its event time, as tickbeam's sources do.
func stamp(t tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	emit(mtime.FromTime(t.EventTime), t)
}

// The example collects rows in memory: prism runs the DoFns in this process.
var (
	mu      sync.Mutex
	printed []string
)

func collect(r tickbeam.PriceChange) {
	mu.Lock()
	defer mu.Unlock()
	printed = append(printed, fmt.Sprintf("%s %s %s %g: prev %g %s, change %+g (%+g%%) %s",
		r.EventTime.Format("01-02 15:04"), r.SessionDate, r.Symbol, r.Price, r.PrevClose, r.PrevCloseSource, r.Change, r.ChangePct, r.Flag))
}

// The three sources under the default priority, on XNYS (regular session
// 14:30Z–21:00Z in January). AAPL's last regular trade on Thursday makes
// Friday's LAST_CLOSE; MSFT has a reference; the TradingView quote of NVDA
// carries its previous close. Thursday's AAPL trade has no previous close in
// the run.
func ExamplePrevClose() {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	ticks := []tickbeam.Tick{
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: at("2026-01-15T20:59:00Z"), Price: 200, Size: 10, TradeID: "1"},
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: at("2026-01-16T15:00:00Z"), Price: 210, Size: 10, TradeID: "2"},
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: at("2026-01-16T15:01:00Z"), Price: 211, Size: 10, TradeID: "3"},
		{Symbol: "MSFT", Kind: tickbeam.Trade, EventTime: at("2026-01-16T15:00:00Z"), Price: 378, Size: 5, TradeID: "4"},
		{Symbol: "NVDA", Kind: tickbeam.Quote, EventTime: at("2026-01-16T15:00:00Z"), Price: 189, PrevClose: 180},
	}

	p, s := beam.NewPipelineWithRoot()
	in := beam.ParDo(s, stamp, beam.CreateList(s, ticks))
	// Also enrich.ParseReferenceCSV of lines.Read(s, "gs://bucket/ref/*.csv"),
	// or beam.CreateList of enrich.CheckReferences of a BigQuery query's rows.
	refs := beam.CreateList(s, []enrich.Reference{{Symbol: "MSFT", Date: "2026-01-16", PrevClose: 400}})
	rows := enrich.PrevClose(s, in, enrich.Options{References: refs, FlagThreshold: 5})
	beam.ParDo0(s, collect, rows)
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	sort.Strings(printed)
	fmt.Println(strings.Join(printed, "\n"))
	// Output:
	// 01-15 20:59 2026-01-15 AAPL 200: prev 0 NONE, change +0 (+0%) NEUTRAL
	// 01-16 15:00 2026-01-16 AAPL 210: prev 200 LAST_CLOSE, change +10 (+5%) NEUTRAL
	// 01-16 15:00 2026-01-16 MSFT 378: prev 400 REFERENCE, change -22 (-5.5%) NEGATIVE
	// 01-16 15:00 2026-01-16 NVDA 189: prev 180 FEED, change +9 (+5%) NEUTRAL
	// 01-16 15:01 2026-01-16 AAPL 211: prev 200 LAST_CLOSE, change +11 (+5.5%) POSITIVE
}

// Exactly ±X% is NEUTRAL: the flag needs a move strictly beyond it.
func ExampleFlag() {
	for _, pct := range []float64{5, 5.5, -5, -5.01, 0} {
		fmt.Printf("%+g%%: %s\n", pct, enrich.Flag(pct, 5))
	}
	// Output:
	// +5%: NEUTRAL
	// +5.5%: POSITIVE
	// -5%: NEUTRAL
	// -5.01%: NEGATIVE
	// +0%: NEUTRAL
}

// Split ratios are new shares per old share.
func ExampleParseRatio() {
	for _, s := range []string{"2", "3:2", "1/10", "2:0"} {
		r, err := enrich.ParseRatio(s)
		fmt.Println(s, r, err)
	}
	// Output:
	// 2 2 <nil>
	// 3:2 1.5 <nil>
	// 1/10 0.1 <nil>
	// 2:0 0 ratio "2:0": want new:old with positive numbers
}
