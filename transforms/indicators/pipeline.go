package indicators

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	beamwindow "github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Defaults of Options.
const (
	// DefaultQuietBars and MinDefaultQuiet make the default Quiet: 100 bar
	// lengths, but at least 4 days, so that nights, weekends and a long
	// weekend's holiday (Friday close to Tuesday open) do not restart the
	// indicators of a symbol that trades again after them.
	DefaultQuietBars = 100
	MinDefaultQuiet  = 96 * time.Hour
	// DefaultMaxBuffered bounds the reorder buffer per symbol: about 12 MB of
	// bars, or 69 days of 1-minute bars in one batch run.
	DefaultMaxBuffered = 100_000
)

// Options choose what Compute computes.
type Options struct {
	// Specs are the indicators reported as IndicatorValue rows.
	Specs []Spec
	// Crossovers are reported as CrossEvent rows; their lines need not be
	// among Specs (they are then computed but not reported).
	Crossovers []Crossover
	// Quiet is how long, in event time, a symbol may send no bar before its
	// state is released; its next bar starts a fresh warm-up. Bars Quiet or
	// more apart restart the indicators even when they arrive together (a
	// batch run), so batch and streaming runs agree. Zero means
	// max(DefaultQuietBars bar lengths, MinDefaultQuiet).
	Quiet time.Duration
	// MaxBuffered bounds the bars held per symbol until the watermark passes
	// them (zero: DefaultMaxBuffered). A batch run delivers every bar before
	// the watermark moves, so it must exceed the bars per symbol of the run;
	// past it, the oldest half is applied at once (counted in
	// tickbeam/indicators.forced_bars) and an older bar arriving later is late.
	MaxBuffered int
}

// Cross column values of CrossEvent.
const (
	CrossGolden = "GOLDEN" // the fast line crossed above the slow line
	CrossDeath  = "DEATH"  // the fast line crossed below the slow line
)

// CrossEvent is a crossover detected on a bar: the row the alerts package
// turns into Alerts. WindowStart is the start of the bar of the cross.
type CrossEvent struct {
	Symbol      string    `json:"symbol"`
	Resolution  string    `json:"resolution"`
	WindowStart time.Time `json:"window_start"`
	Crossover   string    `json:"crossover"` // e.g. sma_50_x_sma_200
	Fast        string    `json:"fast"`      // the lines' indicator names
	Slow        string    `json:"slow"`
	Cross       string    `json:"cross"` // CrossGolden or CrossDeath
	FastValue   float64   `json:"fast_value"`
	SlowValue   float64   `json:"slow_value"`
}

// Counters, in namespace tickbeam/indicators.
var (
	cLate     = beam.NewCounter("tickbeam/indicators", "late_bars")   // not applied: a later bar was
	cEarly    = beam.NewCounter("tickbeam/indicators", "early_bars")  // EARLY panes, ignored
	cForced   = beam.NewCounter("tickbeam/indicators", "forced_bars") // applied ahead of the watermark
	cBad      = beam.NewCounter("tickbeam/indicators", "bad_bars")    // non-finite close or empty window
	cReleased = beam.NewCounter("tickbeam/indicators", "released")    // symbol states released after Quiet
)

func init() {
	register.Function1x2(keyBar)
	register.DoFn7x1[context.Context, state.Provider, timers.Provider, string, tickbeam.Bar,
		func(beam.EventTime, tickbeam.IndicatorValue), func(beam.EventTime, CrossEvent), error](&computeFn{})
	register.Emitter2[beam.EventTime, tickbeam.IndicatorValue]()
	register.Emitter2[beam.EventTime, CrossEvent]()
	beam.RegisterCoder(reflect.TypeOf(CrossEvent{}), encodeCrossEvent, decodeCrossEvent)
}

// Compute computes indicators and crossovers per symbol over a
// PCollection<tickbeam.Bar> of one resolution in its event-time windows (as
// bars.Compute emits them) and returns PCollection<tickbeam.IndicatorValue>
// (one row per ready indicator per bar) and PCollection<CrossEvent>. Both are
// in the input's windows, each row timestamped at its bar's window end minus
// 1 ms (the window's max timestamp, as the bar itself): windowed sinks and
// grouping downstream see the bar's window, on time.
//
// Bars are applied per symbol in window order, whatever their arrival order:
// a bar waits in state until the watermark passes its window, then the
// waiting bars are applied oldest first. Panes: EARLY panes are ignored
// (counted in tickbeam/indicators.early_bars), because indicator state cannot
// be rewound to undo a provisional bar. Of the panes of a window that wait
// together, the highest pane_index is applied. A pane for a window at or
// before the last applied one (a LATE pane of an applied window, or any bar
// arriving after a later window was applied) is counted in
// tickbeam/indicators.late_bars and not applied. On bounded input the
// watermark reaches the end only when every bar is in, so all bars of a
// symbol are applied in order at once (see Options.MaxBuffered).
//
// State per symbol is the Set (bounded by the specs' periods) and the bounded
// reorder buffer, in the global window; an event-time timer releases it once
// the symbol has sent no bar for Options.Quiet. Compute panics on invalid
// options, as Beam transforms do at construction.
func Compute(s beam.Scope, bars beam.PCollection, opts Options) (values, crossovers beam.PCollection) {
	s = s.Scope("indicators.Compute")
	if len(opts.Specs) == 0 && len(opts.Crossovers) == 0 {
		panic("indicators.Compute: no indicators or crossovers")
	}
	if _, err := NewSet(opts.Specs, opts.Crossovers...); err != nil {
		panic(fmt.Sprintf("indicators.Compute: %v", err))
	}
	if opts.Quiet < 0 || opts.MaxBuffered < 0 {
		panic(fmt.Sprintf("indicators.Compute: negative Quiet (%v) or MaxBuffered (%d)", opts.Quiet, opts.MaxBuffered))
	}
	ws := bars.WindowingStrategy()
	keyed := beam.ParDo(s, keyBar, bars)
	// State must outlive each bar's window: keep it in the global window and
	// release it with a timer, since prism never collects global state.
	global := beam.WindowInto(s, beamwindow.NewGlobalWindows(), keyed)
	fn := &computeFn{
		Specs:       opts.Specs,
		Crossovers:  opts.Crossovers,
		Quiet:       opts.Quiet,
		MaxBuffered: opts.MaxBuffered,
		Meta:        state.MakeValueState[[]byte]("meta"),
		SetState:    state.MakeValueState[[]byte]("set"),
		Buffer:      state.MakeBagState[tickbeam.Bar]("buffer"),
		Timer:       timers.InEventTime("timer"),
	}
	v, c := beam.ParDo2(s, fn, global)
	back := func(col beam.PCollection) beam.PCollection {
		return beam.WindowInto(s, ws.Fn, col, beam.AllowedLateness(time.Duration(ws.AllowedLateness)*time.Millisecond))
	}
	return back(v), back(c)
}

// keyBar keys by symbol and resolution, so even a mixed input never
// interleaves two resolutions in one Set.
func keyBar(b tickbeam.Bar) (string, tickbeam.Bar) { return b.Symbol + "\x00" + b.Resolution, b }

// barTime is a bar's event timestamp: its window's max timestamp.
func barTime(b tickbeam.Bar) mtime.Time { return mtime.FromTime(b.WindowEnd) - 1 }

// computeFn is the stateful DoFn: per key the Set, the reorder buffer and a
// small keyState; the flush timer applies the buffer once the watermark
// passes it and the release timer clears everything after Quiet.
//
// Both timers are tags of one family: the Go SDK v2.77 harness counts one
// end-of-stream per timer transform but the runner sends one per family, so
// a second family can leave a bundle waiting forever (seen on prism).
type computeFn struct {
	Specs       []Spec
	Crossovers  []Crossover
	Quiet       time.Duration
	MaxBuffered int

	Meta     state.Value[[]byte]
	SetState state.Value[[]byte]
	Buffer   state.Bag[tickbeam.Bar]
	Timer    timers.EventTime // tags flushTag(hold) and tagRelease

	kinds map[string]string // indicator name → kind
}

func (f *computeFn) Setup() {
	f.kinds = make(map[string]string, len(f.Specs))
	for _, s := range f.Specs {
		f.kinds[s.Name()] = s.Kind
	}
}

func (f *computeFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, b tickbeam.Bar,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	if b.Timing == tickbeam.Early {
		cEarly.Inc(ctx, 1)
		return nil
	}
	if !b.WindowEnd.After(b.WindowStart) {
		cBad.Inc(ctx, 1)
		return nil
	}
	st, _, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	if st.applied && b.WindowStart.UnixNano() <= st.last {
		cLate.Inc(ctx, 1)
		return nil
	}
	if err := f.Buffer.Add(sp, b); err != nil {
		return fmt.Errorf("indicators: %q: buffer bar: %w", key, err)
	}
	t := barTime(b)
	switch {
	case st.buffered == 0:
		st.bufMin, st.bufMax = t, t
		f.setFlush(tp, st)
	case t < st.bufMin: // a new hold: a new timer (see flushTag)
		f.Timer.ClearTag(tp, flushTag(st.bufMin))
		st.bufMin = t
		f.setFlush(tp, st)
	case t > st.bufMax: // the same hold, later
		st.bufMax = t
		f.setFlush(tp, st)
	}
	st.buffered++
	if r := releaseTime(t, f.quietFor(b)); r > st.releaseAt {
		st.releaseAt = r
		f.Timer.Set(tp, r.ToTime(), timers.WithTag(tagRelease)) // holds output at r, after every bar it could flush
	}
	if max := int64(f.maxBuffered()); st.buffered > max {
		n := st.buffered - max/2
		cForced.Inc(ctx, n)
		f.Timer.ClearTag(tp, flushTag(st.bufMin))
		if err := f.flush(ctx, sp, tp, &st, key, n, emitV, emitC); err != nil {
			return err
		}
	}
	return f.writeState(sp, key, st)
}

func (f *computeFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, timer timers.Context,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	st, ok, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	if !ok {
		return nil // released already
	}
	if timer.Family != f.Timer.Family {
		return fmt.Errorf("indicators: %q: unexpected timer family %q", key, timer.Family)
	}
	switch {
	case strings.HasPrefix(timer.Tag, tagFlush):
		// The timer fires at the buffer's latest bar, so the watermark has
		// passed every buffered bar: no on-time bar can precede them now.
		if st.buffered > 0 {
			if err := f.flush(ctx, sp, tp, &st, key, st.buffered, emitV, emitC); err != nil {
				return err
			}
		}
		return f.writeState(sp, key, st)
	case timer.Tag == tagRelease:
		if ts != st.releaseAt {
			return nil // a stale firing: a later bar moved the release
		}
		if st.buffered > 0 { // normally flushed already: its timer is earlier
			f.Timer.ClearTag(tp, flushTag(st.bufMin))
			if err := f.flush(ctx, sp, tp, &st, key, st.buffered, emitV, emitC); err != nil {
				return err
			}
		}
		for _, clear := range []func(state.Provider) error{f.Meta.Clear, f.SetState.Clear, f.Buffer.Clear} {
			if err := clear(sp); err != nil {
				return fmt.Errorf("indicators: %q: release state: %w", key, err)
			}
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return fmt.Errorf("indicators: %q: unexpected timer tag %q", key, timer.Tag)
}

// Timer tags.
const (
	tagFlush   = "flush@" // + the hold, see flushTag
	tagRelease = "release"
)

// flushTag names the flush timer by its hold. Prism (v2.77) mis-counts
// watermark holds when a timer is set again with the same firing time and a
// different hold (it drops the stale hold twice and panics), so a new hold
// gets a new timer and the old one is cleared.
func flushTag(hold mtime.Time) string { return tagFlush + strconv.FormatInt(int64(hold), 10) }

// setFlush fires at the latest buffered bar and holds the output watermark
// at the earliest, whose rows are emitted at their own bar timestamps.
func (f *computeFn) setFlush(tp timers.Provider, st keyState) {
	f.Timer.Set(tp, st.bufMax.ToTime(), timers.WithTag(flushTag(st.bufMin)), timers.WithOutputTimestamp(st.bufMin.ToTime()))
}

// flush applies the n oldest buffered windows in window order and keeps
// the rest buffered, under a new flush timer; the caller has cleared or
// fired the old one.
func (f *computeFn) flush(ctx context.Context, sp state.Provider, tp timers.Provider, st *keyState, key string, n int64,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	buf, _, err := f.Buffer.Read(sp)
	if err != nil {
		return fmt.Errorf("indicators: %q: read buffer: %w", key, err)
	}
	// Window order; of one window's panes the highest pane_index first.
	sort.Slice(buf, func(i, j int) bool {
		if !buf[i].WindowStart.Equal(buf[j].WindowStart) {
			return buf[i].WindowStart.Before(buf[j].WindowStart)
		}
		return buf[i].PaneIndex > buf[j].PaneIndex
	})
	uniq := buf[:0]
	for _, b := range buf {
		if len(uniq) > 0 && uniq[len(uniq)-1].WindowStart.Equal(b.WindowStart) {
			continue
		}
		uniq = append(uniq, b)
	}
	due, rest := uniq, []tickbeam.Bar(nil)
	if n < int64(len(uniq)) {
		due, rest = uniq[:n], uniq[n:]
	}
	if err := f.apply(ctx, sp, st, key, due, emitV, emitC); err != nil {
		return err
	}
	if err := f.Buffer.Clear(sp); err != nil {
		return fmt.Errorf("indicators: %q: clear buffer: %w", key, err)
	}
	st.buffered = int64(len(rest))
	for i, b := range rest {
		if err := f.Buffer.Add(sp, b); err != nil {
			return fmt.Errorf("indicators: %q: buffer bar: %w", key, err)
		}
		t := barTime(b)
		if i == 0 {
			st.bufMin, st.bufMax = t, t
		}
		st.bufMin, st.bufMax = mtime.Min(st.bufMin, t), mtime.Max(st.bufMax, t)
	}
	if len(rest) > 0 {
		f.setFlush(tp, *st)
	}
	return nil
}

// apply feeds bars, in window order, to the key's Set and emits their rows.
func (f *computeFn) apply(ctx context.Context, sp state.Provider, st *keyState, key string, bars []tickbeam.Bar,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	if len(bars) == 0 {
		return nil
	}
	set, err := f.loadSet(sp)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	for _, b := range bars {
		start := b.WindowStart.UnixNano()
		if st.applied && start <= st.last {
			cLate.Inc(ctx, 1)
			continue
		}
		// A gap of Quiet restarts the warm-up, as the release timer does
		// when the bars arrive apart.
		if st.applied && time.Duration(start-st.last) >= f.quietFor(b) {
			if set, err = f.newSet(); err != nil {
				return fmt.Errorf("indicators: %q: %w", key, err)
			}
		}
		st.applied, st.last = true, start
		results, events, err := set.Update(b.Close, b.VWAP)
		if err != nil {
			cBad.Inc(ctx, 1)
			continue
		}
		ts := barTime(b)
		for _, r := range results {
			emitV(ts, f.row(b, r))
		}
		for _, e := range events {
			emitC(ts, crossEvent(b, e))
		}
	}
	enc, err := set.MarshalBinary()
	if err == nil {
		err = f.SetState.Write(sp, enc)
	}
	if err != nil {
		return fmt.Errorf("indicators: %q: write set: %w", key, err)
	}
	return nil
}

func (f *computeFn) row(b tickbeam.Bar, r Result) tickbeam.IndicatorValue {
	v := tickbeam.IndicatorValue{Symbol: b.Symbol, Resolution: b.Resolution, WindowStart: b.WindowStart,
		Indicator: r.Indicator, Value: r.Value.Value}
	switch f.kinds[r.Indicator] {
	case KindMACD:
		v.Signal, v.Histogram = ptr(r.Value.Signal), ptr(r.Value.Histogram)
	case KindBollinger:
		v.Upper, v.Lower = ptr(r.Value.Upper), ptr(r.Value.Lower)
	}
	return v
}

func ptr(f float64) *float64 { return &f }

func crossEvent(b tickbeam.Bar, e Event) CrossEvent {
	cross := CrossDeath
	if e.Cross == GoldenCross {
		cross = CrossGolden
	}
	return CrossEvent{Symbol: b.Symbol, Resolution: b.Resolution, WindowStart: b.WindowStart, Crossover: e.Crossover,
		Fast: e.Fast, Slow: e.Slow, Cross: cross, FastValue: e.FastValue, SlowValue: e.SlowValue}
}

func (f *computeFn) newSet() (*Set, error) { return NewSet(f.Specs, f.Crossovers...) }

func (f *computeFn) loadSet(sp state.Provider) (*Set, error) {
	enc, ok, err := f.SetState.Read(sp)
	if err != nil {
		return nil, fmt.Errorf("read set: %w", err)
	}
	if !ok {
		return f.newSet()
	}
	var s Set
	if err := s.UnmarshalBinary(enc); err != nil {
		return nil, err
	}
	return &s, nil
}

func (f *computeFn) quietFor(b tickbeam.Bar) time.Duration {
	if f.Quiet > 0 {
		return f.Quiet
	}
	return max(DefaultQuietBars*b.WindowEnd.Sub(b.WindowStart), MinDefaultQuiet)
}

func (f *computeFn) maxBuffered() int {
	if f.MaxBuffered > 0 {
		return f.MaxBuffered
	}
	return DefaultMaxBuffered
}

// releaseTime is t + quiet, kept inside the global window.
func releaseTime(t mtime.Time, quiet time.Duration) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if q := mtime.FromDuration(quiet); t <= end-q {
		return t + q
	}
	return end
}

// keyState is the per-key bookkeeping beside the Set and the buffer.
type keyState struct {
	applied        bool
	last           int64 // window start (Unix ns) of the last applied bar
	buffered       int64 // bars in the buffer
	bufMin, bufMax mtime.Time
	releaseAt      mtime.Time // the release timer's time
}

func (f *computeFn) readState(sp state.Provider) (keyState, bool, error) {
	b, ok, err := f.Meta.Read(sp)
	if err != nil || !ok {
		return keyState{}, false, err
	}
	r := wire.NewReader(b)
	st := keyState{applied: r.Int() != 0, last: r.Int(), buffered: r.Int(),
		bufMin: mtime.Time(r.Int()), bufMax: mtime.Time(r.Int()), releaseAt: mtime.Time(r.Int())}
	if err := r.Err(); err != nil {
		return keyState{}, false, fmt.Errorf("bad key state: %w", err)
	}
	return st, true, nil
}

func (f *computeFn) writeState(sp state.Provider, key string, st keyState) error {
	var applied int64
	if st.applied {
		applied = 1
	}
	b := make([]byte, 0, 48)
	for _, v := range [...]int64{applied, st.last, st.buffered, int64(st.bufMin), int64(st.bufMax), int64(st.releaseAt)} {
		b = wire.AppendInt(b, v)
	}
	if err := f.Meta.Write(sp, b); err != nil {
		return fmt.Errorf("indicators: %q: write state: %w", key, err)
	}
	return nil
}

func encodeCrossEvent(e CrossEvent) ([]byte, error) {
	b := make([]byte, 0, 96)
	b = wire.AppendString(b, e.Symbol)
	b = wire.AppendString(b, e.Resolution)
	b = wire.AppendTime(b, e.WindowStart)
	for _, s := range [...]string{e.Crossover, e.Fast, e.Slow, e.Cross} {
		b = wire.AppendString(b, s)
	}
	b = wire.AppendFloat(b, e.FastValue)
	return wire.AppendFloat(b, e.SlowValue), nil
}

func decodeCrossEvent(b []byte) (CrossEvent, error) {
	r := wire.NewReader(b)
	var e CrossEvent
	e.Symbol = r.String()
	e.Resolution = r.String()
	e.WindowStart = r.Time()
	for _, s := range [...]*string{&e.Crossover, &e.Fast, &e.Slow, &e.Cross} {
		*s = r.String()
	}
	e.FastValue = r.Float()
	e.SlowValue = r.Float()
	if err := r.Err(); err != nil {
		return CrossEvent{}, fmt.Errorf("decode CrossEvent: %w", err)
	}
	return e, nil
}
