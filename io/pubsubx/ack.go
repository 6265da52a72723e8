package pubsubx

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn2x0[beam.T, func(string, int64)](&noMarkFn{})
	register.DoFn4x0[context.Context, timers.Provider, string, int64](&ackFn{})
	register.Emitter2[string, int64]()
}

// AckWhenWritten acks the messages of d once the pipeline has written what
// it computed from them. written are the PCollections the pipeline's sinks
// return, every one of them; their elements are ignored, only their
// watermarks count: on the local runner a sink's output watermark passes a
// time only once the sink has finished every bundle holding rows before it
// (pending and in-progress elements hold a stage's watermark), and a sink
// finishes a bundle only once its rows are written. A message is acked when
// the watermark of all of them has passed its ackAt (see ReadDurable).
//
// It does nothing on Dataflow (ReadOptions.Native). It panics without
// written: there would be nothing to wait for.
func (d Durable) AckWhenWritten(s beam.Scope, written ...beam.PCollection) {
	if !d.marks.IsValid() {
		return
	}
	if len(written) == 0 {
		panic("pubsubx.AckWhenWritten: no written collections; pass what the pipeline's sinks return")
	}
	s = s.Scope("pubsubx.AckWhenWritten")
	cols := []beam.PCollection{d.marks}
	for _, w := range written {
		cols = append(cols, beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, &noMarkFn{}, w)))
	}
	beam.ParDo0(s, &ackFn{Timer: timers.InEventTime("ack")}, beam.Flatten(s, cols...))
}

// noMarkFn turns a sink's output into an empty collection of marks: only
// its watermark reaches ackFn.
type noMarkFn struct{}

func (*noMarkFn) ProcessElement(_ beam.T, _ func(string, int64)) {}

// ackFn keeps one event-time timer per run (its key, the run's token) at the
// earliest ackAt of the run's messages still waiting. The timer fires once
// the watermark of every input, so of every sink, has passed it; the run's
// reader then acks the messages due and the timer moves on to the next.
type ackFn struct {
	Timer timers.EventTime
}

// ProcessElement takes a batch's mark (its ackAt is in the reader as well).
func (fn *ackFn) ProcessElement(_ context.Context, tp timers.Provider, token string, _ int64) {
	if rd := runOf(token).rd.Load(); rd != nil {
		if _, next, ok := rd.ackDue(runOf(token), int64(mtime.MinTimestamp)); ok {
			fn.Timer.Set(tp, mtime.Time(next).ToTime())
		}
	}
}

// OnTimer acks the run's messages due by the timer's time.
func (fn *ackFn) OnTimer(ctx context.Context, ts beam.EventTime, tp timers.Provider, token string, _ timers.Context) {
	run := runOf(token)
	rd := run.rd.Load()
	if rd == nil {
		return
	}
	n, next, ok := rd.ackDue(run, int64(ts))
	ackedCounter.Inc(ctx, int64(n))
	if ok {
		fn.Timer.Set(tp, mtime.Time(next).ToTime())
	}
}
