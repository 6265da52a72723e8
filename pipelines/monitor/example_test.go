package monitor_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// Two minutes of a synthetic feed, replayed at full speed, into 1m bars.
func Example() {
	out, err := os.MkdirTemp("", "monitor-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(out)
	cfg := monitor.Config{
		Input:   "synthetic:?symbols=BTCUSDT,ETHUSDT&count=240&rate=2&seed=1&paced=false&start=2026-01-15T00:00:00Z",
		Bars:    []bars.Resolution{bars.Resolution(time.Minute)},
		BarsOut: out, // bars-1m-*.jsonl and deadletters-*.jsonl files
	}
	r, err := monitor.Run(context.Background(), cfg, runners.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(runners.Counter(r, "tickbeam/synthetic", "ticks"), "ticks,", runners.Counter(r, "tickbeam/lake", "rows"), "bars")
	// Output:
	// 240 ticks, 4 bars
}
