package indicators_test

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
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

// One Set per symbol, fed that symbol's bars in event-time order; each bar
// yields the values that are ready (one IndicatorValue row each) and any
// crossover. On bar 7 the two averages touch (both 10), which is not a cross.
func ExampleSet() {
	specs, err := indicators.ParseSpecs("sma:3,ema:3,rsi:3,bb:3:2,vwapdist")
	if err != nil {
		panic(err)
	}
	crosses, err := indicators.ParseCrossovers("sma:2/sma:3")
	if err != nil {
		panic(err)
	}
	set, err := indicators.NewSet(specs, crosses...)
	if err != nil {
		panic(err)
	}
	bars := []struct{ close, vwap float64 }{
		{10, 10}, {11, 10.5}, {12, 11.5}, {11, 11.2}, {10, 10.4}, {9, 9.5}, {11, 10}, {12, 11.5},
	}
	for i, b := range bars {
		values, events, err := set.Update(b.close, b.vwap)
		if err != nil {
			panic(err)
		}
		var cols []string
		for _, r := range values {
			switch r.Indicator {
			case "bb_3_2":
				cols = append(cols, fmt.Sprintf("%s=%.2f[%.2f,%.2f]", r.Indicator, r.Value.Value, r.Value.Lower, r.Value.Upper))
			default:
				cols = append(cols, fmt.Sprintf("%s=%.2f", r.Indicator, r.Value.Value))
			}
		}
		for _, e := range events {
			cols = append(cols, fmt.Sprintf("%s:%s", e.Crossover, e.Cross))
		}
		fmt.Printf("bar %d: %s\n", i+1, strings.Join(cols, " "))
	}

	// Persist the Set between bars (e.g. in a stateful DoFn's state).
	state, _ := set.MarshalBinary()
	var restored indicators.Set
	if err := restored.UnmarshalBinary(state); err != nil {
		panic(err)
	}
	fmt.Println(len(restored.Specs()), "indicators restored")

	// Output:
	// bar 1: vwap_distance=0.00
	// bar 2: vwap_distance=4.76
	// bar 3: sma_3=11.00 ema_3=11.00 bb_3_2=11.00[9.37,12.63] vwap_distance=4.35
	// bar 4: sma_3=11.33 ema_3=11.00 rsi_3=66.67 bb_3_2=11.33[10.39,12.28] vwap_distance=-1.79
	// bar 5: sma_3=11.00 ema_3=10.50 rsi_3=44.44 bb_3_2=11.00[9.37,12.63] vwap_distance=-3.85 sma_2_x_sma_3:death_cross
	// bar 6: sma_3=10.00 ema_3=9.75 rsi_3=29.63 bb_3_2=10.00[8.37,11.63] vwap_distance=-5.26
	// bar 7: sma_3=10.00 ema_3=10.38 rsi_3=64.81 bb_3_2=10.00[8.37,11.63] vwap_distance=10.00
	// bar 8: sma_3=10.67 ema_3=11.19 rsi_3=74.41 bb_3_2=10.67[8.17,13.16] vwap_distance=4.35 sma_2_x_sma_3:golden_cross
	// 5 indicators restored
}

// Spec names are the indicator column of IndicatorValue rows.
func ExampleParseSpecs() {
	specs, err := indicators.ParseSpecs("sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2,bb:20:2.5,vwapdist")
	if err != nil {
		panic(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name())
	}
	fmt.Println(strings.Join(names, " "))
	_, err = indicators.ParseSpecs("macd:26:12:9")
	fmt.Println(err)
	// Output:
	// sma_20 ema_12 rsi_14 macd_12_26_9 bb_20_2 bb_20_2.5 vwap_distance
	// indicators: "macd:26:12:9": fast period (26) must be less than slow period (12)
}

// A touch is not a cross: only a strict change of side is.
func ExampleCrossover() {
	c := indicators.Crossover{Fast: indicators.SMA(50), Slow: indicators.SMA(200)}
	var out []string
	for _, fast := range []float64{99, 100, 99, 100, 101, 100, 99} {
		out = append(out, c.Update(fast, 100).String())
	}
	fmt.Println(strings.Join(out, " "))
	// Output: none none none none golden_cross none death_cross
}

func init() {
	register.Function2x0(stampAtWindow)
	register.Emitter2[beam.EventTime, tickbeam.Bar]()
	register.Function1x0(collectValue)
	register.Function1x0(collectCross)
}

// stampAtWindow timestamps a bar as bars.Compute does: at its window's end
// minus 1 ms.
func stampAtWindow(b tickbeam.Bar, emit func(beam.EventTime, tickbeam.Bar)) {
	emit(mtime.FromTime(b.WindowEnd)-1, b)
}

// The example collects rows in memory: prism runs the DoFns in this process.
var (
	mu      sync.Mutex
	printed []string
)

func collectValue(v tickbeam.IndicatorValue) {
	mu.Lock()
	defer mu.Unlock()
	printed = append(printed, fmt.Sprintf("%s %s %s=%g", v.WindowStart.Format("15:04"), v.Symbol, v.Indicator, v.Value))
}

func collectCross(e indicators.CrossEvent) {
	mu.Lock()
	defer mu.Unlock()
	printed = append(printed, fmt.Sprintf("%s %s %s %s=%g %s=%g", e.WindowStart.Format("15:04"), e.Symbol, e.Cross,
		e.Fast, e.FastValue, e.Slow, e.SlowValue))
}

// Compute over 1-minute bars in their windows, as bars.Compute emits them:
// SMA(2) of the closes 10 11 12 11 13, and the close (SMA(1)) crossing it.
// The close is above at 14:31 (the first sign, no event), below at 14:33
// (death cross) and above again at 14:34 (golden cross).
func ExampleCompute() {
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	var in []tickbeam.Bar
	for i, c := range []float64{10, 11, 12, 11, 13} {
		start := t0.Add(time.Duration(i) * time.Minute)
		in = append(in, tickbeam.Bar{Symbol: "AAPL", Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
			Open: c, High: c, Low: c, Close: c, VWAP: c, Volume: 1, Trades: 1, Timing: tickbeam.OnTime})
	}

	p, s := beam.NewPipelineWithRoot()
	bars := beam.WindowInto(s, window.NewFixedWindows(time.Minute), beam.ParDo(s, stampAtWindow, beam.CreateList(s, in)))
	values, crosses := indicators.Compute(s, bars, indicators.Options{
		Specs:      []indicators.Spec{indicators.SMA(2)},
		Crossovers: []indicators.Crossover{{Fast: indicators.SMA(1), Slow: indicators.SMA(2)}},
	})
	// values and crosses are in the bars' 1-minute windows: a windowed sink
	// (io/lake, io/bigqueryx) takes them as they are.
	beam.ParDo0(s, collectValue, values)
	beam.ParDo0(s, collectCross, crosses)
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	sort.Strings(printed)
	fmt.Println(strings.Join(printed, "\n"))
	// Output:
	// 14:31 AAPL sma_2=10.5
	// 14:32 AAPL sma_2=11.5
	// 14:33 AAPL DEATH sma_1=11 sma_2=11.5
	// 14:33 AAPL sma_2=11.5
	// 14:34 AAPL GOLDEN sma_1=13 sma_2=12
	// 14:34 AAPL sma_2=12
}
