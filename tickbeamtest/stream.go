package tickbeamtest

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/tickbeam/tickbeam"
)

// Stream builds a Beam TestStream: elements interleaved with watermark
// advances and processing-time steps, as an unbounded source would deliver
// them, so a test can say exactly which elements are on time, which are
// late, and when processing-time timers fire. It runs on prism (Beam's
// local runner), which supports all three kinds of events; Dataflow has no
// TestStream.
//
// Processing time, on prism (Beam v2.77.0): the runner's clock starts at the
// wall clock when the job starts and then moves only by the stream's steps,
// and to infinity at the end, so a processing-time timer a DoFn sets at
// time.Now()+d fires at the first step that reaches it. A step takes effect
// after the elements added before it only when a watermark advance comes
// between them (prism runs events up to the next watermark advance
// eagerly): write Add, AdvanceWatermark, AdvanceProcessingTime. prism panics
// on processing-time triggers (bars.Options.EarlyEvery), so steps cannot
// exercise those yet.
//
// Methods chain; the first error (a watermark moved backwards, an element
// Beam cannot encode) is reported by Create, which panics with it, as Beam
// transforms do on bad arguments.
type Stream[T any] struct {
	cfg   teststream.Config
	stamp func(T) time.Time
	wm    time.Time
	n     int
	err   error
}

// NewStream returns a stream of ticks, each added at its EventTime.
func NewStream() *Stream[tickbeam.Tick] {
	return NewStreamOf(func(t tickbeam.Tick) time.Time { return t.EventTime })
}

// NewStreamOf returns a stream of elements of any type Beam can encode
// (raw lines, bars, ...); stamp gives an element's event time for Add, and
// may be nil when every element is added with AddAt.
func NewStreamOf[T any](stamp func(T) time.Time) *Stream[T] {
	return &Stream[T]{cfg: teststream.NewConfig(), stamp: stamp}
}

// Add adds elements, each at its own event time (consecutive elements of
// the same time go in one event). An element before the watermark is late.
func (st *Stream[T]) Add(elems ...T) *Stream[T] {
	if st.stamp == nil {
		st.fail(fmt.Errorf("Add needs a stamp function: use AddAt"))
		return st
	}
	for i := 0; i < len(elems); {
		at := st.stamp(elems[i])
		j := i + 1
		for j < len(elems) && st.stamp(elems[j]).Equal(at) {
			j++
		}
		st.AddAt(at, elems[i:j]...)
		i = j
	}
	return st
}

// AddAt adds elements timestamped at.
func (st *Stream[T]) AddAt(at time.Time, elems ...T) *Stream[T] {
	if len(elems) == 0 || st.err != nil {
		return st
	}
	all := make([]any, len(elems))
	for i, e := range elems {
		all[i] = e
	}
	st.fail(st.cfg.AddElements(at.UnixMilli(), all...))
	st.n += len(elems)
	return st
}

// AdvanceWatermark moves the watermark to to: event-time windows and timers
// up to it fire. It must not move back.
func (st *Stream[T]) AdvanceWatermark(to time.Time) *Stream[T] {
	if st.err != nil {
		return st
	}
	if to.Before(st.wm) {
		st.fail(fmt.Errorf("watermark moved back from %v to %v", st.wm, to))
		return st
	}
	st.wm = to
	st.fail(st.cfg.AdvanceWatermark(to.UnixMilli()))
	return st
}

// AdvanceProcessingTime moves the runner's processing-time clock by d:
// processing-time timers due by then fire.
func (st *Stream[T]) AdvanceProcessingTime(d time.Duration) *Stream[T] {
	if st.err == nil {
		st.cfg.AdvanceProcessingTime(d.Milliseconds())
	}
	return st
}

func (st *Stream[T]) fail(err error) {
	if err != nil && st.err == nil {
		st.err = fmt.Errorf("tickbeamtest.Stream: %w", err)
	}
}

// Create adds the stream to the pipeline, ending with the watermark at
// infinity so every window closes, and returns its PCollection<T>. A
// TestStream must be a root of the pipeline and hold at least one element.
func (st *Stream[T]) Create(s beam.Scope) beam.PCollection {
	if st.err == nil && st.n == 0 {
		st.err = fmt.Errorf("tickbeamtest.Stream: no elements (Beam's TestStream needs one to know its type)")
	}
	if st.err != nil {
		panic(st.err)
	}
	st.fail(st.cfg.AdvanceWatermarkToInfinity())
	return teststream.Create(s.Scope("tickbeamtest.Stream"), st.cfg)
}
