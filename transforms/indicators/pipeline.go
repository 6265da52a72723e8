package indicators

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	beamwindow "github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
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
	// DefaultMaxBuffered bounds the reorder buffer per symbol: 69 days of
	// 1-minute bars in one batch run.
	DefaultMaxBuffered = reorder.DefaultMaxBuffered
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

// Validate reports the first problem of o: nothing to compute (no Specs
// and no Crossovers), an invalid spec or crossover (Spec.Validate,
// Crossover.Validate), one listed twice, or a negative Quiet or
// MaxBuffered. Zero Quiet and MaxBuffered mean their defaults.
func (o Options) Validate() error {
	if len(o.Specs) == 0 && len(o.Crossovers) == 0 {
		return errors.New("indicators: Specs, Crossovers: no indicators or crossovers")
	}
	for i, spec := range o.Specs {
		if err := spec.Validate(); err != nil {
			return fmt.Errorf("indicators: Specs[%d]: %s", i, unprefixed(err))
		}
	}
	for i, c := range o.Crossovers {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("indicators: Crossovers[%d]: %s", i, unprefixed(err))
		}
	}
	if _, err := NewSet(o.Specs, o.Crossovers...); err != nil { // duplicates
		return err
	}
	if o.Quiet < 0 {
		return fmt.Errorf("indicators: negative Quiet %v", o.Quiet)
	}
	if o.MaxBuffered < 0 {
		return fmt.Errorf("indicators: negative MaxBuffered %d", o.MaxBuffered)
	}
	return nil
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
	register.DoFn3x0[context.Context, tickbeam.Bar, func(beam.EventTime, string, []byte)](&batchFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn7x1[context.Context, state.Provider, timers.Provider, string, []byte,
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
// reorder buffer (internal/reorder), in the global window; an event-time
// timer releases it once the symbol has sent no bar for Options.Quiet.
// Compute panics on invalid options (Options.Validate), as Beam transforms
// do at construction; TryCompute returns the error instead.
func Compute(s beam.Scope, bars beam.PCollection, opts Options) (values, crossovers beam.PCollection) {
	values, crossovers, err := TryCompute(s, bars, opts)
	if err != nil {
		panic(err)
	}
	return values, crossovers
}

// TryCompute is Compute returning invalid options as an error instead of panicking.
func TryCompute(s beam.Scope, bars beam.PCollection, opts Options) (values, crossovers beam.PCollection, err error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("indicators.Compute")
	ws := bars.WindowingStrategy()
	// State must outlive each bar's window: keep it in the global window and
	// release it with a timer, since prism never collects global state.
	global := beam.WindowInto(s, beamwindow.NewGlobalWindows(), bars)
	batches := beam.ParDo(s, &batchFn{}, global)
	fn := &computeFn{
		Specs:       opts.Specs,
		Crossovers:  opts.Crossovers,
		Quiet:       opts.Quiet,
		MaxBuffered: opts.MaxBuffered,
		Meta:        state.MakeValueState[[]byte]("meta"),
		Buffer:      state.MakeBagState[[]byte]("buffer"),
		Timer:       timers.InEventTime("timer"),
	}
	v, c := beam.ParDo2(s, fn, batches)
	back := func(col beam.PCollection) beam.PCollection {
		return beam.WindowInto(s, ws.Fn, col, beam.AllowedLateness(time.Duration(ws.AllowedLateness)*time.Millisecond))
	}
	return back(v), back(c), nil
}

// barKey keys by symbol and resolution, so even a mixed input never
// interleaves two resolutions in one Set.
func barKey(b tickbeam.Bar) string { return b.Symbol + "\x00" + b.Resolution }

// barTime is a bar's event timestamp: its window's max timestamp.
func barTime(b tickbeam.Bar) mtime.Time { return mtime.FromTime(b.WindowEnd) - 1 }

// barEventTime is barTime as the reorder buffer takes it.
func barEventTime(b tickbeam.Bar) time.Time { return b.WindowEnd.Add(-time.Millisecond) }

// barCodec encodes what computeFn reads of a bar.
var barCodec = reorder.Codec[tickbeam.Bar]{
	Append: func(b []byte, x tickbeam.Bar) []byte {
		b = wire.AppendString(b, x.Symbol)
		b = wire.AppendString(b, x.Resolution)
		b = wire.AppendTime(b, x.WindowStart)
		b = wire.AppendTime(b, x.WindowEnd)
		b = wire.AppendFloat(b, x.Close)
		b = wire.AppendFloat(b, x.VWAP)
		return wire.AppendInt(b, x.PaneIndex)
	},
	Read: func(r *wire.Reader) tickbeam.Bar {
		return tickbeam.Bar{Symbol: r.String(), Resolution: r.String(), WindowStart: r.Time(), WindowEnd: r.Time(),
			Close: r.Float(), VWAP: r.Float(), PaneIndex: r.Int()}
	},
}

// compareBars orders by window, then the highest pane first.
func compareBars(a, b tickbeam.Bar) int {
	if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
		return c
	}
	return cmp.Compare(b.PaneIndex, a.PaneIndex)
}

// sameWindow keeps only the highest pane of a window.
func sameWindow(prev, next tickbeam.Bar) bool { return prev.WindowStart.Equal(next.WindowStart) }

// batchFn drops the bars computeFn never applies and packs a bundle's bars
// per key into one batch.
type batchFn struct {
	batch reorder.Batcher[tickbeam.Bar]
}

func (f *batchFn) Setup() {
	f.batch = reorder.Batcher[tickbeam.Bar]{Codec: barCodec, Time: barEventTime}
}

func (f *batchFn) ProcessElement(ctx context.Context, b tickbeam.Bar, emit func(beam.EventTime, string, []byte)) {
	if b.Timing == tickbeam.Early {
		cEarly.Inc(ctx, 1)
		return
	}
	if !b.WindowEnd.After(b.WindowStart) {
		cBad.Inc(ctx, 1)
		return
	}
	f.batch.Add(barKey(b), b, batchEmit(emit))
}

func (f *batchFn) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	f.batch.Flush(batchEmit(emit))
}

func batchEmit(emit func(beam.EventTime, string, []byte)) func(mtime.Time, string, []byte) {
	return func(t mtime.Time, k string, b []byte) { emit(t, k, b) }
}

// computeFn is the stateful DoFn: per key the Set (with the last applied
// window) and the reorder buffer; the flush timer applies the bars the
// watermark has passed and the release timer clears everything after Quiet.
type computeFn struct {
	Specs       []Spec
	Crossovers  []Crossover
	Quiet       time.Duration
	MaxBuffered int

	Meta   state.Value[[]byte] // reorder.Meta; its Aux holds the Set (loadSet)
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime // tags reorder.FlushTag(hold) and reorder.TagRelease

	kinds map[string]string // indicator name → kind
	ord   *reorder.Buffer[tickbeam.Bar]
}

func (f *computeFn) Setup() {
	f.kinds = make(map[string]string, len(f.Specs))
	for _, s := range f.Specs {
		f.kinds[s.Name()] = s.Kind
	}
	f.ord = &reorder.Buffer[tickbeam.Bar]{Bag: &f.Buffer, Timer: &f.Timer, Codec: barCodec, MaxBuffered: f.MaxBuffered,
		TTLOf: f.quietFor, Time: barEventTime, Compare: compareBars, Duplicate: sameWindow}
}

func (f *computeFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, enc []byte,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	m, _, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	late, forced, err := f.ord.AddBatch(sp, tp, &m, enc)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	if len(late) > 0 {
		cLate.Inc(ctx, int64(len(late)))
	}
	if len(forced) > 0 {
		cForced.Inc(ctx, int64(len(forced)))
		if err := f.apply(ctx, key, &m, forced, emitV, emitC); err != nil {
			return err
		}
	}
	return f.writeMeta(sp, key, m)
}

func (f *computeFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, timer timers.Context,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	if timer.Family != f.Timer.Family {
		return fmt.Errorf("indicators: %q: unexpected timer family %q", key, timer.Family)
	}
	m, ok, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	if !ok {
		return nil // released already
	}
	switch {
	case reorder.IsFlush(timer.Tag):
		if !m.Current(timer.Tag) {
			return nil // a stale firing: flushed already, or the hold moved
		}
		due, err := f.ord.Flush(sp, tp, &m)
		if err != nil {
			return fmt.Errorf("indicators: %q: %w", key, err)
		}
		if err := f.apply(ctx, key, &m, due, emitV, emitC); err != nil {
			return err
		}
		return f.writeMeta(sp, key, m)
	case timer.Tag == reorder.TagRelease:
		if !f.ord.Released(tp, &m, mtime.Time(ts)) {
			return nil // a later bar moved the release: re-armed
		}
		// Normally flushed already (its timer is earlier); every bar is
		// before the release.
		due, err := f.ord.Drain(sp, tp, &m, ts)
		if err != nil {
			return fmt.Errorf("indicators: %q: %w", key, err)
		}
		if err := f.apply(ctx, key, &m, due, emitV, emitC); err != nil {
			return err
		}
		for _, clear := range []func(state.Provider) error{f.Meta.Clear, f.Buffer.Clear} {
			if err := clear(sp); err != nil {
				return fmt.Errorf("indicators: %q: release state: %w", key, err)
			}
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return fmt.Errorf("indicators: %q: unexpected timer tag %q", key, timer.Tag)
}

func (f *computeFn) writeMeta(sp state.Provider, key string, m reorder.Meta) error {
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
		return fmt.Errorf("indicators: %q: write state: %w", key, err)
	}
	return nil
}

// apply feeds bars, in window order, to the key's Set, kept in m.Aux, and
// emits their rows.
func (f *computeFn) apply(ctx context.Context, key string, m *reorder.Meta, bars []tickbeam.Bar,
	emitV func(beam.EventTime, tickbeam.IndicatorValue), emitC func(beam.EventTime, CrossEvent)) error {
	if len(bars) == 0 {
		return nil
	}
	set, last, applied, err := f.loadSet(m.Aux)
	if err != nil {
		return fmt.Errorf("indicators: %q: %w", key, err)
	}
	for _, b := range bars {
		start := b.WindowStart.UnixNano()
		if applied && start <= last { // the buffer hands over only later windows; kept as a guard
			cLate.Inc(ctx, 1)
			continue
		}
		// A gap of Quiet restarts the warm-up, as the release timer does
		// when the bars arrive apart.
		if applied && time.Duration(start-last) >= f.quietFor(b) {
			if set, err = f.newSet(); err != nil {
				return fmt.Errorf("indicators: %q: %w", key, err)
			}
		}
		applied, last = true, start
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
	if err != nil {
		return fmt.Errorf("indicators: %q: write set: %w", key, err)
	}
	m.Aux = wire.AppendBytes(wire.AppendInt(make([]byte, 0, 20+len(enc)), last), enc)
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

// loadSet decodes the key's Set and the window start (Unix ns) of the last
// bar applied to it, kept ahead of it; applied is false for a fresh Set.
func (f *computeFn) loadSet(enc []byte) (set *Set, last int64, applied bool, err error) {
	if len(enc) == 0 {
		set, err = f.newSet()
		return set, 0, false, err
	}
	r := wire.NewReader(enc)
	last = r.Int()
	b := r.View()
	if err := r.Err(); err != nil {
		return nil, 0, false, fmt.Errorf("bad set state: %w", err)
	}
	set = new(Set)
	if err := set.UnmarshalBinary(b); err != nil {
		return nil, 0, false, err
	}
	return set, last, true, nil
}

func (f *computeFn) quietFor(b tickbeam.Bar) time.Duration {
	if f.Quiet > 0 {
		return f.Quiet
	}
	return max(DefaultQuietBars*b.WindowEnd.Sub(b.WindowStart), MinDefaultQuiet)
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
