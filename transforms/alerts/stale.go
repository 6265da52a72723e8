package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/internal/wire"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/internal/tickpack"
)

var (
	cOutages    = beam.NewCounter("tickbeam/alerts", "stale_outages")
	cRecoveries = beam.NewCounter("tickbeam/alerts", "stale_recoveries")
)

func init() {
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, []byte)](&staleKeyFn{})
	register.DoFn3x1[context.Context, dedupe.Batch, func(beam.EventTime, string, []byte), error](&staleKeyBatchFn{})
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, []byte,
		func(beam.EventTime, tickbeam.Alert), error](&staleFn{})
}

// KindStaleFeed fires when a symbol has had no tick for MaxSilence of
// open market, and sends an INFO recovery notice when data returns.
const KindStaleFeed Kind = "stale_feed"

// staleFeedKind watches the ticks as they came: a quarantined tick still
// shows the feed is alive, and the clean ones come out only as the
// watermark passes them.
var staleFeedKind = kindSpec{
	kind:     KindStaleFeed,
	inputs:   []Input{InputTicks},
	fields:   []string{"input", "max_silence"},
	check:    func(r *Rule, bad problemFn) { positive(bad, "max_silence", float64(r.MaxSilence)) },
	build:    ticksOnly(tryStaleFeed),
	rawTicks: true,
}

// staleFeed watches PCollection<tickbeam.Tick> for symbols that go silent
// and returns PCollection<tickbeam.Alert> in the global window: one alert
// (the rule's severity) per outage, at the instant the silence reached the
// rule's MaxSilence of open market, and one INFO recovery notice at the
// first tick after it (value: the silence in seconds).
//
// Silence counts only while the rule's Sessions are open: from the last
// tick, or from the next open when the last tick came while closed, and
// afresh from each open. Quiet hours, weekends, holidays and the gaps
// between a day's sessions never alert; a feed that stopped on Friday
// evening alerts MaxSilence after Monday's open if nothing comes. Without
// Sessions the market is always open. Every tick counts as data, whatever
// its kind and time of day.
//
// It runs on event-time timers, per symbol: a symbol is watched from its
// first tick, and an outage is detected when the watermark passes its due
// time, so the input's watermark must advance while no data arrives (the
// Pub/Sub reader moves it to the wall clock after its idle timeout; a
// bounded input ends at +infinity, which reports the outage after its last
// tick). State per symbol is a few numbers; it is released StateTTL after
// the last tick or outage.
func staleFeed(s beam.Scope, r Rule, ticks beam.PCollection) beam.PCollection {
	out, err := tryStaleFeed(s, r, ticks)
	if err != nil {
		panic(err)
	}
	return out
}

func tryStaleFeed(s beam.Scope, r Rule, ticks beam.PCollection) (beam.PCollection, error) {
	if err := r.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	if r.Kind != KindStaleFeed {
		return beam.PCollection{}, fmt.Errorf("alerts: rule %s: StaleFeed takes a stale_feed rule, got %s", r.Name, r.Kind)
	}
	if !ticks.IsValid() {
		return beam.PCollection{}, fmt.Errorf("alerts: rule %s: no ticks input", r.Name)
	}
	var keyFn any = &staleKeyFn{Rule: r}
	switch got := ticks.Type().Type(); got {
	case tickType:
	case batchType:
		keyFn = &staleKeyBatchFn{staleKeyFn: staleKeyFn{Rule: r}}
	default:
		return beam.PCollection{}, fmt.Errorf("alerts: rule %s: ticks input must be a PCollection<%v> or PCollection<%v>, got PCollection<%v>", r.Name, tickType, batchType, got)
	}
	s = s.Scope("alerts." + r.Name)
	keyed := beam.ParDo(s, keyFn, ticks)
	global := beam.WindowInto(s, window.NewGlobalWindows(), keyed)
	return beam.ParDo(s, &staleFn{Rule: r, State: state.MakeValueState[[]byte]("stale"), Timer: timers.InEventTime("timer")}, global), nil
}

// staleKeyFn packs the bundle's tick times per symbol into batches.
type staleKeyFn struct {
	Rule Rule

	batch reorder.Batcher[int64]
}

// nanosCodec encodes tick times, Unix nanoseconds.
var nanosCodec = reorder.Codec[int64]{Append: wire.AppendInt, Read: (*wire.Reader).Int}

func nanosTime(ns int64) time.Time { return time.Unix(0, ns) }

func (fn *staleKeyFn) Setup() { fn.batch = reorder.Batcher[int64]{Codec: nanosCodec, Time: nanosTime} }

func (fn *staleKeyFn) ProcessElement(_ context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	fn.add(&t, emit)
}

func (fn *staleKeyFn) add(t *tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	if fn.Rule.Matches(t.Symbol) {
		fn.batch.Add(t.Symbol, t.EventTime.UnixNano(), emit)
	}
}

// staleKeyBatchFn is staleKeyFn over dedupe's batches. A batch of one
// symbol goes on packed as it came (tickpack): staleFn needs only its
// earliest and latest tick times, in the batch's header. Other batches are
// read tick by tick.
type staleKeyBatchFn struct {
	staleKeyFn
	packed reorder.Packer
}

func (fn *staleKeyBatchFn) ProcessElement(_ context.Context, b dedupe.Batch, emit func(beam.EventTime, string, []byte)) error {
	if took, err := tickpack.Add(&fn.packed, b, fn.Rule.Matches, emit); took || err != nil {
		return err
	}
	return b.Each(func(t *tickbeam.Tick) { fn.add(t, emit) })
}

func (fn *staleKeyBatchFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, []byte)) {
	fn.packed.Flush(emit)
	fn.staleKeyFn.FinishBundle(ctx, emit)
}

func (fn *staleKeyFn) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	fn.batch.Flush(emit)
}

// staleFn keeps a staleness per symbol; the timer's tag due fires at its Due,
// release at ReleaseAt.
type staleFn struct {
	Rule  Rule
	State state.Value[[]byte]
	Timer timers.EventTime

	sched *sessionSchedule
}

type staleState struct {
	S         staleness
	ReleaseAt mtime.Time
	// Armed is when the due timer fires (0: not armed): at or before S.Due.
	// It moves only earlier; a firing before S.Due re-arms it there. Set at
	// every Due, prism would queue a setting per batch until its time passed,
	// MaxSilence later: memory growing with the rate times MaxSilence.
	Armed mtime.Time `json:",omitempty"`
}

func (f *staleFn) Setup() error {
	sc, err := newSchedule(f.Rule.Sessions)
	f.sched = sc
	return err
}

func (f *staleFn) read(sp state.Provider) (staleState, bool, error) {
	b, ok, err := f.State.Read(sp)
	if err != nil || !ok {
		return staleState{S: staleness{MaxSilence: f.Rule.MaxSilence}}, false, err
	}
	var st staleState
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, err
	}
	st.S.MaxSilence = f.Rule.MaxSilence
	return st, true, nil
}

// ProcessElement observes a batch of tick times (Unix ns) in order: the
// state is read and written once per batch.
func (f *staleFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, batch []byte,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	st, _, err := f.read(sp)
	if err != nil {
		return f.errorf(key, "read state: %w", err)
	}
	times, err := f.times(&st, batch)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	slices.Sort(times)
	for _, ns := range times {
		t := time.Unix(0, ns).UTC()
		recovered, silence := st.S.Observe(t, f.sched)
		if recovered {
			a := f.Rule.newAlert(key, t, tickbeam.Info, silence.Seconds(), f.Rule.MaxSilence.Seconds(),
				fmt.Sprintf("%s: data again at %s after %s of silence", key, t.Format(time.RFC3339Nano), silence),
				attr("state", "recovered"))
			a.DetectedAt = time.Now().UTC()
			emit(mtime.FromTime(t), a)
			cRecoveries.Inc(ctx, 1)
		}
	}
	f.armDue(tp, &st)
	return f.write(sp, tp, key, &st)
}

// times returns the tick times (Unix ns) of a batch, or of a packed batch
// the times that move st as all its ticks would: in one call, only a tick
// after st's Last can end an outage, the earliest such, and only the latest
// tick sets Last and Due. So a packed part gives its earliest and latest
// time from its header; it is decoded only when st is down and it starts
// before Last but ends after it, the rare late batch whose tick ending the
// outage lies inside it.
func (f *staleFn) times(st *staleState, batch []byte) ([]int64, error) {
	var times []int64
	last := st.S.Last.UnixNano()
	packed, err := tickpack.Each(batch, func(b dedupe.Batch) error {
		sp, ok := b.Span()
		first, latest := sp.First.UnixNano(), sp.Last.UnixNano()
		if ok && !(st.S.Down && first <= last && latest > last) {
			times = append(times, first, latest)
			return nil
		}
		return b.Each(func(t *tickbeam.Tick) { times = append(times, t.EventTime.UnixNano()) })
	})
	if packed {
		return times, err
	}
	return nanosCodec.Decode(nil, batch)
}

// armDue arms the due timer at S.Due unless it is armed at or before it.
func (f *staleFn) armDue(tp timers.Provider, st *staleState) {
	if st.S.Due.IsZero() {
		return
	}
	if due := mtime.FromTime(st.S.Due); st.Armed == 0 || due < st.Armed {
		f.Timer.Set(tp, st.S.Due, timers.WithTag(tagDue))
		st.Armed = due
	}
}

// write stores st and moves the release timer past every timer it keeps.
func (f *staleFn) write(sp state.Provider, tp timers.Provider, key string, st *staleState) error {
	last := st.S.Last
	if st.S.Due.After(last) {
		last = st.S.Due
	}
	reorder.MoveRelease(&f.Timer, tp, &st.ReleaseAt, reorder.ReleaseTime(mtime.FromTime(last), f.Rule.stateTTL()))
	b, err := json.Marshal(st)
	if err == nil {
		err = f.State.Write(sp, b)
	}
	if err != nil {
		return f.errorf(key, "write state: %w", err)
	}
	return nil
}

func (f *staleFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, timer timers.Context,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	st, ok, err := f.read(sp)
	if err != nil {
		return f.errorf(key, "read state: %w", err)
	}
	if !ok {
		return nil // released
	}
	now := mtime.Time(ts).ToTime()
	switch timer.Tag {
	case tagDue:
		at := mtime.FromTime(now)
		if at != st.Armed {
			return nil // a setting an earlier Due replaced
		}
		st.Armed = 0
		if due := mtime.FromTime(st.S.Due); due != at || !st.S.Check(st.S.Due) {
			if due > at {
				f.armDue(tp, &st) // later ticks moved Due
			}
			return f.write(sp, tp, key, &st)
		}
		quiet := st.S.Due.Sub(st.S.Last)
		msg := fmt.Sprintf("%s: no data for %s of open market (last tick %s, %s ago)", key, f.Rule.MaxSilence,
			st.S.Last.Format(time.RFC3339Nano), quiet)
		a := f.Rule.newAlert(key, st.S.Due, f.Rule.severity(), quiet.Seconds(), f.Rule.MaxSilence.Seconds(), msg,
			attr("last_tick", st.S.Last.Format(time.RFC3339Nano)), attr("state", "outage"))
		a.DetectedAt = time.Now().UTC()
		emit(ts, a)
		cOutages.Inc(ctx, 1)
		return f.write(sp, tp, key, &st)
	case reorder.TagRelease:
		if !reorder.Released(&f.Timer, tp, st.ReleaseAt, mtime.FromTime(now)) {
			return nil // a later tick moved the release: re-armed
		}
		if err := f.State.Clear(sp); err != nil {
			return f.errorf(key, "release state: %w", err)
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return f.errorf(key, "unexpected timer %q/%q", timer.Family, timer.Tag)
}

func (f *staleFn) errorf(key, format string, args ...any) error {
	return fmt.Errorf("alerts: rule %s: %q: %w", f.Rule.Name, key, fmt.Errorf(format, args...))
}

// tagDue is the stale timer's outage tag, beside reorder.TagRelease in its
// one timer family.
const tagDue = "due"
