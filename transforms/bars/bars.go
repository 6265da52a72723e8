package bars

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/optcheck"
	"github.com/tickbeam/tickbeam/internal/wire"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// Options choose the bars to compute.
type Options struct {
	// Resolutions of the bars; at least one.
	Resolutions []Resolution
	// EarlyEvery, on a stream, fires an EARLY pane of each open window this
	// often in processing time, so dashboards see the bar forming. 0: none.
	// Beam v2.77.0's prism panics on processing-time early firings (nil map
	// in buildProcessingTimeBundle): use it on Dataflow only.
	EarlyEvery time.Duration
	// AllowedLateness keeps a window open this long past the watermark:
	// each trade arriving in that time fires a LATE pane with the whole
	// window. Later trades are dropped by the runner, so the source must
	// account for them (pubsubx.ReadWithLate diverts them to dead letters
	// with stage late). 0: a window closes at the watermark.
	AllowedLateness time.Duration
	// Calendar, when set, makes the Daily (1d) bars follow its trading
	// days: a bar per symbol and day d covering calendar.DayBounds(d), from
	// the first session's open to the last session's close (XNYS 04:00 to
	// 20:00 New York time, XKRX 08:30 to 18:00 Seoul time, CRYPTO the UTC
	// day), whatever the UTC offset or DST. Trades in no trading day make no
	// daily bar (counted in tickbeam/bars.outside_session). nil: 1d bars
	// are UTC days like any fixed window.
	Calendar *calendar.Calendar
}

// Validate reports the first problem of o: no Resolutions, a resolution
// ParseResolution would refuse (outside 1s to 1d, not whole seconds, not
// dividing a day) or listed twice, a negative EarlyEvery or
// AllowedLateness.
func (o Options) Validate() error {
	if len(o.Resolutions) == 0 {
		return errors.New("bars: Resolutions: at least one is required")
	}
	seen := make(map[Resolution]bool, len(o.Resolutions))
	for _, r := range o.Resolutions {
		if err := optcheck.Wrap("bars", "Resolutions", r.validate()); err != nil {
			return err
		}
		if seen[r] {
			return fmt.Errorf("bars: Resolutions: %s listed twice", r)
		}
		seen[r] = true
	}
	return optcheck.NonNegative("bars", optcheck.F("EarlyEvery", o.EarlyEvery), optcheck.F("AllowedLateness", o.AllowedLateness))
}

// ByResolution holds Compute's bars: the PCollection<tickbeam.Bar> of each
// resolution of Options.Resolutions, in that resolution's fixed windows.
// A resolution Compute was not asked for has no entry (an invalid
// PCollection when indexed).
type ByResolution map[Resolution]beam.PCollection

// Triggered reports whether the options fire more than the on-time pane.
func (o Options) Triggered() bool { return o.EarlyEvery > 0 || o.AllowedLateness > 0 }

// windowing is the bars' windowing: fixed windows of r, firing EARLY panes
// every EarlyEvery, the ON_TIME pane at the watermark and a LATE pane for
// each late trade within AllowedLateness. The shuffle discards fired panes
// and accumulateFn adds each to the window's earlier ones, so the newest
// bar of a window still holds all of its trades: with accumulating panes,
// prism (v2.77) keeps every fired element pending until the window expires,
// which holds the stage's watermark back by the whole allowed lateness (the
// streaming benchmark's 1s bars became queryable 72 s after their window,
// not 11 s), and fires one more identical pane when the window closes.
func (o Options) windowing(s beam.Scope, r Resolution, col beam.PCollection) beam.PCollection {
	fixed := window.NewFixedWindows(r.Duration())
	if !o.Triggered() {
		return beam.WindowInto(s, fixed, col)
	}
	tr := trigger.AfterEndOfWindow().LateFiring(trigger.Always())
	if o.EarlyEvery > 0 {
		tr = tr.EarlyFiring(trigger.Repeat(trigger.AfterProcessingTime().PlusDelay(o.EarlyEvery)))
	}
	return beam.WindowInto(s, fixed, col, beam.Trigger(tr), beam.AllowedLateness(o.AllowedLateness), beam.PanesDiscard())
}

func init() {
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, Accumulator)](&preAggregateFn{})
	register.DoFn3x1[context.Context, dedupe.Batch, func(beam.EventTime, string, Accumulator), error](&preAggregateBatchFn{})
	register.Emitter3[beam.EventTime, string, Accumulator]()
	register.DoFn4x2[typex.PaneInfo, beam.Window, string, func(*Accumulator) bool, tickbeam.Bar, error](&barFn{})
	register.Iter1[Accumulator]()
	beam.RegisterCoder(reflect.TypeOf(Accumulator{}), encodeAccumulator, decodeAccumulator)
	register.DoFn5x1[typex.PaneInfo, beam.Window, string, func(*Accumulator) bool, func(string, firing), error](&firingFn{})
	register.Emitter2[string, firing]()
	register.DoFn5x1[context.Context, state.Provider, string, firing, func(beam.EventTime, tickbeam.Bar), error](&accumulateFn{})
	register.Emitter2[beam.EventTime, tickbeam.Bar]()
	beam.RegisterCoder(reflect.TypeOf(firing{}), encodeFiring, decodeFiring)
}

// Compute turns a PCollection<tickbeam.Tick> timestamped by event time (or
// dedupe.Batches' PCollection<dedupe.Batch>, which spares a step per tick) into
// one PCollection<tickbeam.Bar> per resolution, keyed by opts.Resolutions
// (ByResolution), each in the fixed windows of its resolution (so windowed
// sinks and later transforms see the bars' own windows). There is one bar per
// symbol and event-time window [start, start+resolution) holding at least one
// trade. Windows align to multiples of the resolution since the Unix epoch,
// except Daily bars under opts.Calendar, which cover its trading days (and
// are emitted in the 24h UTC window holding their close; EarlyEvery does not
// apply to them). Quotes are ignored.
//
// Trades are folded into an Accumulator inside each bundle before the shuffle,
// so only one accumulator per symbol and window crosses the runner from each
// bundle and memory per window is constant. (Beam Go's own CombinePerKey would
// do the same, but its combine nodes drop the pane, and bars must say which
// pane they are.) On bounded input every window fires once, with timing
// ON_TIME and pane index 0. On a stream, opts.EarlyEvery and
// opts.AllowedLateness add EARLY and LATE panes (accumulating): a consumer
// keeps, per (symbol, resolution, window_start), the row with the highest
// pane_index, which is the whole truth for its window.
// Compute panics when opts are invalid (Options.Validate); TryCompute
// returns the error instead.
func Compute(s beam.Scope, ticks beam.PCollection, opts Options) ByResolution {
	out, err := TryCompute(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryCompute is Compute returning invalid options as an error.
func TryCompute(s beam.Scope, ticks beam.PCollection, opts Options) (ByResolution, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	preAggregate := func(s beam.Scope, f preAggregateFn) beam.PCollection { return beam.ParDo(s, &f, ticks) }
	switch t := ticks.Type().Type(); t {
	case reflect.TypeFor[tickbeam.Tick]():
	case reflect.TypeFor[dedupe.Batch]():
		preAggregate = func(s beam.Scope, f preAggregateFn) beam.PCollection {
			return beam.ParDo(s, &preAggregateBatchFn{f}, ticks)
		}
	default:
		return nil, fmt.Errorf("bars: ticks must be a PCollection<tickbeam.Tick> or PCollection<dedupe.Batch>, got PCollection<%v>", t)
	}
	s = s.Scope("bars.Compute")
	out := make(ByResolution, len(opts.Resolutions))
	for _, r := range opts.Resolutions {
		rs := s.Scope("bars." + r.String())
		if r == Daily && opts.Calendar != nil {
			partial := preAggregate(rs, preAggregateFn{Resolution: r, Calendar: opts.Calendar})
			out[r] = opts.windowing(rs, r, sessionDays(rs, partial, opts))
			continue
		}
		partial := preAggregate(rs, preAggregateFn{Resolution: r})
		grouped := beam.GroupByKey(rs, opts.windowing(rs, r, partial))
		if !opts.Triggered() {
			out[r] = beam.ParDo(rs, &barFn{Resolution: r}, grouped)
			continue
		}
		// Panes leave their windows for the accumulation: prism expires a
		// window's state when the watermark passes its end plus the allowed
		// lateness, and that is exactly when it fires the LATE pane.
		firings := beam.WindowInto(rs, window.NewGlobalWindows(), beam.ParDo(rs, &firingFn{}, grouped))
		whole := beam.ParDo(rs, &accumulateFn{Resolution: r, Keep: 2*opts.AllowedLateness + r.Duration() + time.Minute,
			Windows: state.MakeValueState[[]byte]("windows")}, firings)
		out[r] = opts.windowing(rs, r, whole)
	}
	return out, nil
}

// firing is one discarding pane of a window: the trades it adds, its
// window and its timing.
type firing struct {
	Acc        Accumulator
	Start, End int64 // the window, Unix ms
	Timing     tickbeam.Timing
	Last       bool // the runner's last pane of the window
}

// paneOf merges a fired pane's partial accumulators.
func paneOf(pane typex.PaneInfo, w beam.Window, partials func(*Accumulator) bool) (firing, error) {
	iw, ok := w.(window.IntervalWindow)
	if !ok {
		return firing{}, fmt.Errorf("bars: window %v is not a fixed window", w)
	}
	f := firing{Start: iw.Start.Milliseconds(), End: iw.End.Milliseconds(), Timing: timingOf(pane), Last: pane.IsLast}
	var p Accumulator
	for partials(&p) {
		f.Acc.Merge(&p)
	}
	return f, nil
}

// firingFn hands each pane on to accumulateFn.
type firingFn struct{}

func (*firingFn) ProcessElement(pane typex.PaneInfo, w beam.Window, symbol string, partials func(*Accumulator) bool, emit func(string, firing)) error {
	f, err := paneOf(pane, w, partials)
	if err != nil {
		return err
	}
	emit(symbol, f)
	return nil
}

// openWindow is a window's trades so far and its pane count.
type openWindow struct {
	start, end int64
	acc        Accumulator
	panes      int64
}

// accumulateFn adds each pane of a window to its earlier ones and emits the
// whole window's bar, pane_index counting the panes so far. Its state, per
// symbol in the global window, holds the symbol's open windows: one is
// dropped after its last pane, or once a window ending Keep later has fired
// (the watermark then passed its end plus the allowed lateness long ago).
// No timer, so nothing holds the watermark back; a symbol gone quiet keeps
// at most Keep / resolution small windows.
type accumulateFn struct {
	Resolution Resolution
	Keep       time.Duration
	Windows    state.Value[[]byte]
}

func (f *accumulateFn) ProcessElement(ctx context.Context, sp state.Provider, symbol string, in firing, emit func(beam.EventTime, tickbeam.Bar)) error {
	b, _, err := f.Windows.Read(sp)
	if err != nil {
		return fmt.Errorf("bars: %s: read open windows: %w", symbol, err)
	}
	open, err := decodeOpenWindows(b)
	if err != nil {
		return fmt.Errorf("bars: %s: %w", symbol, err)
	}
	i := slices.IndexFunc(open, func(w openWindow) bool { return w.start == in.Start })
	if i < 0 {
		open = append(open, openWindow{start: in.Start, end: in.End})
		i = len(open) - 1
	}
	w := &open[i]
	w.acc.Merge(&in.Acc)
	w.panes++
	bar := w.acc.Bar(symbol, f.Resolution, mtime.Time(w.start).ToTime(), mtime.Time(w.end).ToTime())
	bar.Timing, bar.PaneIndex = in.Timing, w.panes-1
	if in.Timing == tickbeam.Late && w.panes == 1 {
		cLatePaneAlone.Inc(ctx, 1) // its earlier panes were pruned: Keep is too short
	}
	emit(mtime.FromMilliseconds(w.end).Subtract(1), bar)
	newest := in.End
	for _, o := range open {
		newest = max(newest, o.end)
	}
	open = slices.DeleteFunc(open, func(o openWindow) bool {
		return (o.start == in.Start && in.Last) || o.end+f.Keep.Milliseconds() < newest
	})
	if len(open) == 0 {
		return f.Windows.Clear(sp)
	}
	return f.Windows.Write(sp, appendOpenWindows(nil, open))
}

// cLatePaneAlone counts LATE panes whose window's earlier panes were gone.
var cLatePaneAlone = beam.NewCounter("tickbeam/bars", "late_pane_alone")

func appendOpenWindows(b []byte, ws []openWindow) []byte {
	b = wire.AppendInt(b, int64(len(ws)))
	for _, w := range ws {
		b = wire.AppendInt(b, w.start)
		b = wire.AppendInt(b, w.end)
		b = wire.AppendInt(b, w.panes)
		b = appendAccumulator(b, w.acc)
	}
	return b
}

func decodeOpenWindows(b []byte) ([]openWindow, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return readOpenWindows(wire.NewReader(b))
}

func readOpenWindows(r *wire.Reader) ([]openWindow, error) {
	n := r.Int()
	if n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("bad open-window count %d", n)
	}
	ws := make([]openWindow, n)
	for i := range ws {
		ws[i] = openWindow{start: r.Int(), end: r.Int(), panes: r.Int(), acc: readAccumulator(r)}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("read open windows: %w", err)
	}
	return ws, nil
}

func encodeFiring(f firing) ([]byte, error) {
	b := appendAccumulator(make([]byte, 0, 160), f.Acc)
	b = wire.AppendInt(b, f.Start)
	b = wire.AppendInt(b, f.End)
	b = wire.AppendString(b, string(f.Timing))
	var last int64
	if f.Last {
		last = 1
	}
	return wire.AppendInt(b, last), nil
}

func decodeFiring(b []byte) (firing, error) {
	r := wire.NewReader(b)
	f := firing{Acc: readAccumulator(r), Start: r.Int(), End: r.Int(), Timing: tickbeam.Timing(r.String()), Last: r.Int() != 0}
	if err := r.Err(); err != nil {
		return firing{}, fmt.Errorf("decode bars firing: %w", err)
	}
	return f, nil
}

// maxPartials bounds the accumulators a bundle holds before flushing them.
const maxPartials = 4096

type partialKey struct {
	symbol string
	start  int64
}

// preAggregateFn folds a bundle's trades into one accumulator per symbol and
// window, the window a trading day of Calendar when set. Each is emitted
// timestamped with its last trade's event time, which lies inside the
// window, so windowing downstream puts it back in its window.
type preAggregateFn struct {
	Resolution Resolution
	Calendar   *calendar.Calendar

	partials map[partialKey]*Accumulator
	outside  int64
}

func (f *preAggregateFn) StartBundle(_ context.Context, _ func(beam.EventTime, string, Accumulator)) {
	f.partials = make(map[partialKey]*Accumulator)
}

func (f *preAggregateFn) ProcessElement(ctx context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, Accumulator)) {
	f.add(ctx, &t, emit)
}

// preAggregateBatchFn is preAggregateFn over dedupe's batches.
type preAggregateBatchFn struct {
	preAggregateFn
}

func (f *preAggregateBatchFn) ProcessElement(ctx context.Context, b dedupe.Batch, emit func(beam.EventTime, string, Accumulator)) error {
	if err := b.Each(func(t *tickbeam.Tick) { f.add(ctx, t, emit) }); err != nil {
		return fmt.Errorf("bars: %w", err)
	}
	return nil
}

func (f *preAggregateFn) add(ctx context.Context, t *tickbeam.Tick, emit func(beam.EventTime, string, Accumulator)) {
	if t.Kind != tickbeam.Trade {
		return
	}
	start, ok := f.windowStart(t.EventTime)
	if !ok {
		f.outside++
		return
	}
	k := partialKey{t.Symbol, start}
	a := f.partials[k]
	if a == nil {
		if len(f.partials) >= maxPartials {
			f.FinishBundle(ctx, emit)
		}
		a = &Accumulator{}
		f.partials[k] = a
	}
	a.Add(t)
}

// windowStart is the start of t's window in Unix ns; ok is false when t is
// in no trading day of the calendar.
func (f *preAggregateFn) windowStart(t time.Time) (int64, bool) {
	if f.Calendar != nil {
		d, ok := f.Calendar.SessionDay(t)
		if !ok {
			return 0, false
		}
		start, _, _ := f.Calendar.DayBounds(d)
		return start.UnixNano(), true
	}
	ns, d := t.UnixNano(), int64(f.Resolution)
	start := ns - ns%d
	if ns < 0 && ns%d != 0 {
		start -= d
	}
	return start, true
}

func (f *preAggregateFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, Accumulator)) {
	for k, a := range f.partials {
		emit(mtime.FromTime(time.Unix(0, a.Last.Time)), k.symbol, *a)
	}
	clear(f.partials)
	if f.outside > 0 {
		cOutsideSession.Inc(ctx, f.outside)
		f.outside = 0
	}
}

type barFn struct {
	Resolution Resolution
}

func (f *barFn) ProcessElement(pane typex.PaneInfo, w beam.Window, symbol string, partials func(*Accumulator) bool) (tickbeam.Bar, error) {
	p, err := paneOf(pane, w, partials)
	if err != nil {
		return tickbeam.Bar{}, err
	}
	b := p.Acc.Bar(symbol, f.Resolution, mtime.Time(p.Start).ToTime(), mtime.Time(p.End).ToTime())
	b.Timing = p.Timing
	b.PaneIndex = pane.Index
	return b, nil
}

// timingOf maps Beam's pane timing; a runner that reports no timing fired the
// window exactly once, which is the on-time pane.
func timingOf(p typex.PaneInfo) tickbeam.Timing {
	switch p.Timing {
	case typex.PaneEarly:
		return tickbeam.Early
	case typex.PaneLate:
		return tickbeam.Late
	}
	return tickbeam.OnTime
}

func encodeAccumulator(a Accumulator) ([]byte, error) {
	return appendAccumulator(make([]byte, 0, 128), a), nil
}

func appendAccumulator(b []byte, a Accumulator) []byte {
	b = wire.AppendInt(b, a.Trades)
	for _, s := range [...]Sum{a.Volume, a.Notional, a.BuyVolume, a.SellVolume} {
		b = wire.AppendFloat(b, s.S)
		b = wire.AppendFloat(b, s.C)
	}
	b = wire.AppendFloat(b, a.High)
	b = wire.AppendFloat(b, a.Low)
	for _, e := range [...]Edge{a.First, a.Last} {
		b = wire.AppendInt(b, e.Time)
		b = wire.AppendString(b, e.ID)
		b = wire.AppendFloat(b, e.Price)
	}
	return b
}

func decodeAccumulator(b []byte) (Accumulator, error) {
	r := wire.NewReader(b)
	a := readAccumulator(r)
	if err := r.Err(); err != nil {
		return Accumulator{}, fmt.Errorf("decode bars.Accumulator: %w", err)
	}
	return a, nil
}

func readAccumulator(r *wire.Reader) Accumulator {
	var a Accumulator
	a.Trades = r.Int()
	for _, s := range [...]*Sum{&a.Volume, &a.Notional, &a.BuyVolume, &a.SellVolume} {
		s.S = r.Float()
		s.C = r.Float()
	}
	a.High = r.Float()
	a.Low = r.Float()
	for _, e := range [...]*Edge{&a.First, &a.Last} {
		e.Time = r.Int()
		e.ID = r.String()
		e.Price = r.Float()
	}
	return a
}
