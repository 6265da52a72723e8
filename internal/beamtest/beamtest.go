// Package beamtest holds helpers shared by tickbeam's pipeline tests.
package beamtest

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/counters"
)

func init() {
	register.Function2x0[tickbeam.Tick, func(beam.EventTime, tickbeam.Tick)](stampTick)
}

// Ticks creates a PCollection of ticks, each timestamped with its EventTime,
// as a feed source would emit them.
func Ticks(s beam.Scope, ticks ...tickbeam.Tick) beam.PCollection {
	return beam.ParDo(s, stampTick, beam.CreateList(s, ticks))
}

func stampTick(t tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	emit(mtime.FromTime(t.EventTime), t)
}

// Any converts a typed slice to the variadic form passert.Equals takes.
func Any[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// Equals asserts col holds exactly want, whatever its windows: passert
// compares in the global window, so col is re-windowed there first.
func Equals[T any](s beam.Scope, col beam.PCollection, want []T) {
	passert.Equals(s, beam.WindowInto(s, window.NewGlobalWindows(), col), Any(want)...)
}

// Counter sums the committed value of a Beam counter across steps.
func Counter(t testing.TB, r beam.PipelineResult, namespace, name string) int64 {
	t.Helper()
	return counters.Sum(r, namespace, name)
}
