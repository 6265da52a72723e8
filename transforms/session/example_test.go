package session_test

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
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/transforms/session"
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

func collect(r tickbeam.SessionStats) {
	kst := time.FixedZone("KST", 9*3600)
	mu.Lock()
	defer mu.Unlock()
	printed = append(printed, fmt.Sprintf("%s %s as of %s KST: volume %g notional %g vwap %g strength %g pressure %g",
		r.Symbol, r.SessionDate, r.AsOf.In(kst).Format("15:04"), r.CumVolume, r.CumNotional, r.SessionVWAP, r.TradeStrength, r.BuyPressure))
}

// Samsung Electronics on the Korea Exchange, with KIS sides: the running day
// totals per minute. The first trade is in the pre-market session (08:30
// KST, 23:30Z the UTC day before), so the 2026-01-15 day starts there; the
// 09:01 row adds the opening trades to it.
func ExampleStats() {
	xkrx, err := calendar.Lookup("XKRX")
	if err != nil {
		log.Fatal(err)
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	trades := []tickbeam.Tick{
		{Symbol: "005930", Kind: tickbeam.Trade, EventTime: at("2026-01-14T23:30:10Z"), Price: 71000, Size: 5, Side: tickbeam.Buy},
		{Symbol: "005930", Kind: tickbeam.Trade, EventTime: at("2026-01-15T00:00:01Z"), Price: 71200, Size: 10, Side: tickbeam.Buy},
		{Symbol: "005930", Kind: tickbeam.Trade, EventTime: at("2026-01-15T00:00:30Z"), Price: 71300, Size: 10, Side: tickbeam.Sell},
	}

	p, s := beam.NewPipelineWithRoot()
	ticks := beam.ParDo(s, stamp, beam.CreateList(s, trades))
	rows := session.Stats(s, ticks, session.Options{Calendar: xkrx, Resolution: time.Minute})
	beam.ParDo0(s, collect, rows)
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	sort.Strings(printed)
	fmt.Println(strings.Join(printed, "\n"))
	// Output:
	// 005930 2026-01-15 as of 08:31 KST: volume 5 notional 355000 vwap 71000 strength 0 pressure 1
	// 005930 2026-01-15 as of 09:01 KST: volume 25 notional 1.78e+06 vwap 71200 strength 150 pressure 0.6
}
