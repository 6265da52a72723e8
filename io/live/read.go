package live

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
)

func init() {
	register.DoFn7x2[context.Context, *sdf.ManualWatermarkEstimator, *sdf.LockRTracker, []byte,
		func(beam.EventTime, tickbeam.Message), func(beam.EventTime, tickbeam.DeadLetter), func(beam.EventTime, tickbeam.Gap),
		sdf.ProcessContinuation, error](&readFn{})
	register.Emitter2[beam.EventTime, tickbeam.Message]()
	register.Emitter2[beam.EventTime, tickbeam.DeadLetter]()
	register.Emitter2[beam.EventTime, tickbeam.Gap]()
	rt := reflect.TypeOf(restriction{})
	beam.RegisterType(rt)
	beam.RegisterCoder(rt, encodeRestriction, decodeRestriction)
}

// Namespace is the Beam metrics namespace of Read's counters.
const Namespace = "tickbeam/live"

var (
	cFrames      = beam.NewCounter(Namespace, "frames")
	cOversize    = beam.NewCounter(Namespace, "oversize")
	cReconnects  = beam.NewCounter(Namespace, "reconnects")
	cSilences    = beam.NewCounter(Namespace, "silences")
	cRateLimited = beam.NewCounter(Namespace, "rate_limited")
	cGaps        = beam.NewCounter(Namespace, "gaps")
	cMissing     = beam.NewCounter(Namespace, "missing")
	cBackfilled  = beam.NewCounter(Namespace, "backfilled")
	cLate        = beam.NewCounter(Namespace, "late")
)

// Defaults of ReadOptions.
const (
	DefaultIdleTimeout  = 5 * time.Second
	DefaultMaxBatch     = 5000
	DefaultMaxBatchWait = 250 * time.Millisecond
)

// ReadOptions configure Read.
type ReadOptions struct {
	// URI is the live input, e.g. "binance:?symbols=BTCUSDT". Required.
	URI string
	// WatermarkDelay holds the watermark this far behind the oldest event
	// time of each batch (and the clock when idle), as the Pub/Sub reader
	// does: trades up to this much out of order stay on time.
	WatermarkDelay time.Duration
	// AllowedLateness: a line whose event time is more than this behind the
	// watermark when it arrives becomes a dead letter with stage late,
	// instead of being dropped by the runner downstream.
	AllowedLateness time.Duration
	// IdleTimeout: after this long without lines on a live connection, the
	// watermark moves to the clock (less WatermarkDelay), so quiet symbols'
	// windows close. Not while the connection is down: an outage may still
	// be backfilled.
	IdleTimeout time.Duration
	// A bundle holds at most MaxBatch lines, gathered within MaxBatchWait.
	MaxBatch     int
	MaxBatchWait time.Duration
}

// Validate reports what is wrong with o.
func (o ReadOptions) Validate() error {
	if _, err := Parse(o.URI); err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{"WatermarkDelay": o.WatermarkDelay, "AllowedLateness": o.AllowedLateness,
		"IdleTimeout": o.IdleTimeout, "MaxBatchWait": o.MaxBatchWait} {
		if d < 0 {
			return fmt.Errorf("live.Read: %s must be >= 0, got %s", name, d)
		}
	}
	if o.MaxBatch < 0 {
		return fmt.Errorf("live.Read: MaxBatch must be >= 0, got %d", o.MaxBatch)
	}
	return nil
}

// Read returns the lines of a live connection as an unbounded
// PCollection<tickbeam.Message> (payload as received, attributes format,
// source and ts, timestamped with the line's event time), the dead letters
// of oversized frames and of late lines (stages read and late), and the
// Gap rows of the holes the connector saw.
//
// It runs on the local runner only: its DoFn drains the connection this
// process holds for the URI (opened on first use, or by Preflight), which a
// remote worker does not have. Lines drained by a bundle that then fails
// are not redelivered (a vendor's socket cannot replay them); the runner
// retries nothing on prism, where a failed bundle fails the job.
//
// Read panics if opts is not valid; check it with ReadOptions.Validate.
func Read(s beam.Scope, opts ReadOptions) (msgs, dead, gaps beam.PCollection) {
	s = s.Scope("live.Read")
	if err := opts.Validate(); err != nil {
		panic(err.Error())
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxBatchWait == 0 {
		opts.MaxBatchWait = DefaultMaxBatchWait
	}
	return beam.ParDo3(s, &readFn{Opts: opts}, beam.Impulse(s))
}

// readFn is Read's splittable DoFn: each call drains one batch of the
// stream, emits it, moves the watermark and checkpoints.
type readFn struct {
	Opts ReadOptions // defaults filled in

	st *stream
}

var messageSeq atomic.Int64

func (fn *readFn) Setup() error {
	st, err := acquire(fn.Opts.URI, Options{Logf: logf})
	if err != nil {
		return err
	}
	fn.st = st
	return nil
}

func (fn *readFn) Teardown() {
	if fn.st != nil {
		fn.st.release()
		fn.st = nil
	}
}

func (fn *readFn) CreateInitialRestriction(_ []byte) restriction { return restriction{} }

func (fn *readFn) SplitRestriction(_ []byte, r restriction) []restriction { return []restriction{r} }

func (fn *readFn) RestrictionSize(_ []byte, r restriction) float64 {
	if r.Done {
		return 0
	}
	return 1
}

func (fn *readFn) CreateTracker(r restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(&tracker{rest: r})
}

// TruncateRestriction stops reading when a pipeline drains.
func (fn *readFn) TruncateRestriction(_ *sdf.LockRTracker, _ []byte) restriction {
	return restriction{Done: true}
}

func (fn *readFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ restriction, _ []byte) int64 {
	return int64(mtime.MinTimestamp)
}

func (fn *readFn) CreateWatermarkEstimator(ms int64) *sdf.ManualWatermarkEstimator {
	return &sdf.ManualWatermarkEstimator{State: mtime.Time(ms).ToTime()}
}

func (fn *readFn) WatermarkEstimatorState(we *sdf.ManualWatermarkEstimator) int64 {
	return int64(mtime.FromTime(we.State))
}

func (fn *readFn) ProcessElement(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker, _ []byte,
	emit func(beam.EventTime, tickbeam.Message), emitDead func(beam.EventTime, tickbeam.DeadLetter),
	emitGap func(beam.EventTime, tickbeam.Gap)) (sdf.ProcessContinuation, error) {
	if !rt.TryClaim(true) {
		return sdf.StopProcessing(), rt.GetError()
	}
	b := fn.st.drain(fn.Opts.MaxBatch, fn.Opts.MaxBatchWait)
	report(ctx, b.stats)
	now := time.Now()
	wm := we.State
	// Rows that carry no event time of their own go out at the watermark
	// (or the clock less the delay, when that is later): never late.
	onTime := func(at time.Time) time.Time {
		if at.Before(wm) {
			return wm
		}
		return at
	}
	var oldest time.Time
	var late int64
	for _, l := range b.lines {
		if l.Oversize > 0 {
			emitDead(mtime.FromTime(onTime(l.Received.Add(-fn.Opts.WatermarkDelay))), l.DeadLetter())
			continue
		}
		ts := l.EventTime
		if ts.IsZero() {
			ts = onTime(l.Received.Add(-fn.Opts.WatermarkDelay))
		} else if ts.Before(wm.Add(-fn.Opts.AllowedLateness)) {
			late++
			err := fmt.Errorf("event time %s arrived %s behind the watermark %s, past the allowed lateness %s",
				ts.UTC().Format(time.RFC3339Nano), wm.Sub(ts).Round(time.Millisecond), wm.UTC().Format(time.RFC3339Nano), fn.Opts.AllowedLateness)
			emitDead(mtime.FromTime(wm), tickbeam.NewDeadLetter(ts, l.Payload, l.Attributes(), tickbeam.StageLate, l.Source, err))
			continue
		} else if oldest.IsZero() || ts.Before(oldest) {
			oldest = ts
		}
		emit(mtime.FromTime(ts), tickbeam.Message{ID: strconv.FormatInt(messageSeq.Add(1), 10), Payload: l.Payload,
			Attributes: l.Attributes(), PublishTime: l.Received})
	}
	for _, g := range b.gaps {
		emitGap(mtime.FromTime(onTime(g.To)), g)
	}
	cLate.Inc(ctx, late)
	switch {
	case !oldest.IsZero():
		advance(we, oldest.Add(-fn.Opts.WatermarkDelay))
	case len(b.lines) == 0 && b.up && now.Sub(b.lastActive) >= fn.Opts.IdleTimeout:
		advance(we, now.Add(-fn.Opts.WatermarkDelay))
	}
	if b.err != nil {
		return sdf.StopProcessing(), fmt.Errorf("live input %s: %w", fn.st.spec.Vendor, b.err)
	}
	return sdf.ResumeProcessingIn(0), nil
}

func report(ctx context.Context, s Stats) {
	for _, c := range [...]struct {
		c beam.Counter
		n int64
	}{{cFrames, s.Frames}, {cOversize, s.Oversize}, {cReconnects, s.Reconnects}, {cSilences, s.Silences},
		{cRateLimited, s.RateLimited}, {cGaps, s.Gaps}, {cMissing, s.Missing}, {cBackfilled, s.Backfilled}} {
		if c.n != 0 {
			c.c.Inc(ctx, c.n)
		}
	}
}

// advance moves the watermark forward to t, never back.
func advance(we *sdf.ManualWatermarkEstimator, t time.Time) {
	if t.After(we.State) {
		we.UpdateWatermark(t)
	}
}

// restriction is a reading run; Done ends it.
type restriction struct{ Done bool }

func encodeRestriction(r restriction) ([]byte, error) {
	if r.Done {
		return []byte{1}, nil
	}
	return []byte{0}, nil
}

func decodeRestriction(b []byte) (restriction, error) {
	if len(b) != 1 || b[0] > 1 {
		return restriction{}, fmt.Errorf("decode live restriction: %d bytes", len(b))
	}
	return restriction{Done: b[0] == 1}, nil
}

// tracker tracks a run. It splits only to checkpoint (fraction 0): the
// primary is done and the residual carries the run on.
type tracker struct {
	rest restriction
}

func (t *tracker) TryClaim(any) bool { return !t.rest.Done }

func (t *tracker) GetError() error { return nil }

func (t *tracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if fraction > 0 || t.rest.Done {
		return t.rest, nil, nil
	}
	t.rest.Done = true
	return t.rest, restriction{}, nil
}

func (t *tracker) GetProgress() (done, remaining float64) {
	if t.rest.Done {
		return 1, 0
	}
	return 0, 1
}

func (t *tracker) IsDone() bool { return t.rest.Done }

func (t *tracker) GetRestriction() any { return t.rest }

func (t *tracker) IsBounded() bool { return false }
