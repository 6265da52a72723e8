package metrics

import (
	"context"
	"sync"
	"time"

	beammetrics "github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
)

// Tally counts work done outside a Beam pipeline (`tickbeam feed` publishes
// without one) and is a Source of the same metrics a pipeline's counters
// and Observe give: counters of tickbeam/ namespaces, dead letters by stage
// and the latest event time per source. It is safe for concurrent use.
type Tally struct {
	mu       sync.Mutex
	counters map[[2]string]int64 // {namespace, name}
	latest   map[string]int64    // source -> Unix ms
}

// NewTally returns an empty Tally.
func NewTally() *Tally {
	return &Tally{counters: map[[2]string]int64{}, latest: map[string]int64{}}
}

// Add adds n to the counter name of namespace ("tickbeam/feed", "published").
func (t *Tally) Add(namespace, name string, n int64) {
	t.mu.Lock()
	t.counters[[2]string{namespace, name}] += n
	t.mu.Unlock()
}

// Set sets a counter to a total kept elsewhere (a connection's statistics).
func (t *Tally) Set(namespace, name string, v int64) {
	t.mu.Lock()
	t.counters[[2]string{namespace, name}] = v
	t.mu.Unlock()
}

// DeadLetter counts a dead letter of stage.
func (t *Tally) DeadLetter(stage string) {
	if stage == "" {
		stage = "unknown"
	}
	t.Add(NamespaceDeadLetters, stage, 1)
}

// EventTime records an event time seen from source; the latest is kept.
func (t *Tally) EventTime(source string, at time.Time) {
	ms := at.UnixMilli()
	t.mu.Lock()
	if ms > t.latest[source] {
		t.latest[source] = ms
	}
	t.mu.Unlock()
}

// Results is the Tally as Beam metrics, committed: a Source.
func (t *Tally) Results(context.Context) (*beammetrics.Results, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	counters := make([]beammetrics.CounterResult, 0, len(t.counters))
	for k, v := range t.counters {
		counters = append(counters, beammetrics.CounterResult{Attempted: v, Committed: v,
			Key: beammetrics.StepKey{Namespace: k[0], Name: k[1]}})
	}
	dists := make([]beammetrics.DistributionResult, 0, len(t.latest))
	for src, ms := range t.latest {
		v := beammetrics.DistributionValue{Count: 1, Sum: ms, Min: ms, Max: ms}
		dists = append(dists, beammetrics.DistributionResult{Attempted: v, Committed: v,
			Key: beammetrics.StepKey{Namespace: NamespaceFreshness, Name: src}})
	}
	return beammetrics.NewResults(counters, dists, nil, nil, nil), nil
}
