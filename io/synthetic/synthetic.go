package synthetic

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

func init() {
	register.DoFn5x2[context.Context, *sdf.ManualWatermarkEstimator, *sdf.LockRTracker, []byte,
		func(beam.EventTime, tickbeam.Tick), sdf.ProcessContinuation, error](&genFn{})
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	rt := reflect.TypeOf(restriction{})
	beam.RegisterType(rt)
	beam.RegisterCoder(rt, encodeRestriction, decodeRestriction)
}

var ticksCounter = beam.NewCounter("tickbeam/synthetic", "ticks")

const (
	// pacedFlush is the shortest pause of a paced feed: ticks that fall due
	// meanwhile go out together in the next bundle, so a fast feed makes at
	// most ~10 bundles a second rather than one per tick.
	pacedFlush = 100 * time.Millisecond
	// A bundle ends (the DoFn checkpoints) after maxBundleTime of wall time
	// or maxBundleTicks ticks, so downstream stages see data and watermarks
	// move.
	maxBundleTime = 500 * time.Millisecond
)

// maxBundleTicks is a variable so tests can make checkpoints frequent.
var maxBundleTicks int64 = 50_000

// Ticks returns an unbounded PCollection<tickbeam.Tick> generated as cfg
// describes (see Config and Generator). Each element's timestamp is its
// EventTime (at Beam's millisecond precision: the tick's EventTime truncated
// to the millisecond, which never moves it across a window boundary), and the
// source's watermark follows the event time of the next tick to come, so
// event-time windows close as the feed advances, also while a paced feed
// waits for its next tick. With Count or Duration set the feed ends, and a
// pipeline reading only from it finishes by itself.
//
// Ticks panics if cfg is not valid; check it first with Config.Validate (or
// build it with ParseURI).
func Ticks(s beam.Scope, cfg Config) beam.PCollection {
	s = s.Scope("synthetic.Ticks")
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("synthetic.Ticks: %v", err))
	}
	cfg.Symbols = slices.Clone(cfg.Symbols)
	return beam.ParDo(s, &genFn{Cfg: cfg}, beam.Impulse(s))
}

// genFn is the splittable DoFn behind Ticks. Its restriction carries the
// generator's state at the next tick, so a resumed (checkpointed) feed
// continues the same price paths wherever it runs.
type genFn struct {
	Cfg Config

	gen   *Generator
	claim *step // reused: a *step in TryClaim's interface does not allocate
}

func (fn *genFn) generator() *Generator {
	if fn.gen == nil {
		fn.gen = newGenerator(fn.Cfg, time.Time{})
		fn.claim = new(step)
	}
	return fn.gen
}

// CreateInitialRestriction resolves a zero Config.Start to the wall clock
// and starts every symbol at its StartPrice.
func (fn *genFn) CreateInitialRestriction(_ []byte) (restriction, error) {
	if err := fn.Cfg.Validate(); err != nil {
		return restriction{}, fmt.Errorf("synthetic: initial restriction: %w", err)
	}
	now := time.Now().UTC()
	origin := fn.Cfg.Start
	if origin.IsZero() {
		origin = now
	}
	g := newGenerator(fn.Cfg, origin)
	return restriction{
		Next:      0,
		End:       g.end,
		Origin:    g.origin,
		Wall:      now,
		LogPrices: g.logp,
		Buy:       g.buy,
	}, nil
}

// SplitRestriction does not split: tick i needs the state after tick i-1.
func (fn *genFn) SplitRestriction(_ []byte, r restriction) []restriction {
	return []restriction{r}
}

// RestrictionSize is the number of ticks left (huge when unbounded).
func (fn *genFn) RestrictionSize(_ []byte, r restriction) float64 {
	return float64(r.End - r.Next)
}

// CreateTracker returns a thread-safe tracker of r.
func (fn *genFn) CreateTracker(r restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(newTracker(r))
}

// TruncateRestriction drops the rest of the feed when a pipeline drains.
func (fn *genFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) restriction {
	r := rt.GetRestriction().(restriction)
	r.End = r.Next
	return r
}

// InitialWatermarkEstimatorState is the event time of the first tick, in
// Unix milliseconds.
func (fn *genFn) InitialWatermarkEstimatorState(_ beam.EventTime, r restriction, _ []byte) int64 {
	return r.Origin.UnixMilli()
}

// CreateWatermarkEstimator restores a manual estimator at ms.
func (fn *genFn) CreateWatermarkEstimator(ms int64) *sdf.ManualWatermarkEstimator {
	return &sdf.ManualWatermarkEstimator{State: time.UnixMilli(ms)}
}

// WatermarkEstimatorState saves the estimator's watermark in Unix milliseconds.
func (fn *genFn) WatermarkEstimatorState(we *sdf.ManualWatermarkEstimator) int64 {
	return we.State.UnixMilli()
}

// ProcessElement emits ticks from the restriction's position until the feed
// ends, a bundle is long enough, or (paced) the next tick is not due yet. It
// then sets the watermark to the next tick's event time and asks to be
// resumed: at once, or when the next tick falls due.
func (fn *genFn) ProcessElement(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker, _ []byte, emit func(beam.EventTime, tickbeam.Tick)) (sdf.ProcessContinuation, error) {
	r := rt.GetRestriction().(restriction)
	g := fn.generator()
	if err := g.restore(r); err != nil {
		return sdf.StopProcessing(), err
	}
	we.UpdateWatermark(g.eventTime(g.next))

	var n int64
	defer func() { ticksCounter.Inc(ctx, n) }()
	start := time.Now()
	var t tickbeam.Tick
	for g.next < r.End {
		if fn.Cfg.Paced {
			if wait := time.Until(r.Wall.Add(g.offset(g.next))); wait > 0 {
				we.UpdateWatermark(g.eventTime(g.next))
				return sdf.ResumeProcessingIn(max(wait, pacedFlush)), nil
			}
		}
		if n >= maxBundleTicks || (n%1024 == 1023 && time.Since(start) >= maxBundleTime) {
			we.UpdateWatermark(g.eventTime(g.next))
			return sdf.ResumeProcessingIn(0), nil
		}
		*fn.claim = g.peek(&t)
		if !rt.TryClaim(fn.claim) {
			return sdf.StopProcessing(), rt.GetError()
		}
		g.apply(*fn.claim)
		emit(mtime.FromTime(t.EventTime), t)
		n++
	}
	return sdf.StopProcessing(), nil
}

// restriction is the part of the feed still to generate: ticks Next..End-1
// (End is math.MaxInt64 when unbounded), with each symbol's log price and
// last side as they stand before tick Next. Origin is the event time of tick
// 0 and Wall the wall-clock time it was due (for pacing); both are fixed
// when the feed starts.
type restriction struct {
	Next, End    int64
	Origin, Wall time.Time
	LogPrices    []float64
	Buy          []bool
}

func encodeRestriction(r restriction) ([]byte, error) {
	b := make([]byte, 0, 32+9*len(r.LogPrices))
	b = wire.AppendInt(b, r.Next)
	b = wire.AppendInt(b, r.End)
	b = wire.AppendTime(b, r.Origin)
	b = wire.AppendTime(b, r.Wall)
	b = wire.AppendInt(b, int64(len(r.LogPrices)))
	for _, x := range r.LogPrices {
		b = wire.AppendFloat(b, x)
	}
	buy := make([]byte, len(r.Buy))
	for i, v := range r.Buy {
		if v {
			buy[i] = 1
		}
	}
	return wire.AppendBytes(b, buy), nil
}

func decodeRestriction(b []byte) (restriction, error) {
	rd := wire.NewReader(b)
	var r restriction
	r.Next = rd.Int()
	r.End = rd.Int()
	r.Origin = rd.Time()
	r.Wall = rd.Time()
	n := rd.Int()
	if n < 0 || n > int64(len(b)) {
		return restriction{}, fmt.Errorf("decode synthetic restriction: bad symbol count %d", n)
	}
	r.LogPrices = make([]float64, n)
	for i := range r.LogPrices {
		r.LogPrices[i] = rd.Float()
	}
	buy := rd.Bytes()
	if err := rd.Err(); err != nil {
		return restriction{}, fmt.Errorf("decode synthetic restriction: %w", err)
	}
	if int64(len(buy)) != n {
		return restriction{}, fmt.Errorf("decode synthetic restriction: %d sides for %d symbols", len(buy), n)
	}
	r.Buy = make([]bool, n)
	for i, v := range buy {
		r.Buy[i] = v != 0
	}
	return r, nil
}

// tracker tracks a restriction whose positions are the ticks' steps: a claim
// of tick i carries the state change it makes, so the tracker always holds
// the state before its first unclaimed tick, and a checkpoint hands exactly
// that to the residual. It splits only to checkpoint (fraction 0): any other
// split point would need ticks not generated yet.
type tracker struct {
	rest restriction // the primary: state before rest.Next; End shrinks on a split
	next int64       // first unclaimed tick
	logp []float64   // state before tick next
	buy  []bool
	err  error
}

func newTracker(r restriction) *tracker {
	return &tracker{rest: r, next: r.Next, logp: slices.Clone(r.LogPrices), buy: slices.Clone(r.Buy)}
}

// TryClaim claims the tick a *step is for; steps must come in order.
func (t *tracker) TryClaim(pos any) bool {
	if t.err != nil {
		return false
	}
	s, ok := pos.(*step)
	if !ok {
		t.err = fmt.Errorf("synthetic: claim of a %T, want *synthetic.step", pos)
		return false
	}
	if s.index != t.next {
		t.err = fmt.Errorf("synthetic: claim of tick %d, want tick %d", s.index, t.next)
		return false
	}
	if s.index >= t.rest.End || s.sym < 0 || s.sym >= len(t.logp) {
		return false
	}
	t.logp[s.sym] = s.logp
	t.buy[s.sym] = s.buy
	t.next++
	return true
}

func (t *tracker) GetError() error { return t.err }

// TrySplit checkpoints at fraction 0 and declines any other split.
func (t *tracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if t.err != nil || fraction > 0 || t.next >= t.rest.End {
		return t.rest, nil, nil
	}
	res := t.rest
	res.Next = t.next
	res.LogPrices = slices.Clone(t.logp)
	res.Buy = slices.Clone(t.buy)
	t.rest.End = t.next
	return t.rest, res, nil
}

func (t *tracker) GetProgress() (done, remaining float64) {
	return float64(t.next - t.rest.Next), float64(t.rest.End - t.next)
}

func (t *tracker) IsDone() bool { return t.err != nil || t.next >= t.rest.End }

func (t *tracker) GetRestriction() any { return t.rest }

// IsBounded is false for a feed without Count or Duration.
func (t *tracker) IsBounded() bool { return t.rest.End != unbounded }
