package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/tickbeam/tickbeam/metrics"
)

// An Exporter names each Beam counter for Prometheus; a pipeline would pass
// runners.LiveMetrics as the Source.
func ExampleServe() {
	src := func(context.Context) (*beammetrics.Results, error) {
		return beammetrics.NewResults([]beammetrics.CounterResult{
			{Committed: 7, Key: beammetrics.StepKey{Step: "e1", Namespace: "tickbeam/parse", Name: "ticks"}},
			{Committed: 2, Key: beammetrics.StepKey{Step: "e9", Namespace: "tickbeam/deadletters", Name: "parse"}},
		}, nil, nil, nil, nil), nil
	}
	srv, err := metrics.Serve("127.0.0.1:0", src)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "tickbeam_") {
			fmt.Println(line)
		}
	}
	// Output:
	// tickbeam_dead_letters_total{stage="parse"} 2
	// tickbeam_parse_ticks_total 7
	// tickbeam_pipeline_up 1
}

// A process without a Beam pipeline (tickbeam feed) counts into a Tally and
// serves it under the same names.
func ExampleTally() {
	tally := metrics.NewTally()
	tally.Add("tickbeam/feed", "published", 3)
	tally.Add("tickbeam/feed", "published", 2)
	tally.Set("tickbeam/live", "reconnects", 1)
	tally.DeadLetter("read")
	tally.EventTime("binance", time.Date(2026, 1, 15, 0, 0, 1, 0, time.UTC))
	tally.EventTime("binance", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)) // older: kept the latest
	srv, err := metrics.Serve("127.0.0.1:0", tally.Results)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "tickbeam_") && !strings.HasPrefix(line, "tickbeam_freshness") {
			fmt.Println(line)
		}
	}
	// Output:
	// tickbeam_dead_letters_total{stage="read"} 1
	// tickbeam_event_time_seconds{source="binance"} 1.768435201e+09
	// tickbeam_feed_published_total 5
	// tickbeam_live_reconnects_total 1
	// tickbeam_pipeline_up 1
}
