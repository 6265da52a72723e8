package tickbeamtest_test

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam/tickbeamtest"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// One-minute bars of a stream in which a trade arrives after the watermark
// passed its minute: the runner drops it (no allowed lateness), so the
// bars are those of the other trades.
func Example() {
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	onTime := tickbeamtest.Trades("BTCUSDT", t0, 15*time.Second, 100, 101, 99, 100.5, 102)
	late := tickbeamtest.Trade("BTCUSDT", t0.Add(30*time.Second), 150, 1)

	p, s := beam.NewPipelineWithRoot()
	ticks := tickbeamtest.NewStream().
		Add(onTime...).
		AdvanceWatermark(t0.Add(90 * time.Second)).
		Add(late).
		Create(s)
	got := bars.Compute(s, ticks, bars.Options{Resolutions: []bars.Resolution{bars.Resolution(time.Minute)}})[bars.Resolution(time.Minute)]
	want := tickbeamtest.BarsOf(time.Minute, onTime...)
	tickbeamtest.AssertBars(s, got, want...)
	if err := ptest.Run(p); err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range want {
		fmt.Println(b.WindowStart.Format("15:04"), b.Open, b.High, b.Low, b.Close, b.Trades)
	}
	// Output:
	// 14:30 100 101 99 100.5 4
	// 14:31 102 102 102 102 1
}
