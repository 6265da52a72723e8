package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// prometheus is a real Prometheus server (the Debian package, installed by
// scripts/testtools.sh) scraping one target on loopback every 250 ms.
type prometheus struct{ api string }

func startPrometheus(t *testing.T, target string) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (make test installs it: bash scripts/testtools.sh): %v", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 250ms
  scrape_timeout: 200ms
scrape_configs:
  - job_name: tickbeam
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", b)
		}
	})
	p := &prometheus{api: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.api + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready on %s after 30 s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sample is one series of an instant or range query.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

func (p *prometheus) query(t *testing.T, path string, params url.Values) []sample {
	t.Helper()
	resp, err := http.Get(p.api + path + "?" + params.Encode())
	if err != nil {
		t.Fatalf("query prometheus: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %v: %v %s", params, err, body.Error)
	}
	return body.Data.Result
}

// instant returns the value of a query with one series, and whether there was one.
func (p *prometheus) instant(t *testing.T, q string) (float64, bool) {
	t.Helper()
	res := p.query(t, "/api/v1/query", url.Values{"query": {q}})
	if len(res) != 1 {
		return 0, false
	}
	return value(t, res[0].Value), true
}

func value(t *testing.T, pair []any) float64 {
	t.Helper()
	s, _ := pair[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("sample %v: %v", pair, err)
	}
	return v
}

// waitFor polls q until it has one series equal to want.
func (p *prometheus) waitFor(t *testing.T, q string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got float64
	var ok bool
	for time.Now().Before(deadline) {
		if got, ok = p.instant(t, q); ok && got == want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("prometheus %s = %v (found: %v), want %v", q, got, ok, want)
}

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
	if err := monitor.Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

// A batch run's counters, read back through a real Prometheus server,
// equal the run's own; dead letters come out by stage.
func TestPrometheusScrapesCounters(t *testing.T) {
	srv := serve(t)
	prom := startPrometheus(t, srv.Addr())
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
		prom.waitFor(t, c.query, float64(want))
	}
	// binance-small.jsonl: 6 trades, one of them redelivered; the price
	// "abc" does not parse, the price -1 does not validate.
	prom.waitFor(t, "tickbeam_parse_ticks_total - tickbeam_dedupe_duplicates_total", 5)
	prom.waitFor(t, `tickbeam_dead_letters_total{stage="parse"}`, 1)
	prom.waitFor(t, `tickbeam_dead_letters_total{stage="validate"}`, 1)
	// The last trade is 2026-01-15T00:01:00Z: the latest event time seen.
	prom.waitFor(t, `tickbeam_event_time_seconds{source="binance"}`, float64(time.Date(2026, 1, 15, 0, 1, 0, 0, time.UTC).Unix()))
	prom.waitFor(t, `tickbeam_watermark_seconds{stage="bars_1m"}`, float64(time.Date(2026, 1, 15, 0, 2, 0, 0, time.UTC).Unix()))
}

// While a streaming run goes on, Prometheus sees its counters grow, and
// its event time stays fresh; at the end they equal the run's.
func TestPrometheusScrapesLiveStream(t *testing.T) {
	srv := serve(t)
	prom := startPrometheus(t, srv.Addr())
	start := time.Now()
	p := monitorPipeline(t, monitor.Config{Input: "synthetic:?symbols=AAA,BBB&rate=100&seed=1&paced=true",
		Bars: []bars.Resolution{bars.Resolution(time.Second)}, BarsOut: t.TempDir(), Shards: 1, KeepDuplicates: true})
	done := make(chan struct{})
	var maxFresh, maxLag float64
	go func() {
		defer close(done)
		for time.Since(start) < 7*time.Second {
			if v, ok := prom.instant(t, `tickbeam_freshness_seconds{source="synthetic"}`); ok {
				maxFresh = max(maxFresh, v)
			}
			if v, ok := prom.instant(t, `tickbeam_watermark_lag_seconds{stage="bars_1s"}`); ok {
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
	prom.waitFor(t, "tickbeam_synthetic_ticks_total", float64(want))

	// The ticks counter over the run: it grew in several steps while the
	// job ran, not once at its end.
	series := prom.query(t, "/api/v1/query_range", url.Values{"query": {"tickbeam_synthetic_ticks_total"},
		"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix()+1, 10)}, "step": {"0.25"}})
	if len(series) != 1 {
		t.Fatalf("range query: %d series, want 1", len(series))
	}
	distinct := map[float64]bool{}
	prev := 0.0
	for _, pt := range series[0].Values {
		v := value(t, pt)
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
