package alerts

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

// Counters, in namespace tickbeam/alerts.
var (
	cFired    = beam.NewCounter("tickbeam/alerts", "alerts")
	cLate     = beam.NewCounter("tickbeam/alerts", "late_rows")   // at or before a row already evaluated: dropped
	cEarly    = beam.NewCounter("tickbeam/alerts", "early_panes") // EARLY bar panes: ignored
	cForced   = beam.NewCounter("tickbeam/alerts", "forced_rows") // evaluated ahead of the watermark (full buffer)
	cReleased = beam.NewCounter("tickbeam/alerts", "released")    // symbol states released after StateTTL
)

func init() {
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, []byte)](&tickObsFn{})
	register.DoFn3x0[context.Context, tickbeam.Bar, func(beam.EventTime, string, []byte)](&barObsFn{})
	register.DoFn3x0[context.Context, tickbeam.IndicatorValue, func(beam.EventTime, string, []byte)](&indicatorObsFn{})
	register.DoFn3x0[context.Context, indicators.CrossEvent, func(beam.EventTime, string, []byte)](&crossObsFn{})
	register.DoFn3x0[context.Context, typex.T, func(beam.EventTime, string, []byte)](&changeObsFn{})
	register.DoFn3x0[context.Context, tickbeam.PriceChange, func(beam.EventTime, string, []byte)](&priceChangeObsFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, []byte,
		func(beam.EventTime, tickbeam.Alert), error](&seqFn{})
	register.Emitter2[beam.EventTime, tickbeam.Alert]()
}

// Evaluate runs a sequence rule (every kind but stale_feed and outlier) over
// its input and returns PCollection<tickbeam.Alert>, in the global window,
// each alert timestamped at its event time. The input is what the rule's
// InputOf names:
//
//	ticks       PCollection<tickbeam.Tick>
//	bars        PCollection<tickbeam.Bar> (rows of other resolutions are skipped)
//	changes     PCollection<tickbeam.PriceChange> (rows without a previous
//	            close are skipped), PCollection<alerts.Observation> (Symbol,
//	            Time, Value = change %, Ref = previous close), or of any struct
//	            with the fields Symbol string, EventTime time.Time and
//	            ChangePct float64 (PrevClose float64 optional; 0 skips the row)
//	indicators  PCollection<tickbeam.IndicatorValue> (the rule's rsi_N rows)
//	crosses     PCollection<indicators.CrossEvent> (the rule's fast/slow pair)
//
// Rows of symbols the rule does not watch, and rows outside its Sessions,
// are dropped before the shuffle. The rest are evaluated per symbol in
// event-time order, whatever their arrival order: a row waits in state until
// the watermark passes it. Bars: EARLY panes are ignored (counted in
// tickbeam/alerts.early_panes), because a rule's state (hysteresis,
// cooldown, trailing volumes) cannot be rewound to undo a provisional bar;
// of the panes of one window that wait together the highest pane_index is
// evaluated; a pane arriving after its window was evaluated (a LATE pane),
// like any row at or before the last evaluated one, is late: counted in
// tickbeam/alerts.late_rows and dropped.
//
// State per symbol (the rule's state and the bounded reorder buffer) lives in
// the global window and is released by an event-time timer once the symbol
// has sent nothing for the rule's StateTTL; rows StateTTL or more apart
// restart the rule's state even when they arrive together, so batch and
// streaming agree. Evaluate panics on an invalid rule or a wrong input type,
// as Beam transforms do at construction; Apply returns those as errors.
func Evaluate(s beam.Scope, r Rule, col beam.PCollection) beam.PCollection {
	out, err := tryEvaluate(s, r, col)
	if err != nil {
		panic(err)
	}
	return out
}

func tryEvaluate(s beam.Scope, r Rule, col beam.PCollection) (beam.PCollection, error) {
	if err := r.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	if r.Kind == KindStaleFeed || r.Kind == KindOutlier {
		return beam.PCollection{}, fmt.Errorf("alerts: rule %s: %s is not a sequence rule: use alerts.%s", r.Name, r.Kind,
			map[Kind]string{KindStaleFeed: "StaleFeed", KindOutlier: "Outliers"}[r.Kind])
	}
	if !col.IsValid() {
		return beam.PCollection{}, fmt.Errorf("alerts: rule %s: no %s input", r.Name, r.input())
	}
	conv, err := converter(r, col)
	if err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("alerts." + r.Name)
	global := beam.WindowInto(s, window.NewGlobalWindows(), col)
	batches := beam.ParDo(s, conv, global)
	return beam.ParDo(s, newSeqFn(r), batches), nil
}

var (
	tickType        = reflect.TypeOf(tickbeam.Tick{})
	barType         = reflect.TypeOf(tickbeam.Bar{})
	indicatorType   = reflect.TypeOf(tickbeam.IndicatorValue{})
	crossType       = reflect.TypeOf(indicators.CrossEvent{})
	obsType         = reflect.TypeOf(Observation{})
	priceChangeType = reflect.TypeOf(tickbeam.PriceChange{})
)

// converter returns the DoFn that turns the rule's input rows into keyed
// Observations, after checking the input's element type.
func converter(r Rule, col beam.PCollection) (any, error) {
	in := r.input()
	got := col.Type().Type()
	want := map[Input]reflect.Type{InputTicks: tickType, InputBars: barType, InputIndicators: indicatorType, InputCrosses: crossType}[in]
	if in == InputChanges && got == priceChangeType {
		return &priceChangeObsFn{Rule: r}, nil
	}
	if in == InputChanges {
		if err := checkChangeType(got); err != nil {
			return nil, fmt.Errorf("alerts: rule %s: %s input: %w", r.Name, in, err)
		}
		return &changeObsFn{Rule: r}, nil
	}
	if got != want {
		return nil, fmt.Errorf("alerts: rule %s: %s input must be a PCollection<%v>, got PCollection<%v>", r.Name, in, want, got)
	}
	switch in {
	case InputTicks:
		return &tickObsFn{Rule: r}, nil
	case InputBars:
		return &barObsFn{Rule: r}, nil
	case InputIndicators:
		return &indicatorObsFn{Rule: r}, nil
	}
	return &crossObsFn{Rule: r}, nil
}

// filter is what every converter shares: the rule's schedule, and the
// bundle's Observations packed per symbol, so the rule's state is touched
// once per batch, not per row.
type filter struct {
	sched *Schedule
	res   time.Duration
	batch reorder.Batcher[Observation]
}

func (f *filter) setup(r *Rule) {
	f.sched, _ = NewSchedule(r.Sessions) // validated at construction
	if r.Resolution != "" {
		res, _ := bars.ParseResolution(r.Resolution)
		f.res = res.Duration()
	}
	f.batch = reorder.Batcher[Observation]{Codec: obsCodec, Time: obsTime}
}

func (f *filter) add(o Observation, emit func(beam.EventTime, string, []byte)) {
	f.batch.Add(o.Symbol, o, emit)
}

// FinishBundle, promoted to each converter, emits the bundle's batches.
func (f *filter) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	f.batch.Flush(emit)
}

func obsTime(o Observation) time.Time { return o.Time }

type tickObsFn struct {
	Rule Rule
	filter
}

func (fn *tickObsFn) Setup() { fn.setup(&fn.Rule) }

func (fn *tickObsFn) ProcessElement(_ context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	if !fn.Rule.Matches(t.Symbol) || !fn.sched.IsOpen(t.EventTime) {
		return
	}
	if fn.Rule.Kind == KindSpread {
		if t.BidPrice <= 0 || t.AskPrice <= 0 {
			return
		}
	} else if t.Price <= 0 {
		return
	}
	fn.add(Observation{Symbol: t.Symbol, Time: t.EventTime, ID: t.TradeID, Price: t.Price, Bid: t.BidPrice, Ask: t.AskPrice}, emit)
}

type barObsFn struct {
	Rule Rule
	filter
}

func (fn *barObsFn) Setup() { fn.setup(&fn.Rule) }

func (fn *barObsFn) ProcessElement(ctx context.Context, b tickbeam.Bar, emit func(beam.EventTime, string, []byte)) {
	if b.Resolution != fn.Rule.Resolution || !fn.Rule.Matches(b.Symbol) || !fn.sched.IsOpen(b.WindowStart) {
		return
	}
	if b.Timing == tickbeam.Early {
		cEarly.Inc(ctx, 1)
		return
	}
	fn.add(Observation{Symbol: b.Symbol, Time: b.WindowEnd, WindowStart: b.WindowStart, Pane: b.PaneIndex,
		Close: b.Close, VWAP: b.VWAP, Volume: b.Volume, Notional: b.Notional}, emit)
}

type indicatorObsFn struct {
	Rule Rule
	filter
	name string
}

func (fn *indicatorObsFn) Setup() {
	fn.setup(&fn.Rule)
	fn.name = indicators.RSI(fn.Rule.period()).Name()
}

func (fn *indicatorObsFn) ProcessElement(_ context.Context, v tickbeam.IndicatorValue, emit func(beam.EventTime, string, []byte)) {
	if v.Indicator != fn.name || (fn.Rule.Resolution != "" && v.Resolution != fn.Rule.Resolution) ||
		!fn.Rule.Matches(v.Symbol) || !fn.sched.IsOpen(v.WindowStart) {
		return
	}
	fn.add(Observation{Symbol: v.Symbol, Time: v.WindowStart.Add(resolutionOf(v.Resolution)), WindowStart: v.WindowStart,
		Value: v.Value, Name: v.Indicator}, emit)
}

// resolutionOf is a row's resolution as a duration, 0 if it does not parse.
func resolutionOf(s string) time.Duration {
	r, err := bars.ParseResolution(s)
	if err != nil {
		return 0
	}
	return r.Duration()
}

type crossObsFn struct {
	Rule Rule
	filter
	name string
}

func (fn *crossObsFn) Setup() {
	fn.setup(&fn.Rule)
	c, _ := fn.Rule.crossover()
	fn.name = c.Name()
}

func (fn *crossObsFn) ProcessElement(_ context.Context, e indicators.CrossEvent, emit func(beam.EventTime, string, []byte)) {
	if e.Crossover != fn.name || (fn.Rule.Resolution != "" && e.Resolution != fn.Rule.Resolution) ||
		!fn.Rule.Matches(e.Symbol) || !fn.sched.IsOpen(e.WindowStart) {
		return
	}
	var cross int8
	switch e.Cross {
	case indicators.CrossGolden:
		cross = 1
	case indicators.CrossDeath:
		cross = -1
	default:
		return
	}
	fn.add(Observation{Symbol: e.Symbol, Time: e.WindowStart.Add(resolutionOf(e.Resolution)), WindowStart: e.WindowStart,
		Name: e.Crossover, Cross: cross, Fast: e.FastValue, Slow: e.SlowValue}, emit)
}

// changeFields locates the fields of a change row type by name.
type changeFields struct{ symbol, eventTime, changePct, prevClose []int }

var changeFieldCache sync.Map // reflect.Type → *changeFields

func checkChangeType(t reflect.Type) error {
	_, err := changeFieldsOf(t)
	return err
}

func changeFieldsOf(t reflect.Type) (*changeFields, error) {
	if v, ok := changeFieldCache.Load(t); ok {
		return v.(*changeFields), nil
	}
	if t == obsType {
		return nil, nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("want alerts.Observation or a struct with Symbol, EventTime and ChangePct fields, got %v", t)
	}
	var cf changeFields
	var missing []string
	for _, f := range []struct {
		name string
		typ  reflect.Type
		dst  *[]int
		opt  bool
	}{
		{"Symbol", reflect.TypeOf(""), &cf.symbol, false},
		{"EventTime", reflect.TypeOf(time.Time{}), &cf.eventTime, false},
		{"ChangePct", reflect.TypeOf(0.0), &cf.changePct, false},
		{"PrevClose", reflect.TypeOf(0.0), &cf.prevClose, true},
	} {
		sf, ok := t.FieldByName(f.name)
		if ok && sf.Type == f.typ {
			*f.dst = sf.Index
		} else if !f.opt {
			missing = append(missing, fmt.Sprintf("%s %v", f.name, f.typ))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%v has no field %s (want alerts.Observation or a struct with Symbol string, EventTime time.Time and ChangePct float64)", t, strings.Join(missing, ", "))
	}
	changeFieldCache.Store(t, &cf)
	return &cf, nil
}

// changeObsFn reads change rows of any type with the fields changeFieldsOf
// wants, or Observations.
type changeObsFn struct {
	Rule Rule
	filter
}

func (fn *changeObsFn) Setup() { fn.setup(&fn.Rule) }

func (fn *changeObsFn) ProcessElement(_ context.Context, row typex.T, emit func(beam.EventTime, string, []byte)) {
	var o Observation
	if x, ok := row.(Observation); ok {
		o = x
	} else {
		v := reflect.ValueOf(row)
		cf, err := changeFieldsOf(v.Type())
		if err != nil {
			panic(fmt.Sprintf("alerts: rule %s: %v", fn.Rule.Name, err))
		}
		o.Symbol = v.FieldByIndex(cf.symbol).String()
		o.Time = v.FieldByIndex(cf.eventTime).Interface().(time.Time)
		o.Value = v.FieldByIndex(cf.changePct).Float()
		if cf.prevClose != nil {
			if o.Ref = v.FieldByIndex(cf.prevClose).Float(); o.Ref == 0 {
				return // no previous close: no change to judge
			}
		}
	}
	if !fn.Rule.Matches(o.Symbol) || !fn.sched.IsOpen(o.Time) {
		return
	}
	fn.add(o, emit)
}

// priceChangeObsFn reads the enrich package's rows.
type priceChangeObsFn struct {
	Rule Rule
	filter
}

func (fn *priceChangeObsFn) Setup() { fn.setup(&fn.Rule) }

func (fn *priceChangeObsFn) ProcessElement(_ context.Context, c tickbeam.PriceChange, emit func(beam.EventTime, string, []byte)) {
	if c.PrevClose == 0 || c.PrevCloseSource == tickbeam.PrevCloseNone || !fn.Rule.Matches(c.Symbol) || !fn.sched.IsOpen(c.EventTime) {
		return
	}
	fn.add(Observation{Symbol: c.Symbol, Time: c.EventTime, ID: c.TradeID, Price: c.Price, Value: c.ChangePct, Ref: c.PrevClose}, emit)
}

// seqFn evaluates one rule per symbol in event-time order. Its input is
// the converters' batches of Observations.
type seqFn struct {
	Rule        Rule
	MaxBuffered int

	Meta   state.Value[[]byte]
	Eval   state.Value[[]byte]
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime // tags reorder.FlushTag(hold) and reorder.TagRelease

	ev  *Evaluator
	ord *reorder.Buffer[Observation]
}

func newSeqFn(r Rule) *seqFn {
	return &seqFn{
		Rule:   r,
		Meta:   state.MakeValueState[[]byte]("meta"),
		Eval:   state.MakeValueState[[]byte]("eval"),
		Buffer: state.MakeBagState[[]byte]("buffer"),
		Timer:  timers.InEventTime("timer"),
	}
}

func compareObs(a, b Observation) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := reorder.CompareIDs(a.ID, b.ID); c != 0 {
		return c
	}
	return int(b.Pane - a.Pane) // the highest pane of a window first
}

// sameWindow: of a bar window's panes only the first (highest) is kept.
func sameWindow(prev, next Observation) bool {
	return !prev.WindowStart.IsZero() && prev.WindowStart.Equal(next.WindowStart) && prev.Time.Equal(next.Time)
}

func (f *seqFn) Setup() error {
	ev, err := NewEvaluator(f.Rule)
	if err != nil {
		return err
	}
	f.ev = ev
	f.ord = &reorder.Buffer[Observation]{Bag: &f.Buffer, Timer: &f.Timer, Codec: obsCodec, MaxBuffered: f.MaxBuffered,
		TTL: f.Rule.stateTTL(), Time: obsTime, Compare: compareObs, Duplicate: sameWindow}
	return nil
}

func (f *seqFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, batch []byte,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	rows, err := obsCodec.Decode(nil, batch)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	m, _, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	prev := m
	late, forced, err := f.ord.Add(sp, tp, &m, rows)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	if len(late) > 0 {
		cLate.Inc(ctx, int64(len(late)))
	}
	if len(forced) > 0 {
		cForced.Inc(ctx, int64(len(forced)))
		if err := f.evaluate(ctx, sp, key, prev, forced, emit); err != nil {
			return err
		}
	}
	return f.writeMeta(sp, key, m)
}

func (f *seqFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, timer timers.Context,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	m, ok, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	if !ok {
		return nil // released already
	}
	prev := m
	switch {
	case reorder.IsFlush(timer.Tag):
		due, err := f.ord.Flush(sp, tp, &m)
		if err != nil {
			return f.errorf(key, "%w", err)
		}
		if err := f.evaluate(ctx, sp, key, prev, due, emit); err != nil {
			return err
		}
		return f.writeMeta(sp, key, m)
	case timer.Tag == reorder.TagRelease:
		if ts != m.ReleaseAt {
			return nil // a later row moved the release
		}
		// Normally flushed already: the flush timer is earlier.
		due, err := f.ord.Drain(sp, tp, &m, ts)
		if err != nil {
			return f.errorf(key, "%w", err)
		}
		if err := f.evaluate(ctx, sp, key, prev, due, emit); err != nil {
			return err
		}
		for _, clear := range []func(state.Provider) error{f.Meta.Clear, f.Eval.Clear, f.Buffer.Clear} {
			if err := clear(sp); err != nil {
				return f.errorf(key, "release state: %w", err)
			}
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return f.errorf(key, "unexpected timer %q/%q", timer.Family, timer.Tag)
}

// evaluate feeds rows, in order, to the key's Evaluator and emits its alerts.
// prev is the bookkeeping before the rows were taken (its frontier is the
// last row evaluated before them).
func (f *seqFn) evaluate(ctx context.Context, sp state.Provider, key string, prev reorder.Meta, rows []Observation,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	if len(rows) == 0 {
		return nil
	}
	b, ok, err := f.Eval.Read(sp)
	if err != nil {
		return f.errorf(key, "read state: %w", err)
	}
	if ok {
		if err := f.ev.UnmarshalState(b); err != nil {
			return f.errorf(key, "%w", err)
		}
	} else {
		f.ev.Reset()
	}
	ttl := f.Rule.stateTTL()
	last, has := prev.Frontier, prev.HasFrontier
	now := time.Now().UTC()
	for _, o := range rows {
		t := o.Time.UnixNano()
		if has && time.Duration(t-last) >= ttl {
			f.ev.Reset() // as if the release timer had fired between them
		}
		last, has = t, true
		for _, a := range f.ev.Observe(o) {
			a.DetectedAt = now
			emit(mtime.FromTime(o.Time), a)
			cFired.Inc(ctx, 1)
		}
	}
	enc, err := f.ev.MarshalState()
	if err == nil {
		err = f.Eval.Write(sp, enc)
	}
	if err != nil {
		return f.errorf(key, "write state: %w", err)
	}
	return nil
}

func (f *seqFn) writeMeta(sp state.Provider, key string, m reorder.Meta) error {
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
		return f.errorf(key, "write state: %w", err)
	}
	return nil
}

func (f *seqFn) errorf(key, format string, args ...any) error {
	return fmt.Errorf("alerts: rule %s: %q: %w", f.Rule.Name, key, fmt.Errorf(format, args...))
}

// DefaultMaxBuffered bounds a rule's reorder buffer per symbol. Past it the
// oldest half is evaluated at once, ahead of the watermark, and an older row
// arriving later is late. A batch run delivers every row of a symbol before
// the watermark moves, so it holds up to this many rows per symbol in order.
const DefaultMaxBuffered = reorder.DefaultMaxBuffered
