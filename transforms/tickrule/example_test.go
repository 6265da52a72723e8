package tickrule_test

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
	"github.com/tickbeam/tickbeam/transforms/tickrule"
)

// The tick test on its own: uptick buy, downtick sell, a zero tick repeats
// the last direction, and the first trade is unknown.
func ExampleClassifier() {
	var c tickrule.Classifier
	for _, p := range []float64{100, 100.5, 100.5, 100.25, 100.25, 100.75} {
		fmt.Print(c.Next(p), " ")
	}
	fmt.Println()
	// Output: UNKNOWN BUY BUY SELL SELL BUY
}

func init() {
	register.Function2x0(stamp)
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	register.Function1x0(collect)
}

// stamp timestamps a tick with its event time, as tickbeam's sources do.
func stamp(t tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	emit(mtime.FromTime(t.EventTime), t)
}

// The example collects ticks in memory: prism runs the DoFns in this process.
var (
	mu      sync.Mutex
	printed []string
)

func collect(t tickbeam.Tick) {
	mu.Lock()
	defer mu.Unlock()
	printed = append(printed, fmt.Sprintf("%s %s %g %s", t.EventTime.Format("15:04:05"), t.Symbol, t.Price, t.Side))
}

// Alpaca trades carry no side. Classify orders each symbol's trades by event
// time, whatever the order they arrive in, and infers the sides.
func ExampleClassify() {
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	trade := func(sec int, id string, price float64) tickbeam.Tick {
		return tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: t0.Add(time.Duration(sec) * time.Second),
			TradeID: id, Price: price, Size: 10, Side: tickbeam.Unknown, Source: "alpaca"}
	}
	in := []tickbeam.Tick{trade(3, "3", 229.95), trade(1, "1", 230), trade(2, "2", 230.05), trade(4, "4", 229.95)}

	p, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s, collect, tickrule.Classify(s, beam.ParDo(s, stamp, beam.CreateList(s, in))))
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	sort.Strings(printed)
	fmt.Println(strings.Join(printed, "\n"))
	// Output:
	// 14:30:01 AAPL 230 UNKNOWN
	// 14:30:02 AAPL 230.05 BUY
	// 14:30:03 AAPL 229.95 SELL
	// 14:30:04 AAPL 229.95 SELL
}
