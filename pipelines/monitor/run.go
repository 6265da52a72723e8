package monitor

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/runners"
)

// Run resolves c for opts.Runner, builds the monitor pipeline and runs it
// with opts (see runners.Run): tickbeam monitor for a program that
// configures it in Go. It returns the finished run, whose counters
// runners.Counter reads.
func Run(ctx context.Context, c Config, opts runners.Options) (beam.PipelineResult, error) {
	plan, err := c.Resolve(opts.Runner)
	if err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, plan); err != nil {
		return nil, err
	}
	return runners.Run(ctx, p, opts)
}
