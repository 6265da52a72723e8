package grafana

import (
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/metrics/promtest"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// The dashboard's Prometheus panels, against a real Prometheus scraping a
// streaming monitor run (synthetic trades, 1s bars to files): every query
// is valid PromQL, and those over what such a run counts have a series
// with a value above zero while it runs. The others (BigQuery rows,
// Pub/Sub late, alerts, dead letters) need inputs and sinks this run does
// not have; their counters are named after the same Beam counters.
func TestDashboardPromQLOnPrometheus(t *testing.T) {
	b, err := os.ReadFile("tickbeam.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	srv, err := metrics.Serve("127.0.0.1:0", runners.LiveMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	prom := promtest.Start(t, srv.Addr())
	res := bars.Resolution(time.Second)
	p, s := beam.NewPipelineWithRoot()
	cfg := monitor.Config{Input: "synthetic:?symbols=AAA,BBB&rate=100&seed=1&paced=true", Bars: []bars.Resolution{res},
		BarsOut: t.TempDir(), Shards: 1}
	cfg.Taps = []monitor.Tap{func(s beam.Scope, c monitor.Collections) {
		metrics.Observe(s, metrics.Inputs{Ticks: c.Ticks, Bars: c.Bars[0], Resolution: res, DeadLetters: c.DeadLetters})
	}}
	plan, err := cfg.Resolve(runners.Local)
	if err != nil {
		t.Fatal(err)
	}
	if err := monitor.Build(s, plan); err != nil {
		t.Fatal(err)
	}
	if _, err := runners.Run(t.Context(), p, runners.Options{Duration: 8 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// Half a second before the end: the run's last scrapes, before its
	// series went stale.
	at := strconv.FormatFloat(float64(time.Now().Add(-500*time.Millisecond).UnixMilli())/1e3, 'f', 3, 64)
	mustHave := map[string]bool{
		"rate(tickbeam_synthetic_ticks_total[1m])": true,
		"tickbeam_watermark_lag_seconds":           true,
		"tickbeam_freshness_seconds":               true,
		"rate(tickbeam_lake_rows_total[1m])":       true,
	}
	seen := 0
	for _, panel := range d.Panels {
		for _, target := range panel.Targets {
			if target.Expr == "" {
				continue
			}
			series := prom.Query(t, "/api/v1/query", url.Values{"query": {target.Expr}, "time": {at}})
			if !mustHave[target.Expr] {
				continue
			}
			seen++
			if len(series) == 0 {
				t.Errorf("panel %q: %s has no series", panel.Title, target.Expr)
				continue
			}
			for _, sr := range series {
				if v := promtest.Value(t, sr.Value); v <= 0 {
					t.Errorf("panel %q: %s%v = %v, want > 0", panel.Title, target.Expr, sr.Metric, v)
				}
			}
		}
	}
	if seen != len(mustHave) {
		t.Errorf("the dashboard has %d of the %d queries this test expects", seen, len(mustHave))
	}
}
