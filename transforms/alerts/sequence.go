package alerts

import (
	"context"
	"fmt"
	"math/bits"
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
	"github.com/tickbeam/tickbeam/internal/wire"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/indicators"
	"github.com/tickbeam/tickbeam/transforms/internal/tickpack"
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
	register.DoFn3x1[context.Context, dedupe.Batch, func(beam.EventTime, string, []byte), error](&tickBatchObsFn{})
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

// evaluateRule runs a sequence rule (every kind but stale_feed and outlier) over
// its input and returns PCollection<tickbeam.Alert>, in the global window,
// each alert timestamped at its event time. The input is what the rule's
// input names:
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
// streaming agree. evaluateRule panics on an invalid rule or a wrong input type,
// as Beam transforms do at construction; Apply returns those as errors.
//
// Apply runs all the sequence rules of one input in a single stateful step
// (one buffer per symbol, each row evaluated by every rule that reads it):
// prefer it to one evaluateRule per rule.
func evaluateRule(s beam.Scope, r Rule, col beam.PCollection) beam.PCollection {
	out, err := tryEvaluate(s, "alerts."+r.Name, []Rule{r}, col)
	if err != nil {
		panic(err)
	}
	return out
}

// maxGroup bounds the rules one stateful step evaluates: a row carries the
// set of rules that read it as a fixed bitmask.
const maxGroup = 64 * len(ruleMask{})

// ruleMask is a set of rule indexes within a group.
type ruleMask [4]uint64

func (m *ruleMask) set(i int)   { m[i/64] |= 1 << (i % 64) }
func (m *ruleMask) empty() bool { return *m == ruleMask{} }

// each calls f with every index in m, in increasing order.
func (m *ruleMask) each(f func(int)) {
	for w, word := range m {
		for word != 0 {
			f(w*64 + bits.TrailingZeros64(word))
			word &= word - 1
		}
	}
}

// ruleObs is an Observation with the rules of its group that read it.
type ruleObs struct {
	Observation
	rules ruleMask
}

// tryEvaluate builds one stateful step evaluating rules, sequence rules of
// one input (at most maxGroup), on col.
func tryEvaluate(s beam.Scope, name string, rules []Rule, col beam.PCollection) (beam.PCollection, error) {
	if len(rules) == 0 || len(rules) > maxGroup {
		return beam.PCollection{}, fmt.Errorf("alerts: %s: %d rules in one step, want 1 to %d", name, len(rules), maxGroup)
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return beam.PCollection{}, err
		}
		if !r.sequence() {
			return beam.PCollection{}, fmt.Errorf("alerts: rule %s: %s is not a sequence rule (Apply runs it)", r.Name, r.Kind)
		}
		if r.input() != rules[0].input() {
			return beam.PCollection{}, fmt.Errorf("alerts: %s: rule %s reads %s, rule %s reads %s: one step reads one input", name, r.Name, r.input(), rules[0].Name, rules[0].input())
		}
	}
	if !col.IsValid() {
		return beam.PCollection{}, fmt.Errorf("alerts: rule %s: no %s input", rules[0].Name, rules[0].input())
	}
	conv, err := converter(rules, col)
	if err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope(name)
	global := beam.WindowInto(s, window.NewGlobalWindows(), col)
	batches := beam.ParDo(s, conv, global)
	seq := newSeqFn(name, rules)
	_, seq.PackedTicks = conv.(*tickBatchObsFn)
	return beam.ParDo(s, seq, batches), nil
}

var (
	tickType        = reflect.TypeOf(tickbeam.Tick{})
	batchType       = reflect.TypeOf(dedupe.Batch{})
	barType         = reflect.TypeOf(tickbeam.Bar{})
	indicatorType   = reflect.TypeOf(tickbeam.IndicatorValue{})
	crossType       = reflect.TypeOf(indicators.CrossEvent{})
	obsType         = reflect.TypeOf(Observation{})
	priceChangeType = reflect.TypeOf(tickbeam.PriceChange{})
)

// converter returns the DoFn that turns the rules' input rows (the rules
// share one input) into keyed Observations, after checking the input's
// element type.
func converter(rules []Rule, col beam.PCollection) (any, error) {
	r := rules[0]
	in := r.input()
	got := col.Type().Type()
	want := map[Input]reflect.Type{InputTicks: tickType, InputBars: barType, InputIndicators: indicatorType, InputCrosses: crossType,
		InputPortfolio: portfolioType}[in]
	if in == InputChanges && got == priceChangeType {
		return &priceChangeObsFn{Rules: rules}, nil
	}
	if in == InputChanges {
		if err := checkChangeType(got); err != nil {
			return nil, fmt.Errorf("alerts: rule %s: %s input: %w", r.Name, in, err)
		}
		return &changeObsFn{Rules: rules}, nil
	}
	if got != want && (in != InputTicks || got != batchType) {
		return nil, fmt.Errorf("alerts: rule %s: %s input must be a PCollection<%v>, got PCollection<%v>", r.Name, in, want, got)
	}
	switch in {
	case InputTicks:
		if got == batchType {
			return &tickBatchObsFn{tickObsFn: tickObsFn{Rules: rules}}, nil
		}
		return &tickObsFn{Rules: rules}, nil
	case InputBars:
		return &barObsFn{Rules: rules}, nil
	case InputIndicators:
		return &indicatorObsFn{Rules: rules}, nil
	case InputPortfolio:
		return &portfolioObsFn{Rules: rules}, nil
	}
	return &crossObsFn{Rules: rules}, nil
}

// filter is what every converter shares: the rules' schedules, which rules
// watch a symbol, and the bundle's Observations packed per symbol, so the
// rules' state is touched once per batch, not per row.
type filter struct {
	rules    []Rule
	scheds   []*sessionSchedule
	watching map[string]ruleMask // per symbol, the rules whose Symbols match it
	batch    reorder.Batcher[ruleObs]
}

func (f *filter) setup(rules []Rule) {
	f.rules = rules
	f.scheds = make([]*sessionSchedule, len(rules))
	for i := range rules {
		f.scheds[i], _ = newSchedule(rules[i].Sessions) // validated at construction
	}
	f.watching = map[string]ruleMask{}
	f.batch = reorder.Batcher[ruleObs]{Codec: ruleObsCodec, Time: ruleObsTime}
}

// watches returns the rules watching symbol.
func (f *filter) watches(symbol string) ruleMask {
	w, ok := f.watching[symbol]
	if !ok {
		for i := range f.rules {
			if f.rules[i].Matches(symbol) {
				w.set(i)
			}
		}
		f.watching[symbol] = w
	}
	return w
}

// selectRules returns the rules watching symbol that are in session at t
// and accept the row (keep).
func (f *filter) selectRules(symbol string, t time.Time, keep func(i int, r *Rule) bool) ruleMask {
	return f.selectWatched(f.watches(symbol), t, keep)
}

// selectWatched is selectRules of the rules w watching a symbol.
func (f *filter) selectWatched(w ruleMask, t time.Time, keep func(i int, r *Rule) bool) ruleMask {
	var m ruleMask
	w.each(func(i int) {
		if f.scheds[i].IsOpen(t) && keep(i, &f.rules[i]) {
			m.set(i)
		}
	})
	return m
}

func (f *filter) add(o Observation, m ruleMask, emit func(beam.EventTime, string, []byte)) {
	if !m.empty() {
		f.batch.Add(o.Symbol, ruleObs{Observation: o, rules: m}, emit)
	}
}

// FinishBundle, promoted to each converter, emits the bundle's batches.
func (f *filter) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	f.batch.Flush(emit)
}

func ruleObsTime(o ruleObs) time.Time { return o.Time }

type tickObsFn struct {
	Rules []Rule
	filter
	quotes []bool // per rule: it reads quotes, not trades
	// mu guards filter.watching for unpackTicks, which seqFn's flush runs
	// on several goroutines (reorder.Buffer.UnpackWorkers).
	mu sync.Mutex
}

func (fn *tickObsFn) Setup() {
	fn.setup(fn.Rules)
	fn.quotes = make([]bool, len(fn.Rules))
	for i := range fn.Rules {
		fn.quotes[i] = fn.Rules[i].spec().quotes
	}
}

func (fn *tickObsFn) ProcessElement(_ context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	fn.observe(&t, emit)
}

// tickBatchObsFn is tickObsFn over dedupe's batches. A batch of one symbol
// that a rule watches goes on to seqFn as it came, undecoded, packed with the
// bundle's other batches of its symbol; seqFn decodes it (unpackTicks) when
// its rows may be due (or at once when they are few, or may be late: see
// reorder.Buffer). Other batches are read tick by tick.
type tickBatchObsFn struct {
	tickObsFn
	packed reorder.Packer
}

func (fn *tickBatchObsFn) ProcessElement(_ context.Context, b dedupe.Batch, emit func(beam.EventTime, string, []byte)) error {
	if took, err := tickpack.Add(&fn.packed, b, fn.watched, emit); took || err != nil {
		return err
	}
	return b.Each(func(t *tickbeam.Tick) { fn.observe(t, emit) })
}

func (fn *tickBatchObsFn) watched(symbol string) bool {
	w := fn.watches(symbol)
	return !w.empty()
}

func (fn *tickBatchObsFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, []byte)) {
	fn.packed.Flush(emit)
	fn.filter.FinishBundle(ctx, emit)
}

// unpackTicks decodes a dedupe batch that tickBatchObsFn packed into the
// observations of the rules reading its ticks. It is safe for concurrent
// use: it looks up which rules watch the batch's symbol once, under mu.
func (fn *tickObsFn) unpackTicks(part []byte, f func(ruleObs)) error {
	b, err := dedupe.DecodeBatch(part)
	if err != nil {
		return err
	}
	var symbol string
	var w ruleMask
	return b.Each(func(t *tickbeam.Tick) {
		if t.Symbol != symbol || symbol == "" {
			fn.mu.Lock()
			symbol, w = t.Symbol, fn.watches(t.Symbol)
			fn.mu.Unlock()
		}
		if o, ok := fn.watchedObservation(t, w); ok {
			f(o)
		}
	})
}

func (fn *tickObsFn) observe(t *tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	if o, ok := fn.observation(t); ok {
		fn.batch.Add(o.Symbol, o, emit)
	}
}

// observation is t as the rules reading it see it; false when none does.
func (fn *tickObsFn) observation(t *tickbeam.Tick) (ruleObs, bool) {
	return fn.watchedObservation(t, fn.watches(t.Symbol))
}

// watchedObservation is observation, given the rules w watching t's symbol.
func (fn *tickObsFn) watchedObservation(t *tickbeam.Tick, w ruleMask) (ruleObs, bool) {
	quoted, traded := t.BidPrice > 0 && t.AskPrice > 0, t.Price > 0
	if !quoted && !traded {
		return ruleObs{}, false
	}
	m := fn.selectWatched(w, t.EventTime, func(i int, _ *Rule) bool {
		if fn.quotes[i] {
			return quoted
		}
		return traded
	})
	o := Observation{Symbol: t.Symbol, Time: t.EventTime, ID: t.TradeID, Price: t.Price, Bid: t.BidPrice, Ask: t.AskPrice}
	return ruleObs{Observation: o, rules: m}, !m.empty()
}

type barObsFn struct {
	Rules []Rule
	filter
}

func (fn *barObsFn) Setup() { fn.setup(fn.Rules) }

func (fn *barObsFn) ProcessElement(ctx context.Context, b tickbeam.Bar, emit func(beam.EventTime, string, []byte)) {
	m := fn.selectRules(b.Symbol, b.WindowStart, func(_ int, r *Rule) bool { return r.Resolution == b.Resolution })
	if m.empty() {
		return
	}
	if b.Timing == tickbeam.Early {
		cEarly.Inc(ctx, 1)
		return
	}
	fn.add(Observation{Symbol: b.Symbol, Time: b.WindowEnd, WindowStart: b.WindowStart, Pane: b.PaneIndex,
		Close: b.Close, VWAP: b.VWAP, Volume: b.Volume, Notional: b.Notional}, m, emit)
}

type indicatorObsFn struct {
	Rules []Rule
	filter
	names []string // per rule, the indicator it reads
}

func (fn *indicatorObsFn) Setup() {
	fn.setup(fn.Rules)
	fn.names = make([]string, len(fn.Rules))
	for i := range fn.Rules {
		fn.names[i] = indicators.RSI(fn.Rules[i].period()).Name()
	}
}

func (fn *indicatorObsFn) ProcessElement(_ context.Context, v tickbeam.IndicatorValue, emit func(beam.EventTime, string, []byte)) {
	m := fn.selectRules(v.Symbol, v.WindowStart, func(i int, r *Rule) bool {
		return v.Indicator == fn.names[i] && (r.Resolution == "" || v.Resolution == r.Resolution)
	})
	fn.add(Observation{Symbol: v.Symbol, Time: v.WindowStart.Add(resolutionOf(v.Resolution)), WindowStart: v.WindowStart,
		Value: v.Value, Name: v.Indicator}, m, emit)
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
	Rules []Rule
	filter
	names []string // per rule, the crossover it reads
}

func (fn *crossObsFn) Setup() {
	fn.setup(fn.Rules)
	fn.names = make([]string, len(fn.Rules))
	for i := range fn.Rules {
		c, _ := fn.Rules[i].crossover()
		fn.names[i] = c.Name()
	}
}

func (fn *crossObsFn) ProcessElement(_ context.Context, e indicators.CrossEvent, emit func(beam.EventTime, string, []byte)) {
	var cross int8
	switch e.Cross {
	case indicators.CrossGolden:
		cross = 1
	case indicators.CrossDeath:
		cross = -1
	default:
		return
	}
	m := fn.selectRules(e.Symbol, e.WindowStart, func(i int, r *Rule) bool {
		return e.Crossover == fn.names[i] && (r.Resolution == "" || e.Resolution == r.Resolution)
	})
	fn.add(Observation{Symbol: e.Symbol, Time: e.WindowStart.Add(resolutionOf(e.Resolution)), WindowStart: e.WindowStart,
		Name: e.Crossover, Cross: cross, Fast: e.FastValue, Slow: e.SlowValue}, m, emit)
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
	Rules []Rule
	filter
}

func (fn *changeObsFn) Setup() { fn.setup(fn.Rules) }

func (fn *changeObsFn) ProcessElement(_ context.Context, row typex.T, emit func(beam.EventTime, string, []byte)) {
	var o Observation
	if x, ok := row.(Observation); ok {
		o = x
	} else {
		v := reflect.ValueOf(row)
		cf, err := changeFieldsOf(v.Type())
		if err != nil {
			panic(fmt.Sprintf("alerts: rule %s: %v", fn.Rules[0].Name, err))
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
	fn.add(o, fn.selectRules(o.Symbol, o.Time, every), emit)
}

func every(int, *Rule) bool { return true }

// priceChangeObsFn reads the enrich package's rows.
type priceChangeObsFn struct {
	Rules []Rule
	filter
}

func (fn *priceChangeObsFn) Setup() { fn.setup(fn.Rules) }

func (fn *priceChangeObsFn) ProcessElement(_ context.Context, c tickbeam.PriceChange, emit func(beam.EventTime, string, []byte)) {
	if c.PrevClose == 0 || c.PrevCloseSource == tickbeam.PrevCloseNone {
		return
	}
	fn.add(Observation{Symbol: c.Symbol, Time: c.EventTime, ID: c.TradeID, Price: c.Price, Value: c.ChangePct, Ref: c.PrevClose},
		fn.selectRules(c.Symbol, c.EventTime, every), emit)
}

// seqFn evaluates a group of rules of one input per symbol in event-time
// order: one reorder buffer per symbol, and each row fed to the rules that
// read it. Its input is the converters' batches.
type seqFn struct {
	Name        string
	Rules       []Rule
	MaxBuffered int
	// PackedTicks: the input holds dedupe's batches as tickBatchObsFn packs
	// them, decoded into observations by the reorder buffer (unpackTicks).
	PackedTicks bool

	Meta   state.Value[[]byte] // reorder.Meta; its Aux holds the rules' states (ruleStates)
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime // tags reorder.FlushTag(hold) and reorder.TagRelease

	evs []*Evaluator
	ttl time.Duration // the longest StateTTL: the symbol's release
	ord *reorder.Buffer[ruleObs]
}

func newSeqFn(name string, rules []Rule) *seqFn {
	return &seqFn{
		Name:   name,
		Rules:  rules,
		Meta:   state.MakeValueState[[]byte]("meta"),
		Buffer: state.MakeBagState[[]byte]("buffer"),
		Timer:  timers.InEventTime("timer"),
	}
}

func compareObs(a, b ruleObs) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	if c := reorder.CompareIDs(a.ID, b.ID); c != 0 {
		return c
	}
	return int(b.Pane - a.Pane) // the highest pane of a window first
}

// sameWindow: of a bar window's panes (an indicator's, a crossover's) only
// the first (highest) is kept.
func sameWindow(prev, next ruleObs) bool {
	return !prev.WindowStart.IsZero() && prev.WindowStart.Equal(next.WindowStart) && prev.Time.Equal(next.Time) &&
		prev.Name == next.Name
}

// sameTick: a tick seen twice (the same time, trade id and prices) is
// evaluated once, so the rules may read dedupe.Options.Early's batches,
// which still hold the copies dedupe drops. Ticks that match in all the
// rules read are alike to them, so on deduplicated input (two sources'
// trades of one symbol, say) dropping one changes no alert.
func sameTick(prev, next ruleObs) bool {
	return prev.Time.Equal(next.Time) && prev.ID == next.ID && prev.Price == next.Price && prev.Bid == next.Bid && prev.Ask == next.Ask
}

func (f *seqFn) Setup() error {
	f.evs = make([]*Evaluator, len(f.Rules))
	f.ttl = 0
	for i, r := range f.Rules {
		ev, err := NewEvaluator(r)
		if err != nil {
			return err
		}
		f.evs[i] = ev
		f.ttl = max(f.ttl, r.stateTTL())
	}
	f.ord = &reorder.Buffer[ruleObs]{Bag: &f.Buffer, Timer: &f.Timer, Codec: ruleObsCodec, MaxBuffered: f.MaxBuffered,
		TTL: f.ttl, Time: ruleObsTime, Compare: compareObs, Duplicate: sameWindow}
	if f.Rules[0].input() == InputTicks {
		f.ord.Duplicate = sameTick
	}
	if f.PackedTicks {
		ticks := &tickObsFn{Rules: f.Rules}
		ticks.Setup()
		f.ord.Unpack = ticks.unpackTicks
		f.ord.UnpackWorkers = reorder.Workers()
	}
	return nil
}

func (f *seqFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, batch []byte,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	m, _, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	late, forced, err := f.ord.AddBatch(sp, tp, &m, batch)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	if n := countRules(late); n > 0 {
		cLate.Inc(ctx, n)
	}
	if n := countRules(forced); n > 0 {
		cForced.Inc(ctx, n)
	}
	if err := f.evaluate(ctx, key, &m, forced, emit); err != nil {
		return err
	}
	return f.writeMeta(sp, key, m)
}

// countRules counts rows once per rule reading them, as one step per rule
// would.
func countRules(rows []ruleObs) int64 {
	var n int64
	for i := range rows {
		for _, w := range rows[i].rules {
			n += int64(bits.OnesCount64(w))
		}
	}
	return n
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
	switch {
	case reorder.IsFlush(timer.Tag):
		if !m.Current(timer.Tag) {
			return nil // a stale firing: flushed already, or the hold moved
		}
		due, err := f.ord.Flush(sp, tp, &m)
		if err != nil {
			return f.errorf(key, "%w", err)
		}
		if err := f.evaluate(ctx, key, &m, due, emit); err != nil {
			return err
		}
		return f.writeMeta(sp, key, m)
	case timer.Tag == reorder.TagRelease:
		if !f.ord.Released(tp, &m, mtime.Time(ts)) {
			return nil // a later row moved the release: re-armed
		}
		// Normally flushed already: the flush timer is earlier.
		due, err := f.ord.Drain(sp, tp, &m, ts)
		if err != nil {
			return f.errorf(key, "%w", err)
		}
		if err := f.evaluate(ctx, key, &m, due, emit); err != nil {
			return err
		}
		for _, clear := range []func(state.Provider) error{f.Meta.Clear, f.Buffer.Clear} {
			if err := clear(sp); err != nil {
				return f.errorf(key, "release state: %w", err)
			}
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return f.errorf(key, "unexpected timer %q/%q", timer.Family, timer.Tag)
}

// ruleState is one rule's state for one symbol: its Evaluator's, and the
// event time of the last row it evaluated.
type ruleState struct {
	Last  int64 // unix nanoseconds; 0: none
	State []byte
}

// evaluate feeds rows, in order, to the Evaluators of the rules reading
// them and emits their alerts. A rule's state is decoded at its first row
// and encoded once at the end, into m.Aux: the caller writes m.
func (f *seqFn) evaluate(ctx context.Context, key string, m *reorder.Meta, rows []ruleObs,
	emit func(beam.EventTime, tickbeam.Alert)) error {
	if len(rows) == 0 {
		return nil
	}
	states, err := decodeRuleStates(m.Aux, len(f.Rules))
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	var loaded ruleMask
	var evalErr error
	now := time.Now().UTC()
	for _, o := range rows {
		t := o.Time.UnixNano()
		o.rules.each(func(i int) {
			ev, st := f.evs[i], &states[i]
			if loaded[i/64]&(1<<(i%64)) == 0 {
				loaded.set(i)
				if len(st.State) == 0 {
					ev.Reset()
				} else if err := ev.UnmarshalState(st.State); err != nil && evalErr == nil {
					evalErr = err
				}
			}
			if st.Last != 0 && time.Duration(t-st.Last) >= f.Rules[i].stateTTL() {
				ev.Reset() // as if the release timer had fired between them
			}
			st.Last = t
			for _, a := range ev.Observe(o.Observation) {
				a.DetectedAt = now
				emit(mtime.FromTime(o.Time), a)
				cFired.Inc(ctx, 1)
			}
		})
	}
	if evalErr != nil {
		return f.errorf(key, "%w", evalErr)
	}
	loaded.each(func(i int) {
		enc, err := f.evs[i].MarshalState()
		if err != nil && evalErr == nil {
			evalErr = err
		}
		states[i].State = enc
	})
	if evalErr != nil {
		return f.errorf(key, "write state: %w", evalErr)
	}
	m.Aux = encodeRuleStates(states)
	return nil
}

func encodeRuleStates(states []ruleState) []byte {
	b := wire.AppendInt(nil, int64(len(states)))
	for _, st := range states {
		b = wire.AppendInt(b, st.Last)
		b = wire.AppendBytes(b, st.State)
	}
	return b
}

// decodeRuleStates decodes n rules' states; none written yet is n empty ones.
func decodeRuleStates(b []byte, n int) ([]ruleState, error) {
	states := make([]ruleState, n)
	if len(b) == 0 {
		return states, nil
	}
	r := wire.NewReader(b)
	if got := r.Int(); got != int64(n) {
		return nil, fmt.Errorf("decode rule states: %d states for %d rules", got, n)
	}
	for i := range states {
		states[i].Last = r.Int()
		states[i].State = r.Bytes()
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("decode rule states: %w", err)
	}
	return states, nil
}

func (f *seqFn) writeMeta(sp state.Provider, key string, m reorder.Meta) error {
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
		return f.errorf(key, "write state: %w", err)
	}
	return nil
}

func (f *seqFn) errorf(key, format string, args ...any) error {
	return fmt.Errorf("%s: %q: %w", f.Name, key, fmt.Errorf(format, args...))
}

// defaultMaxBuffered bounds a rule's reorder buffer per symbol. Past it the
// oldest half is evaluated at once, ahead of the watermark, and an older row
// arriving later is late. A batch run delivers every row of a symbol before
// the watermark moves, so it holds up to this many rows per symbol in order.
const defaultMaxBuffered = reorder.DefaultMaxBuffered
