// Package counters reads Beam counters from a finished run.
package counters

import "github.com/apache/beam/sdks/v2/go/pkg/beam"

// Sum is the committed value of a counter summed across the steps that
// report it.
func Sum(r beam.PipelineResult, namespace, name string) int64 {
	var n int64
	for _, c := range r.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == namespace && c.Key.Name == name {
			n += c.Committed
		}
	}
	return n
}
