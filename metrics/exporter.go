package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source returns a running pipeline's metrics as they are now, e.g.
// runners.LiveMetrics.
type Source func(ctx context.Context) (*beammetrics.Results, error)

// Exporter is a prometheus.Collector over a pipeline's Beam metrics: each
// scrape reads them from its Source.
//
// Every counter of a tickbeam/ namespace becomes tickbeam_NS_NAME_total
// (tickbeam/parse messages: tickbeam_parse_messages_total), summed over the
// steps that report it, and every gauge tickbeam_NS_NAME (the pubsub
// reader's held messages: tickbeam_pubsub_held); dead letters by stage are
// tickbeam_dead_letters_total{stage}. Observe's distributions become
// tickbeam_event_time_seconds{source} and tickbeam_freshness_seconds{source}
// (the clock minus the latest event time), tickbeam_watermark_seconds{stage}
// and tickbeam_watermark_lag_seconds{stage}.
type Exporter struct {
	src Source
	now func() time.Time
}

// NewExporter returns an Exporter reading src.
func NewExporter(src Source) *Exporter { return &Exporter{src: src, now: time.Now} }

var (
	descUp        = prometheus.NewDesc("tickbeam_pipeline_up", "1 when the pipeline's metrics could be read.", nil, nil)
	descDead      = prometheus.NewDesc("tickbeam_dead_letters_total", "Dead letters by stage.", []string{"stage"}, nil)
	descEventTime = prometheus.NewDesc("tickbeam_event_time_seconds", "Latest event time seen per tick source, Unix seconds.", []string{"source"}, nil)
	descFreshness = prometheus.NewDesc("tickbeam_freshness_seconds", "Wall clock minus the latest event time seen per tick source.", []string{"source"}, nil)
	descWatermark = prometheus.NewDesc("tickbeam_watermark_seconds", "Latest end of a bar window the watermark passed, Unix seconds, per bars stage.", []string{"stage"}, nil)
	descLag       = prometheus.NewDesc("tickbeam_watermark_lag_seconds", "Wall clock minus tickbeam_watermark_seconds, per bars stage.", []string{"stage"}, nil)
)

// Describe sends nothing: the counters a pipeline has are known only once
// it runs, which makes the Exporter an unchecked collector.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect reads the pipeline's metrics and sends them.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := e.src(ctx)
	if err != nil || res == nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	sum := Summarize(res)
	for _, key := range sortedKeys(sum.Counters) {
		name := "tickbeam_" + sanitize(key) + "_total"
		desc := prometheus.NewDesc(name, "Beam counter tickbeam/"+strings.Replace(key, ".", " ", 1)+".", nil, nil)
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(sum.Counters[key]))
	}
	for _, key := range sortedKeys(sum.Gauges) {
		desc := prometheus.NewDesc("tickbeam_"+sanitize(key), "Beam gauge tickbeam/"+strings.Replace(key, ".", " ", 1)+".", nil, nil)
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(sum.Gauges[key]))
	}
	for _, stage := range sortedKeys(sum.DeadLetters) {
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.CounterValue, float64(sum.DeadLetters[stage]), stage)
	}
	now := e.now()
	for _, src := range sortedKeys(sum.EventTime) {
		t := sum.EventTime[src]
		ch <- prometheus.MustNewConstMetric(descEventTime, prometheus.GaugeValue, float64(t.UnixMilli())/1e3, src)
		ch <- prometheus.MustNewConstMetric(descFreshness, prometheus.GaugeValue, now.Sub(t).Seconds(), src)
	}
	for _, stage := range sortedKeys(sum.Watermark) {
		t := sum.Watermark[stage]
		ch <- prometheus.MustNewConstMetric(descWatermark, prometheus.GaugeValue, float64(t.UnixMilli())/1e3, stage)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, now.Sub(t).Seconds(), stage)
	}
}

// sanitize maps a Beam name onto Prometheus' [a-zA-Z0-9_].
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Server serves /metrics over HTTP.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Serve listens on addr (host:port; ":9464" listens on every interface,
// port 0 picks a free one) and serves src's metrics at /metrics beside the
// Go runtime's, until Close.
func Serve(addr string, src Source) (*Server, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("metrics address %q: want host:port or :port", addr)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewExporter(src), prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
