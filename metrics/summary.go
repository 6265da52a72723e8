package metrics

import (
	"strings"
	"time"

	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
)

// Summary is a pipeline's metrics at one moment, as the Exporter and the
// dashboard show them.
type Summary struct {
	// Counters are the committed tickbeam/ counters summed over steps, named
	// as the run summary names them: "parse.ticks", "dedupe.duplicates".
	Counters map[string]int64 `json:"counters"`
	// DeadLetters counts dead letters by stage (Observe).
	DeadLetters map[string]int64 `json:"dead_letters"`
	// EventTime is the latest event time seen per tick source (Observe).
	EventTime map[string]time.Time `json:"event_time"`
	// Watermark is the latest bar window end the watermark passed, per bars
	// stage (Observe): "bars_1m".
	Watermark map[string]time.Time `json:"watermark"`
	// Gauges are the tickbeam/ gauges' latest committed values, summed over
	// the steps that report them: "pubsub.held", "bigquery.rows_held".
	Gauges map[string]int64 `json:"gauges,omitempty"`
}

// Summarize reads a Summary from Beam metrics.
func Summarize(r *beammetrics.Results) Summary {
	s := Summary{Counters: map[string]int64{}, DeadLetters: map[string]int64{}, EventTime: map[string]time.Time{},
		Watermark: map[string]time.Time{}, Gauges: map[string]int64{}}
	all := r.AllMetrics()
	for _, c := range all.Counters() {
		switch {
		case c.Key.Namespace == NamespaceDeadLetters:
			s.DeadLetters[c.Key.Name] += c.Committed
		case strings.HasPrefix(c.Key.Namespace, "tickbeam/"):
			s.Counters[strings.TrimPrefix(c.Key.Namespace, "tickbeam/")+"."+c.Key.Name] += c.Committed
		}
	}
	for _, g := range all.Gauges() {
		if strings.HasPrefix(g.Key.Namespace, "tickbeam/") {
			s.Gauges[strings.TrimPrefix(g.Key.Namespace, "tickbeam/")+"."+g.Key.Name] += g.Committed.Value
		}
	}
	for _, d := range all.Distributions() {
		var m map[string]time.Time
		switch d.Key.Namespace {
		case NamespaceFreshness:
			m = s.EventTime
		case NamespaceWatermark:
			m = s.Watermark
		default:
			continue
		}
		if t := time.UnixMilli(d.Committed.Max); d.Committed.Count > 0 && t.After(m[d.Key.Name]) {
			m[d.Key.Name] = t.UTC()
		}
	}
	return s
}
