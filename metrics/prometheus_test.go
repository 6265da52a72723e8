package metrics_test

import (
	"context"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/metrics/promtest"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func serve(t *testing.T) *metrics.Server {
	t.Helper()
	srv, err := metrics.Serve("127.0.0.1:0", runners.LiveMetrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func monitorPipeline(t *testing.T, cfg monitor.Config) *beam.Pipeline {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	cfg.Taps = append(cfg.Taps, func(s beam.Scope, c monitor.Collections) {
		metrics.Observe(s, metrics.Inputs{Ticks: c.Ticks, Bars: c.Bars[0], Resolution: cfg.Bars[0], DeadLetters: c.DeadLetters})
	})
	plan, err := cfg.Resolve(runners.Local)
	if err != nil {
		t.Fatal(err)
	}
	if err := monitor.Build(s, plan); err != nil {
		t.Fatal(err)
	}
	return p
}

// A batch run's counters, read back through a real Prometheus server,
// equal the run's own; dead letters come out by stage.
func TestPrometheusScrapesCounters(t *testing.T) {
	srv := serve(t)
	prom := promtest.Start(t, srv.Addr())
	p := monitorPipeline(t, monitor.Config{Input: "../cmd/tickbeam/testdata/binance-small.jsonl", Format: "binance",
		Bars: []bars.Resolution{bars.Resolution(time.Minute)}, BarsOut: t.TempDir(), Shards: 1})
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ query, ns, name string }{
		{"tickbeam_parse_messages_total", "tickbeam/parse", "messages"},
		{"tickbeam_parse_ticks_total", "tickbeam/parse", "ticks"},
		{"tickbeam_dedupe_duplicates_total", "tickbeam/dedupe", "duplicates"},
		{"tickbeam_lake_rows_total", "tickbeam/lake", "rows"},
		{`tickbeam_dead_letters_total{stage="parse"}`, "tickbeam/deadletters", "parse"},
	} {
		want := runners.Counter(res, c.ns, c.name)
		if want == 0 {
			t.Errorf("counter %s/%s is 0: the test input should exercise it", c.ns, c.name)
		}
		prom.WaitFor(t, c.query, float64(want))
	}
	// binance-small.jsonl: 6 trades, one of them redelivered; the price
	// "abc" does not parse, the price -1 does not validate.
	prom.WaitFor(t, "tickbeam_parse_ticks_total - tickbeam_dedupe_duplicates_total", 5)
	prom.WaitFor(t, `tickbeam_dead_letters_total{stage="parse"}`, 1)
	prom.WaitFor(t, `tickbeam_dead_letters_total{stage="validate"}`, 1)
	// The last trade is 2026-01-15T00:01:00Z: the latest event time seen.
	prom.WaitFor(t, `tickbeam_event_time_seconds{source="binance"}`, float64(time.Date(2026, 1, 15, 0, 1, 0, 0, time.UTC).Unix()))
	prom.WaitFor(t, `tickbeam_watermark_seconds{stage="bars_1m"}`, float64(time.Date(2026, 1, 15, 0, 2, 0, 0, time.UTC).Unix()))
}

// While a streaming run goes on, Prometheus sees its counters grow, and
// its event time stays fresh; at the end they equal the run's.
func TestPrometheusScrapesLiveStream(t *testing.T) {
	srv := serve(t)
	prom := promtest.Start(t, srv.Addr())
	start := time.Now()
	p := monitorPipeline(t, monitor.Config{Input: "synthetic:?symbols=AAA,BBB&rate=100&seed=1&paced=true",
		Bars: []bars.Resolution{bars.Resolution(time.Second)}, BarsOut: t.TempDir(), Shards: 1, KeepDuplicates: true})
	done := make(chan struct{})
	var maxFresh, maxLag float64
	go func() {
		defer close(done)
		for time.Since(start) < 7*time.Second {
			if v, ok := prom.Instant(t, `tickbeam_freshness_seconds{source="synthetic"}`); ok {
				maxFresh = max(maxFresh, v)
			}
			if v, ok := prom.Instant(t, `tickbeam_watermark_lag_seconds{stage="bars_1s"}`); ok {
				maxLag = max(maxLag, v)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	res, err := runners.Run(context.Background(), p, runners.Options{Duration: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	end := time.Now()
	want := runners.Counter(res, "tickbeam/synthetic", "ticks")
	prom.WaitFor(t, "tickbeam_synthetic_ticks_total", float64(want))

	// The ticks counter over the run: it grew in several steps while the
	// job ran, not once at its end.
	series := prom.Query(t, "/api/v1/query_range", url.Values{"query": {"tickbeam_synthetic_ticks_total"},
		"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix()+1, 10)}, "step": {"0.25"}})
	if len(series) != 1 {
		t.Fatalf("range query: %d series, want 1", len(series))
	}
	distinct := map[float64]bool{}
	prev := 0.0
	for _, pt := range series[0].Values {
		v := promtest.Value(t, pt)
		if v < prev {
			t.Errorf("counter went down: %v after %v", v, prev)
		}
		prev = v
		if v > 0 && v < float64(want) {
			distinct[v] = true
		}
	}
	if len(distinct) < 3 {
		t.Errorf("Prometheus saw %d distinct values of the ticks counter below its final %d while the job ran, want >= 3 (live)", len(distinct), want)
	}
	// Paced ticks are stamped with the clock: fresh within seconds; 1s bars
	// close within seconds of their window.
	if maxFresh <= 0 || maxFresh > 5 {
		t.Errorf("freshness up to %.2f s during the run, want in (0, 5]", maxFresh)
	}
	if maxLag <= 0 || maxLag > 10 {
		t.Errorf("watermark lag up to %.2f s during the run, want in (0, 10]", maxLag)
	}
}

// Gauges of tickbeam/ namespaces reach Prometheus as gauges, summed over the
// steps that report them (three BigQuery sinks each hold their own rows);
// other namespaces' gauges do not.
func TestPrometheusScrapesGauges(t *testing.T) {
	var held atomic.Int64
	held.Store(300)
	src := func(context.Context) (*beammetrics.Results, error) {
		g := func(step, ns, name string, v int) beammetrics.GaugeResult {
			return beammetrics.GaugeResult{Committed: beammetrics.GaugeValue{Value: int64(v), Timestamp: time.Now()},
				Key: beammetrics.StepKey{Step: step, Namespace: ns, Name: name}}
		}
		return beammetrics.NewResults(nil, nil, []beammetrics.GaugeResult{
			g("e3", "tickbeam/pubsub", "held", int(held.Load())),
			g("e7", "tickbeam/bigquery", "rows_held", 10),
			g("e8", "tickbeam/bigquery", "rows_held", 20),
			g("e9", "tickbeam/bigquery", "rows_held", 5),
			g("e9", "beam", "held", 99),
		}, nil, nil), nil
	}
	srv, err := metrics.Serve("127.0.0.1:0", src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	prom := promtest.Start(t, srv.Addr())
	prom.WaitFor(t, "tickbeam_pubsub_held", 300)
	prom.WaitFor(t, "tickbeam_bigquery_rows_held", 35)
	// A gauge goes down as well as up.
	held.Store(0)
	prom.WaitFor(t, "tickbeam_pubsub_held", 0)
	if _, ok := prom.Instant(t, "beam_held"); ok {
		t.Error("a gauge outside tickbeam/ was exported")
	}
	if _, ok := prom.Instant(t, "tickbeam_beam_held"); ok {
		t.Error("a gauge outside tickbeam/ was exported")
	}
}
