package enrich

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/internal/wire"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/internal/tickpack"
)

// Source is where a previous close comes from; its values are the
// prev_close_source column's.
type Source string

// Sources of a previous close.
const (
	// SourceFeed is the tick's own PrevClose, when positive.
	SourceFeed Source = tickbeam.PrevCloseFeed
	// SourceReference is Options.References' row for the symbol and the tick's
	// trading day.
	SourceReference Source = tickbeam.PrevCloseReference
	// SourceLastClose is the last trade inside the regular session of the
	// previous trading day, as the pipeline saw it.
	SourceLastClose Source = tickbeam.PrevCloseLastClose
)

// DefaultSources is the priority order when Options.Sources is empty: what
// the feed says, else reference data, else the last regular close seen.
var DefaultSources = []Source{SourceFeed, SourceReference, SourceLastClose}

// Defaults of Options.
const (
	DefaultFlagThreshold = 5.0
	// DefaultQuiet outlasts the longest gap between two trading days of
	// the built-in calendars (a long holiday plus weekends).
	DefaultQuiet = 14 * 24 * time.Hour
	// maxDays bounds the daily closes kept per symbol; a streaming run
	// keeps two or three, a batch run one per day of its input.
	maxDays = 1024
)

// Options configure PrevClose. The zero value uses DefaultSources, no
// reference data, no splits, the XNYS calendar and a ±5% flag.
type Options struct {
	// Sources in priority order: the first that knows a previous close for
	// a tick gives it. Empty means DefaultSources.
	Sources []Source
	// References is an optional PCollection<Reference>, bounded and in the
	// global window (ParseReferenceCSV, or beam.CreateList of
	// CheckReferences' rows), read as a side input. Per (symbol, date) copies
	// that disagree are all ignored and counted.
	References beam.PCollection
	// ReferenceAdjusted says the reference closes already account for
	// splits (a vendor's adjusted previous close); by default they are raw
	// closes of the day before and adjusted like LastClose's.
	ReferenceAdjusted bool
	// Splits is an optional PCollection<Split>, bounded and in the global
	// window (ParseSplitCSV), read as a side input.
	Splits beam.PCollection
	// Calendar defines trading days and the regular session of symbols not
	// in Calendars. Nil means XNYS.
	Calendar *calendar.Calendar
	// Calendars gives some symbols their own calendar (e.g. "005930": XKRX).
	Calendars map[string]*calendar.Calendar
	// FlagThreshold is X of the ±X% flag, in percent. Zero means
	// DefaultFlagThreshold.
	FlagThreshold float64
	// QuoteMidpoint prices quotes that carry no last price at the midpoint
	// (bid+ask)/2 when both sides are set. By default only quotes with a last
	// price (TradingView lp, Alpha Vantage GLOBAL_QUOTE) are enriched.
	QuoteMidpoint bool
	// SkipMissing drops ticks with no previous close (still counted)
	// instead of emitting them with prev_close_source NONE.
	SkipMissing bool
	// Quiet is how long, in event time, a symbol may send no tick before
	// its LastClose state is released. Zero means DefaultQuiet.
	Quiet time.Duration
}

// Validate reports what PrevClose would panic on.
func (o Options) Validate() error {
	if _, err := o.withDefaults(); err != nil {
		return fmt.Errorf("enrich: %w", err)
	}
	return nil
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Sources) == 0 {
		o.Sources = DefaultSources
	}
	seen := map[Source]bool{}
	for _, src := range o.Sources {
		switch src {
		case SourceFeed, SourceReference, SourceLastClose:
		default:
			return o, fmt.Errorf("unknown source %q (want %s, %s or %s)", src, SourceFeed, SourceReference, SourceLastClose)
		}
		if seen[src] {
			return o, fmt.Errorf("source %s listed twice", src)
		}
		seen[src] = true
	}
	if o.Calendar == nil {
		c, err := calendar.Lookup("XNYS")
		if err != nil {
			return o, err
		}
		o.Calendar = c
	}
	for sym, c := range o.Calendars {
		if c == nil {
			return o, fmt.Errorf("nil calendar for symbol %q", sym)
		}
	}
	switch {
	case o.FlagThreshold == 0:
		o.FlagThreshold = DefaultFlagThreshold
	case !(o.FlagThreshold > 0) || math.IsInf(o.FlagThreshold, 0):
		return o, fmt.Errorf("FlagThreshold %v is not a positive percentage", o.FlagThreshold)
	}
	if o.Quiet < 0 {
		return o, fmt.Errorf("negative Quiet %v", o.Quiet)
	}
	if o.Quiet == 0 {
		o.Quiet = DefaultQuiet
	}
	return o, nil
}

func (o Options) uses(src Source) bool {
	for _, s := range o.Sources {
		if s == src {
			return true
		}
	}
	return false
}

// Counters, in namespace tickbeam/enrich.
var (
	cNoPrevClose        = beam.NewCounter("tickbeam/enrich", "no_prev_close")       // no source knew one
	cNoPrice            = beam.NewCounter("tickbeam/enrich", "no_price")            // quotes without a last price, bad prices
	cFromFeed           = beam.NewCounter("tickbeam/enrich", "from_feed")           // rows per source
	cFromReference      = beam.NewCounter("tickbeam/enrich", "from_reference")      //
	cFromLastClose      = beam.NewCounter("tickbeam/enrich", "from_last_close")     //
	cLateCloseTrades    = beam.NewCounter("tickbeam/enrich", "late_close_trades")   // regular trades after their close was used
	cBadReferences      = beam.NewCounter("tickbeam/enrich", "bad_references")      // invalid side-input rows
	cReferenceConflicts = beam.NewCounter("tickbeam/enrich", "reference_conflicts") // (symbol, date) with disagreeing rows
	cBadSplits          = beam.NewCounter("tickbeam/enrich", "bad_splits")
	cSplitConflicts     = beam.NewCounter("tickbeam/enrich", "split_conflicts")
	cReleased           = beam.NewCounter("tickbeam/enrich", "released") // symbol states released after Quiet
)

func init() {
	register.DoFn4x0[context.Context, beam.EventTime, tickbeam.Tick, func(beam.EventTime, string, item)](&prepareFn{})
	register.Emitter3[beam.EventTime, string, item]()
	register.DoFn4x0[context.Context, string, item, func(tickbeam.PriceChange)](&resolveFn{})
	register.DoFn6x0[context.Context, string, item, func(*Reference) bool, func(*Split) bool, func(tickbeam.PriceChange)](&resolveSidesFn{})
	register.Emitter1[tickbeam.PriceChange]()
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, []byte)](&prepareBatchFn{})
	register.DoFn3x1[context.Context, dedupe.Batch, func(beam.EventTime, string, []byte), error](&prepareDedupedFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, []byte,
		func(beam.EventTime, tickbeam.PriceChange), error](&lastCloseFn{})
	register.DoFn8x1[context.Context, state.Provider, timers.Provider, string, []byte, func(*Reference) bool, func(*Split) bool,
		func(beam.EventTime, tickbeam.PriceChange), error](&lastCloseSidesFn{})
	register.Emitter2[beam.EventTime, tickbeam.PriceChange]()
	beam.RegisterCoder(reflect.TypeOf(item{}), encodeItem, decodeItem)
}

// Flag is the ±X% indicator of a change in percent: POSITIVE when changePct
// is strictly above +thresholdPct, NEGATIVE when strictly below
// −thresholdPct, else (and for NaN) NEUTRAL.
func Flag(changePct, thresholdPct float64) string {
	switch {
	case changePct > thresholdPct:
		return tickbeam.FlagPositive
	case changePct < -thresholdPct:
		return tickbeam.FlagNegative
	}
	return tickbeam.FlagNeutral
}

// PrevClose enriches a PCollection<tickbeam.Tick> timestamped by event time
// (or dedupe.Batches' PCollection<dedupe.Batch>, which spares a step per tick)
// into a PCollection<tickbeam.PriceChange>, one row per priced tick, in the
// input's windows and at the tick's timestamp. See the package documentation
// for the sources, split adjustment and what happens when no previous close
// is known. It panics on invalid options (Options.Validate), as Beam
// transforms do at construction; TryPrevClose returns the error instead.
func PrevClose(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	out, err := TryPrevClose(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryPrevClose is PrevClose returning invalid options as an error instead of panicking.
func TryPrevClose(s beam.Scope, ticks beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("enrich.PrevClose")
	o, _ := opts.withDefaults() // valid: checked above
	p := plan{Sources: o.Sources, Threshold: o.FlagThreshold, ReferenceAdjusted: o.ReferenceAdjusted, SkipMissing: o.SkipMissing}
	cals := calendars{Default: o.Calendar, BySymbol: o.Calendars}
	prepare := prepareFn{Plan: p, Calendars: cals, QuoteMidpoint: o.QuoteMidpoint}
	useRefs := o.References.IsValid() && o.uses(SourceReference)
	var sides []beam.Option
	if useRefs || o.Splits.IsValid() {
		sides = sideInputs(s, o, useRefs)
	}
	batched := ticks.Type().Type() == reflect.TypeFor[dedupe.Batch]()
	if !o.uses(SourceLastClose) {
		if batched { // each item at its tick's timestamp
			ticks = dedupe.Unbatch(s, ticks)
		}
		items := beam.ParDo(s, &prepare, ticks)
		if sides != nil {
			return beam.ParDo(s, &resolveSidesFn{Plan: p, UseReferences: useRefs}, items, sides...), nil
		}
		return beam.ParDo(s, &resolveFn{Plan: p}, items), nil
	}
	// The closes must outlive any window of the ticks: keep them in the
	// global window and release them with a timer, since prism never
	// collects global state.
	ws := ticks.WindowingStrategy()
	global := beam.WindowInto(s, window.NewGlobalWindows(), ticks)
	var batches beam.PCollection
	if batched {
		batches = beam.ParDo(s, &prepareDedupedFn{prepareBatchFn: prepareBatchFn{prepareFn: prepare}}, global)
	} else {
		batches = beam.ParDo(s, &prepareBatchFn{prepareFn: prepare}, global)
	}
	fn := &lastCloseSidesFn{
		Plan:          p,
		Calendars:     cals,
		QuoteMidpoint: o.QuoteMidpoint,
		Quiet:         o.Quiet,
		UseReferences: useRefs,
		Meta:          state.MakeValueState[[]byte]("meta"),
		Pending:       state.MakeBagState[[]byte]("pending"),
		Timer:         timers.InEventTime("timer"),
	}
	var out beam.PCollection
	if sides != nil {
		out = beam.ParDo(s, fn, batches, sides...)
	} else {
		out = beam.ParDo(s, fn.lastClose(), batches)
	}
	return beam.WindowInto(s, ws.Fn, out, beam.AllowedLateness(time.Duration(ws.AllowedLateness)*time.Millisecond)), nil
}

// sideInputs are the references and splits, read by the step that resolves
// items (resolveSidesFn, lastCloseSidesFn): not by prepareFn, because
// prism (v2.77) re-schedules a stage that reads a side input in a busy loop
// while one of its bundles runs (its input watermark then lags its
// upstream's), and prepareFn's stage is the long one that reads and parses
// the input: 5.2 million empty rounds, most of a core, in a 1M-tick batch
// run. A stateful stage does not loop so.
func sideInputs(s beam.Scope, o Options, useRefs bool) []beam.Option {
	refs := beam.CreateList(s, []Reference{})
	if useRefs {
		refs = cleanReferences(s, o.References)
	}
	splits := beam.CreateList(s, []Split{})
	if o.Splits.IsValid() {
		splits = cleanSplits(s, o.Splits)
	}
	return []beam.Option{beam.SideInput{Input: refs}, beam.SideInput{Input: splits}}
}

// calendars picks a symbol's calendar; *calendar.Calendar marshals to JSON,
// so it travels inside DoFns.
type calendars struct {
	Default  *calendar.Calendar
	BySymbol map[string]*calendar.Calendar
}

func (c calendars) of(symbol string) *calendar.Calendar {
	if cal, ok := c.BySymbol[symbol]; ok {
		return cal
	}
	return c.Default
}

// sessionDate is the trading day a tick at t moves against the previous
// close of: its SessionDay, or for an instant outside every trading day
// (overnight, weekends, holidays) the next trading day, whose previous close
// is the latest one.
func sessionDate(cal *calendar.Calendar, t time.Time) calendar.Date {
	if d, ok := cal.SessionDay(t); ok {
		return d
	}
	local := calendar.DateOf(t.In(cal.Location()))
	if start, _, ok := cal.DayBounds(local); ok && t.Before(start) {
		return local
	}
	return cal.NextTradingDay(local)
}

// regularClose is the end of trading day d's regular session (of its last
// session when it has no regular one).
func regularClose(cal *calendar.Calendar, d calendar.Date) time.Time {
	ss := cal.Sessions(d)
	for _, s := range ss {
		if s.Kind == calendar.Regular {
			return s.Close
		}
	}
	if len(ss) == 0 {
		return d.In(cal.Location())
	}
	return ss[len(ss)-1].Close
}

// plan is the resolution settings both DoFns share.
type plan struct {
	Sources           []Source
	Threshold         float64
	ReferenceAdjusted bool
	SkipMissing       bool
}

// waits reports whether it must wait for SourceLastClose: it comes before
// every source that knows a close for it.
func (p plan) waits(it *item) bool {
	for _, src := range p.Sources {
		switch src {
		case SourceFeed:
			if it.Feed > 0 {
				return false
			}
		case SourceReference:
			if it.Ref > 0 {
				return false
			}
		case SourceLastClose:
			return true
		}
	}
	return false
}

// resolve fills it.Row from the first source that knows a close;
// lastClose is the raw close of it.CloseDay (0: unknown). ok is false when
// the row is to be skipped.
func (p plan) resolve(ctx context.Context, it *item, lastClose float64) (row tickbeam.PriceChange, ok bool) {
	row = it.Row
	row.SplitFactor = 1
	for _, src := range p.Sources {
		switch {
		case src == SourceFeed && it.Feed > 0:
			row.PrevClose = it.Feed
			cFromFeed.Inc(ctx, 1)
		case src == SourceReference && it.Ref > 0:
			row.PrevClose = it.Ref
			if !p.ReferenceAdjusted {
				row.SplitFactor = it.Factor
				row.PrevClose /= it.Factor
			}
			cFromReference.Inc(ctx, 1)
		case src == SourceLastClose && lastClose > 0:
			row.SplitFactor = it.Factor
			row.PrevClose = lastClose / it.Factor
			cFromLastClose.Inc(ctx, 1)
		default:
			continue
		}
		row.PrevCloseSource = string(src)
		row.Change = row.Price - row.PrevClose
		// × 100 before the division: exact for whole-percent moves
		// (10/200 × 100 is 5.000000000000001, 1000/200 is 5).
		row.ChangePct = row.Change * 100 / row.PrevClose
		row.Flag = Flag(row.ChangePct, p.Threshold)
		return row, true
	}
	cNoPrevClose.Inc(ctx, 1)
	row.PrevCloseSource = tickbeam.PrevCloseNone
	row.Flag = tickbeam.FlagNeutral
	return row, !p.SkipMissing
}

// item is a priced tick on its way to a PriceChange, with what resolution
// and the close tracking need from the calendar and the side inputs.
type item struct {
	Row      tickbeam.PriceChange // Symbol..Price and SessionDate set
	Day      calendar.Date        // the tick's trading day
	CloseDay calendar.Date        // the trading day before Day
	ReadyAt  int64                // Unix ms: end of CloseDay's regular session
	Feed     float64              // the tick's PrevClose, or 0
	Ref      float64              // the raw reference close for Day, or 0
	Factor   float64              // splits between CloseDay and Day
	Regular  bool                 // a trade in Day's regular session
	DayClose int64                // Unix ms: end of Day's regular session, for Regular items
	Waits    bool                 // resolution waits for the last close
}

// priceOf is the price a tick is enriched at.
func priceOf(t *tickbeam.Tick, midpoint bool) (float64, bool) {
	switch {
	case positive(t.Price) && (t.Kind == tickbeam.Trade || t.Kind == tickbeam.Quote):
		return t.Price, true
	case midpoint && t.Kind == tickbeam.Quote && positive(t.BidPrice) && positive(t.AskPrice):
		return (t.BidPrice + t.AskPrice) / 2, true
	}
	return 0, false
}

// prepareFn prices each tick, finds its trading day in its calendar and
// notes its feed's previous close. References and splits are looked up
// later (sides.annotate).
type prepareFn struct {
	Plan          plan
	Calendars     calendars
	QuoteMidpoint bool

	last dayFacts
	span spanFacts
}

// spanFacts are the calendar facts every tick of a span of event times
// shares (a packed batch's, see within): one lookup per batch, not two per
// tick.
type spanFacts struct {
	cal         *calendar.Calendar
	from, to    int64 // Unix ns, inclusive
	day         dayFacts
	session     calendar.Session
	sameSession bool // the span lies in one session (session)
}

// within sets the span facts of ticks of symbol from first to last: their
// trading day when both ends have the same (it only moves forward in
// time), and their session when both ends lie in the same one (sessions
// are intervals).
func (f *prepareFn) within(symbol string, first, last time.Time) {
	f.span = spanFacts{}
	if first.After(last) {
		return
	}
	cal := f.Calendars.of(symbol)
	d := sessionDate(cal, first)
	if sessionDate(cal, last) != d {
		return
	}
	f.span = spanFacts{cal: cal, from: first.UnixNano(), to: last.UnixNano(), day: f.factsOf(cal, d)}
	s1, ok1 := cal.SessionAt(first)
	s2, ok2 := cal.SessionAt(last)
	f.span.session, f.span.sameSession = s1, ok1 && ok2 && s1.Open.Equal(s2.Open)
}

// dayFacts are what prepareFn derives from a tick's trading day. Ticks come
// mostly in time order, so the last day's facts serve the next tick: a
// calendar walk and a date format per tick showed in profiles.
type dayFacts struct {
	cal      *calendar.Calendar
	day      calendar.Date
	name     string        // day.String()
	closeDay calendar.Date // the trading day before day
	readyAt  int64         // Unix ms: the end of closeDay's regular session
}

func (f *prepareFn) factsOf(cal *calendar.Calendar, day calendar.Date) dayFacts {
	if f.last.cal != cal || f.last.day != day {
		closeDay := cal.PrevTradingDay(day)
		f.last = dayFacts{cal: cal, day: day, name: day.String(), closeDay: closeDay, readyAt: regularClose(cal, closeDay).UnixMilli()}
	}
	return f.last
}

type refKey struct {
	symbol string
	day    calendar.Date
}

// sides indexes a bundle's references and splits; the zero sides has none.
type sides struct {
	refs   map[refKey]float64 // nil until the bundle's first element
	splits splitIndex
}

// index reads the side inputs once per bundle, at its first element, in
// that element's window: StartBundle has no window to read them in (prism
// served a StartBundle read empty now and then).
func (x *sides) index(useRefs bool, refs func(*Reference) bool, splits func(*Split) bool) {
	if x.refs != nil {
		return // read already in this bundle
	}
	a := newAgreed[refKey]()
	if useRefs {
		var r Reference
		for refs(&r) {
			if d, err := calendar.ParseDate(r.Date); err == nil {
				a.add(refKey{r.Symbol, d}, r.PrevClose)
			}
		}
	}
	x.refs = a.vals
	x.splits = indexSplits(splits)
}

// annotate sets the reference close and split factor of it and, from them,
// whether it waits for the last close.
func (x *sides) annotate(p plan, it *item) {
	it.Ref = x.refs[refKey{it.Row.Symbol, it.Day}]
	it.Factor = x.splits.factor(it.Row.Symbol, it.CloseDay, it.Day)
	it.Waits = p.waits(it)
}

func (f *prepareFn) ProcessElement(ctx context.Context, ts beam.EventTime, t tickbeam.Tick, emit func(beam.EventTime, string, item)) {
	if it, ok := f.prepare(ctx, &t); ok {
		emit(ts, t.Symbol, it)
	}
}

// prepare makes a tick's item; false if the tick has no price (counted in
// no_price).
func (f *prepareFn) prepare(ctx context.Context, t *tickbeam.Tick) (item, bool) {
	it, ok := f.item(t)
	if !ok {
		cNoPrice.Inc(ctx, 1)
	}
	return it, ok
}

// item makes a tick's item; false if the tick has no price.
func (f *prepareFn) item(t *tickbeam.Tick) (item, bool) {
	price, ok := priceOf(t, f.QuoteMidpoint)
	if !ok {
		return item{}, false
	}
	cal := f.Calendars.of(t.Symbol)
	sp := &f.span
	inSpan := sp.cal == cal && sp.from <= t.EventTime.UnixNano() && t.EventTime.UnixNano() <= sp.to
	day := sp.day
	if !inSpan {
		day = f.factsOf(cal, sessionDate(cal, t.EventTime))
	}
	it := item{
		Row: tickbeam.PriceChange{Symbol: t.Symbol, Kind: t.Kind, Source: t.Source, TradeID: t.TradeID, EventTime: t.EventTime,
			SessionDate: day.name, Price: price},
		Day:      day.day,
		CloseDay: day.closeDay,
		ReadyAt:  day.readyAt,
	}
	if positive(t.PrevClose) {
		it.Feed = t.PrevClose
	}
	if t.Kind == tickbeam.Trade {
		s, ok := sp.session, inSpan && sp.sameSession
		if !ok {
			s, ok = cal.SessionAt(t.EventTime)
		}
		if ok && s.Kind == calendar.Regular {
			it.Regular, it.DayClose = true, s.Close.UnixMilli()
		}
	}
	(&sides{}).annotate(f.Plan, &it)
	return it, true
}

// resolveFn finishes items when SourceLastClose is not among the sources.
type resolveFn struct {
	Plan plan
}

func (f *resolveFn) ProcessElement(ctx context.Context, _ string, it item, emit func(tickbeam.PriceChange)) {
	if row, ok := f.Plan.resolve(ctx, &it, 0); ok {
		emit(row)
	}
}

// resolveSidesFn is resolveFn with references or splits. (Its stage is
// prepareFn's, so prism's busy loop, see sideInputs, remains here: a run
// whose sources leave out the last close.)
type resolveSidesFn struct {
	Plan          plan
	UseReferences bool

	sides sides
}

// StartBundle drops the previous bundle's index: a runner may hand the
// same instance different side inputs over time.
func (f *resolveSidesFn) StartBundle(context.Context, func(*Reference) bool, func(*Split) bool, func(tickbeam.PriceChange)) {
	f.sides = sides{}
}

func (f *resolveSidesFn) ProcessElement(ctx context.Context, _ string, it item, refs func(*Reference) bool, splits func(*Split) bool,
	emit func(tickbeam.PriceChange)) {
	f.sides.index(f.UseReferences, refs, splits)
	f.sides.annotate(f.Plan, &it)
	if row, ok := f.Plan.resolve(ctx, &it, 0); ok {
		emit(row)
	}
}

// lastCloseFn is the stateful DoFn, keyed by symbol: it records each
// trading day's last regular-session trade and resolves the items that
// wait for one. An item for day D waits in the Pending bag until the
// watermark passes the end of the regular session of the day before D, when
// that day's last regular trade is known for sure; the Ready timer fires
// then. Once it has fired, the fn knows the watermark is at least that far,
// and later items of D resolve as they come, so a stream buffers only the
// first ticks of each day. The release timer clears the state after Quiet
// without ticks.
//
// Both timers are tags of one family: the Go SDK v2.77 harness counts one
// end-of-stream per timer transform but prism sends one per family, so a
// second family leaves the bundle waiting forever.
type lastCloseFn struct {
	Plan          plan
	Calendars     calendars
	QuoteMidpoint bool
	Quiet         time.Duration

	Meta    state.Value[[]byte]
	Pending state.Bag[[]byte] // batches of items (itemCodec), or of dedupe's batches (eachItem)
	Timer   timers.EventTime  // tags readyTag(hold) and tagRelease

	prep *prepareFn
}

// eachItem calls fn with each item of a batch: one of items (itemCodec), or
// dedupe's batches packed by prepareDedupedFn, prepared here. noPrice is
// the packed ticks without a price, skipped; the caller counts them once,
// where the batch leaves Pending or never enters it.
func (f *lastCloseFn) eachItem(batch []byte, fn func(item)) (noPrice int64, err error) {
	packed, err := tickpack.Each(batch, func(b dedupe.Batch) error {
		prep := f.prepare()
		if sp, ok := b.Span(); ok {
			prep.within(sp.Symbol, sp.First, sp.Last)
			defer func() { prep.span = spanFacts{} }()
		}
		return b.Each(func(t *tickbeam.Tick) {
			if it, ok := prep.item(t); ok {
				fn(it)
			} else {
				noPrice++
			}
		})
	})
	if packed {
		return noPrice, err
	}
	return 0, itemCodec.Each(batch, fn)
}

func (f *lastCloseFn) prepare() *prepareFn {
	if f.prep == nil {
		f.prep = &prepareFn{Plan: f.Plan, Calendars: f.Calendars, QuoteMidpoint: f.QuoteMidpoint}
	}
	return f.prep
}

// lastCloseSidesFn is lastCloseFn with references or splits, read as side
// inputs here rather than by prepareFn (see sideInputs). Beam finds state
// and timers among a DoFn's own fields, so it repeats lastCloseFn's and
// hands each batch, annotated, to a lastCloseFn made of them.
type lastCloseSidesFn struct {
	Plan          plan
	Calendars     calendars
	QuoteMidpoint bool
	Quiet         time.Duration
	UseReferences bool

	Meta    state.Value[[]byte]
	Pending state.Bag[[]byte]
	Timer   timers.EventTime

	sides sides
}

func (f *lastCloseSidesFn) lastClose() *lastCloseFn {
	return &lastCloseFn{Plan: f.Plan, Calendars: f.Calendars, QuoteMidpoint: f.QuoteMidpoint, Quiet: f.Quiet, Meta: f.Meta, Pending: f.Pending, Timer: f.Timer}
}

// StartBundle drops the previous bundle's index: a runner may hand the
// same instance different side inputs over time.
func (f *lastCloseSidesFn) StartBundle(context.Context, func(*Reference) bool, func(*Split) bool, func(beam.EventTime, tickbeam.PriceChange)) {
	f.sides = sides{}
}

func (f *lastCloseSidesFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, batch []byte,
	refs func(*Reference) bool, splits func(*Split) bool, emit func(beam.EventTime, tickbeam.PriceChange)) error {
	f.sides.index(f.UseReferences, refs, splits)
	lc := f.lastClose()
	var items []item
	noPrice, err := lc.eachItem(batch, func(it item) { items = append(items, it) })
	if err != nil {
		return fmt.Errorf("enrich: %q: %w", key, err)
	}
	countNoPrice(ctx, noPrice)
	for i := range items {
		f.sides.annotate(f.Plan, &items[i])
	}
	return lc.ProcessElement(ctx, sp, tp, key, itemCodec.Encode(items), emit)
}

// OnTimer takes the side inputs too: the Go SDK (v2.77) passes them to a
// timer callback as it does to ProcessElement.
func (f *lastCloseSidesFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string,
	timer timers.Context, _ func(*Reference) bool, _ func(*Split) bool, emit func(beam.EventTime, tickbeam.PriceChange)) error {
	return f.lastClose().OnTimer(ctx, ts, sp, tp, key, timer, emit)
}

// prepareBatchFn is prepareFn packing a bundle's items per symbol:
// lastCloseFn then touches a symbol's state once per batch, not per tick.
// One DoFn, not prepareFn and a batcher after it: each step between DoFns
// costs a call per tick, about a second per million.
type prepareBatchFn struct {
	prepareFn
	batch reorder.Batcher[item]
}

func (f *prepareBatchFn) Setup() { f.batch = reorder.Batcher[item]{Codec: itemCodec, Time: itemTime} }

func (f *prepareBatchFn) ProcessElement(ctx context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	f.add(ctx, &t, emit)
}

func (f *prepareBatchFn) add(ctx context.Context, t *tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	if it, ok := f.prepare(ctx, t); ok {
		f.batch.Add(t.Symbol, it, emit)
	}
}

// prepareDedupedFn is prepareBatchFn over dedupe's batches. A batch of one
// symbol goes on to lastCloseFn as it came, undecoded, packed with the
// bundle's other batches of its symbol (reorder.Packer); lastCloseFn
// prepares its items itself. Other batches are prepared here, tick by tick.
type prepareDedupedFn struct {
	prepareBatchFn
	packed reorder.Packer
}

func (f *prepareDedupedFn) ProcessElement(ctx context.Context, b dedupe.Batch, emit func(beam.EventTime, string, []byte)) error {
	if took, err := tickpack.Add(&f.packed, b, nil, emit); took || err != nil {
		return err
	}
	return b.Each(func(t *tickbeam.Tick) { f.add(ctx, t, emit) })
}

func (f *prepareDedupedFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, []byte)) {
	f.packed.Flush(emit)
	f.prepareBatchFn.FinishBundle(ctx, emit)
}

func (f *prepareBatchFn) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	f.batch.Flush(emit)
}

// Timer tags.
const (
	tagReady   = "ready@" // + the hold, see readyTag
	tagRelease = "release"
)

// readyTag names the ready timer by its output hold: prism (v2.77)
// mis-counts holds when one timer is set again with a different hold, so a
// new hold gets a new timer and the old one is cleared.
func readyTag(hold int64) string { return tagReady + strconv.FormatInt(hold, 10) }

// setReady (re)arms the ready timer at the latest waiting item's close,
// holding the output watermark at the earliest waiting tick so its row is
// not late; oldHold is the hold of the timer armed before, if any.
func (f *lastCloseFn) setReady(tp timers.Provider, st *keyState, oldHold int64, armed bool) {
	hold := st.hold()
	if armed && oldHold != hold {
		f.Timer.ClearTag(tp, readyTag(oldHold))
	}
	f.Timer.Set(tp, time.UnixMilli(st.readyAt), timers.WithTag(readyTag(hold)), timers.WithOutputTimestamp(time.UnixMilli(hold)))
}

func (f *lastCloseFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, batch []byte,
	emit func(beam.EventTime, tickbeam.PriceChange)) error {
	st, _, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("enrich: %q: %w", key, err)
	}
	armed, oldHold, oldReady, oldRelease := st.pending > 0, st.hold(), st.readyAt, st.releaseAt
	var rows, waiting, noPrice int64
	keep := batch
	if n, ok := f.defers(&st, key, batch); ok {
		rows, waiting = n, n
	} else {
		// The batch is read row by row, not decoded into a slice: in a
		// batch run every row waits, and then the batch itself is what
		// Pending keeps.
		noPrice, err = f.eachItem(batch, func(it item) {
			rows++
			if it.Regular {
				if st.knows(it.DayClose) {
					// Rows already used the day's close; changing it now would
					// make them disagree with later rows.
					cLateCloseTrades.Inc(ctx, 1)
				} else {
					st.observe(it.Day, it.Row.EventTime.UnixNano(), it.Row.TradeID, it.Row.Price)
				}
			}
			if st.waits(&it) {
				st.wait(it.ReadyAt, it.Row.EventTime.UnixMilli(), 1)
				waiting++
			} else {
				f.emit(ctx, &it, st.close(it.CloseDay), emit)
			}
			st.releaseAfter(it.Row.EventTime, f.Quiet)
		})
		if err != nil {
			return fmt.Errorf("enrich: %q: %w", key, err)
		}
		if waiting < rows {
			// Some rows were resolved: keep the others. Whether a row
			// waits does not change within the batch (the watermark
			// st knows is fixed here), so a second pass finds them.
			var rest []item
			_, _ = f.eachItem(batch, func(it item) { // read once above
				if st.waits(&it) {
					rest = append(rest, it)
				}
			})
			keep = itemCodec.Encode(rest)
		}
		if waiting == 0 || waiting < rows {
			countNoPrice(ctx, noPrice) // else counted when it leaves Pending
		}
	}
	if waiting > 0 {
		if err := f.Pending.Add(sp, keep); err != nil {
			return fmt.Errorf("enrich: %q: buffer ticks: %w", key, err)
		}
		if !armed || st.readyAt != oldReady || st.hold() != oldHold {
			f.setReady(tp, &st, oldHold, armed)
		}
	}
	if st.releaseAt != oldRelease {
		f.Timer.Set(tp, time.UnixMilli(st.releaseAt), timers.WithTag(tagRelease))
	}
	return f.writeState(sp, key, st)
}

// defers puts a packed batch aside undecoded when none of its rows can be
// resolved now: the close its earliest tick needs is not known, so neither
// is any later tick's, and none of its trades comes after a close the
// watermark has passed. Its trades are observed (st.unobserved) before the
// watermark st knows moves: at the flush, which decodes it anyway, or in
// OnTimer. A batch run so decodes each tick once. A row with a close of its
// own (the feed's) is resolved at the flush, not now; that happens only
// before the previous close is known, at the start of a stream.
func (f *lastCloseFn) defers(st *keyState, key string, batch []byte) (rows int64, ok bool) {
	n, first, last, ok := reorder.PackedSpan(batch)
	if !ok {
		return 0, false
	}
	cal := f.Calendars.of(key)
	readyAt := func(t time.Time) int64 { return f.prepare().factsOf(cal, sessionDate(cal, t)).readyAt }
	earliest := readyAt(first)
	if st.knows(earliest) {
		return 0, false
	}
	st.wait(earliest, first.UnixMilli(), int64(n))
	st.wait(readyAt(last), last.UnixMilli(), 0)
	st.releaseAfter(last, f.Quiet)
	st.unobserved = true
	return int64(n), true
}

func countNoPrice(ctx context.Context, n int64) {
	if n > 0 {
		cNoPrice.Inc(ctx, n)
	}
}

func (f *lastCloseFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string,
	timer timers.Context, emit func(beam.EventTime, tickbeam.PriceChange)) error {
	st, ok, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("enrich: %q: %w", key, err)
	}
	if !ok {
		return nil // released already
	}
	// An event-time timer fires only once the watermark has reached it.
	st.watermark = max(st.watermark, int64(ts))
	switch {
	case timer.Family != f.Timer.Family:
	case strings.HasPrefix(timer.Tag, tagReady):
		if err := f.flush(ctx, sp, tp, &st, key, emit); err != nil {
			return err
		}
		st.prune(f.Calendars.of(key))
		return f.writeState(sp, key, st)
	case timer.Tag == tagRelease:
		if int64(ts) != st.releaseAt {
			// Stale: a later tick moved it. The watermark st knows
			// moved, maybe past trades put aside (defers).
			if st.unobserved {
				batches, _, err := f.Pending.Read(sp)
				if err != nil {
					return fmt.Errorf("enrich: %q: read waiting ticks: %w", key, err)
				}
				if err := f.observePending(batches, &st, key); err != nil {
					return err
				}
			}
			return f.writeState(sp, key, st)
		}
		if st.pending > 0 {
			// Normally resolved already: the ready timer is earlier.
			f.Timer.ClearTag(tp, readyTag(st.hold()))
		}
		if err := f.flush(ctx, sp, tp, &st, key, emit); err != nil {
			return err
		}
		if st.pending > 0 {
			f.Timer.ClearTag(tp, readyTag(st.hold()))
		}
		if err := f.Pending.Clear(sp); err != nil {
			return fmt.Errorf("enrich: %q: release: %w", key, err)
		}
		if err := f.Meta.Clear(sp); err != nil {
			return fmt.Errorf("enrich: %q: release: %w", key, err)
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return fmt.Errorf("enrich: %q: unexpected timer %s/%q", key, timer.Family, timer.Tag)
}

func (f *lastCloseFn) emit(ctx context.Context, it *item, lastClose float64, emit func(beam.EventTime, tickbeam.PriceChange)) {
	if row, ok := f.Plan.resolve(ctx, it, lastClose); ok {
		emit(mtime.FromTime(row.EventTime), row)
	}
}

// flush resolves the waiting items whose close is known now and keeps the
// rest waiting, under a new ready timer; the caller has fired or cleared
// the old one.
func (f *lastCloseFn) flush(ctx context.Context, sp state.Provider, tp timers.Provider, st *keyState, key string,
	emit func(beam.EventTime, tickbeam.PriceChange)) error {
	if st.pending == 0 {
		return nil
	}
	batches, _, err := f.Pending.Read(sp)
	if err != nil {
		return fmt.Errorf("enrich: %q: read waiting ticks: %w", key, err)
	}
	// Packed batches may hold trades not observed yet (defers); they are
	// observed as they are read below. A row resolved here needs a close
	// known now, whose trades are all before the watermark st knows; when
	// that has passed the earliest waiting tick (a release, not a ready
	// timer: its time is its hold), such a trade may be read after the
	// row, so they are all observed first.
	if st.unobserved && st.watermark > st.pendingMin {
		if err := f.observePending(batches, st, key); err != nil {
			return err
		}
	}
	var rest []item
	var rows int
	var packed bool
	for _, b := range batches {
		_, _, _, isPacked := reorder.PackedSpan(b)
		packed = packed || isPacked
		observe := isPacked && st.unobserved // observing a batch again changes nothing
		noPrice, err := f.eachItem(b, func(it item) {
			rows++
			if observe {
				st.observeItem(it)
			}
			if st.knows(it.ReadyAt) {
				f.emit(ctx, &it, st.close(it.CloseDay), emit)
			} else {
				rest = append(rest, it)
			}
		})
		if err != nil {
			return fmt.Errorf("enrich: %q: waiting ticks: %w", key, err)
		}
		countNoPrice(ctx, noPrice)
	}
	st.unobserved = false
	if len(rest) == rows && !packed {
		return nil
	}
	// Packed batches leave Pending here, counted: what waits on is kept
	// as items.
	if err := f.Pending.Clear(sp); err != nil {
		return fmt.Errorf("enrich: %q: clear waiting ticks: %w", key, err)
	}
	st.pending = 0
	if len(rest) == 0 {
		return nil
	}
	for _, it := range rest {
		st.wait(it.ReadyAt, it.Row.EventTime.UnixMilli(), 1)
	}
	if err := f.Pending.Add(sp, itemCodec.Encode(rest)); err != nil {
		return fmt.Errorf("enrich: %q: keep waiting ticks: %w", key, err)
	}
	f.setReady(tp, st, 0, false)
	return nil
}

// observePending observes the trades of the batches in Pending put aside
// undecoded (defers).
func (f *lastCloseFn) observePending(batches [][]byte, st *keyState, key string) error {
	for _, b := range batches {
		if _, _, _, ok := reorder.PackedSpan(b); ok {
			if _, err := f.eachItem(b, st.observeItem); err != nil {
				return fmt.Errorf("enrich: %q: waiting ticks: %w", key, err)
			}
		}
	}
	st.unobserved = false
	return nil
}

// dayClose is a trading day's last regular-session trade so far.
type dayClose struct {
	day   calendar.Date
	time  int64 // Unix ns
	id    string
	price float64
}

// keyState is a symbol's state: watermark knowledge, the waiting items'
// bookkeeping and the recent days' closes (ascending by day).
type keyState struct {
	watermark  int64 // Unix ms the input watermark is known to have reached
	readyAt    int64 // the Ready timer, while items wait
	pendingMin int64 // earliest waiting tick, Unix ms
	pending    int64 // items in Pending
	releaseAt  int64 // the Release timer
	days       []dayClose
	// unobserved: Pending holds a batch put aside undecoded (defers) whose
	// trades are not observed yet.
	unobserved bool
}

// wait counts n items waiting, the earliest at t (Unix ms), for a close
// known at readyAt.
func (st *keyState) wait(readyAt, t, n int64) {
	if st.pending == 0 {
		st.readyAt, st.pendingMin = readyAt, t
	}
	st.readyAt, st.pendingMin = max(st.readyAt, readyAt), min(st.pendingMin, t)
	st.pending += n
}

// releaseAfter moves the release past a tick at t: on whole hours, one
// timer write per symbol per hour, not per tick.
func (st *keyState) releaseAfter(t time.Time, quiet time.Duration) {
	const hour = int64(time.Hour / time.Millisecond)
	if r := (t.Add(quiet).UnixMilli()/hour + 1) * hour; r > st.releaseAt {
		st.releaseAt = min(r, mtime.EndOfGlobalWindowTime.Milliseconds())
	}
}

const noWatermark = math.MinInt64

// hold is the ready timer's output timestamp.
func (st *keyState) hold() int64 { return min(st.pendingMin, st.readyAt) }

// knows reports whether the watermark has passed t (Unix ms): a day whose
// regular session ended by t has its last regular trade for sure.
func (st *keyState) knows(t int64) bool { return st.watermark != noWatermark && st.watermark >= t }

// waits reports whether it must wait for a close st does not know yet.
func (st *keyState) waits(it *item) bool { return it.Waits && !st.knows(it.ReadyAt) }

func (st *keyState) close(d calendar.Date) float64 {
	i := sort.Search(len(st.days), func(i int) bool { return !st.days[i].day.Before(d) })
	if i < len(st.days) && st.days[i].day == d {
		return st.days[i].price
	}
	return 0
}

// observeItem observes it if it is a regular-session trade.
func (st *keyState) observeItem(it item) {
	if it.Regular {
		st.observe(it.Day, it.Row.EventTime.UnixNano(), it.Row.TradeID, it.Row.Price)
	}
}

// observe records a regular-session trade: the day's close is its last trade
// by (event time, trade id), so the result does not depend on arrival order.
func (st *keyState) observe(d calendar.Date, t int64, id string, price float64) {
	i := sort.Search(len(st.days), func(i int) bool { return !st.days[i].day.Before(d) })
	if i < len(st.days) && st.days[i].day == d {
		if c := &st.days[i]; t > c.time || t == c.time && reorder.CompareIDs(id, c.id) > 0 {
			c.time, c.id, c.price = t, id, price
		}
		return
	}
	st.days = append(st.days, dayClose{})
	copy(st.days[i+1:], st.days[i:])
	st.days[i] = dayClose{d, t, id, price}
	if len(st.days) > maxDays {
		st.days = st.days[len(st.days)-maxDays:]
	}
}

// prune drops the closes no on-time tick can need: a tick at or after the
// watermark is of its trading day or later, and needs the close of the day
// before it at the earliest.
func (st *keyState) prune(cal *calendar.Calendar) {
	if st.watermark == noWatermark || st.watermark >= mtime.EndOfGlobalWindowTime.Milliseconds() {
		return
	}
	keep := cal.PrevTradingDay(sessionDate(cal, time.UnixMilli(st.watermark)))
	i := sort.Search(len(st.days), func(i int) bool { return !st.days[i].day.Before(keep) })
	st.days = st.days[i:]
}

func (f *lastCloseFn) readState(sp state.Provider) (keyState, bool, error) {
	b, ok, err := f.Meta.Read(sp)
	if err != nil {
		return keyState{}, false, fmt.Errorf("read state: %w", err)
	}
	if !ok {
		return keyState{watermark: noWatermark}, false, nil
	}
	r := wire.NewReader(b)
	st := keyState{watermark: r.Int(), readyAt: r.Int(), pendingMin: r.Int(), pending: r.Int(), releaseAt: r.Int()}
	n := r.Int()
	if n < 0 || n > maxDays {
		return keyState{}, false, fmt.Errorf("read state: bad day count %d", n)
	}
	st.days = make([]dayClose, n)
	for i := range st.days {
		st.days[i] = dayClose{day: readDate(r), time: r.Int(), id: r.String(), price: r.Float()}
	}
	if r.Len() > 0 { // written since the flag was added
		st.unobserved = r.Int() != 0
	}
	if err := r.Err(); err != nil {
		return keyState{}, false, fmt.Errorf("read state: %w", err)
	}
	return st, true, nil
}

func (f *lastCloseFn) writeState(sp state.Provider, key string, st keyState) error {
	b := make([]byte, 0, 48+32*len(st.days))
	for _, v := range [...]int64{st.watermark, st.readyAt, st.pendingMin, st.pending, st.releaseAt, int64(len(st.days))} {
		b = wire.AppendInt(b, v)
	}
	for _, d := range st.days {
		b = appendDate(b, d.day)
		b = wire.AppendInt(b, d.time)
		b = wire.AppendString(b, d.id)
		b = wire.AppendFloat(b, d.price)
	}
	if st.unobserved {
		b = wire.AppendInt(b, 1)
	}
	if err := f.Meta.Write(sp, b); err != nil {
		return fmt.Errorf("enrich: %q: write state: %w", key, err)
	}
	return nil
}

func appendDate(b []byte, d calendar.Date) []byte {
	return wire.AppendInt(b, int64(d.Year)*10000+int64(d.Month)*100+int64(d.Day))
}

func readDate(r *wire.Reader) calendar.Date {
	v := r.Int()
	return calendar.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}

// itemCodec packs the items of a batch: a bundle's items of one symbol
// cross to lastCloseFn, and wait in Pending, as one element.
var itemCodec = reorder.Codec[item]{Append: appendItem, Read: readItem}

// priceChangeCodec is the root package's binary form of a PriceChange.
var priceChangeCodec = wire.For[tickbeam.PriceChange]()

func itemTime(it item) time.Time { return it.Row.EventTime }

func encodeItem(it item) ([]byte, error) { return appendItem(make([]byte, 0, 160), it), nil }

func appendItem(b []byte, it item) []byte {
	b = priceChangeCodec.Append(b, it.Row)
	b = appendDate(b, it.Day)
	b = appendDate(b, it.CloseDay)
	b = wire.AppendInt(b, it.ReadyAt)
	b = wire.AppendFloats(b, it.Feed, it.Ref, it.Factor)
	var flags int64
	if it.Regular {
		flags |= 1
	}
	if it.Waits {
		flags |= 2
	}
	b = wire.AppendInt(b, flags)
	return wire.AppendInt(b, it.DayClose)
}

// readItem reads an item written by appendItem; bad flags are a decoding
// error of r.
func readItem(r *wire.Reader) item {
	it := item{Row: priceChangeCodec.Read(r), Day: readDate(r), CloseDay: readDate(r), ReadyAt: r.Int()}
	r.Floats(&it.Feed, &it.Ref, &it.Factor)
	flags := r.Int()
	it.Regular, it.Waits = flags&1 != 0, flags&2 != 0
	it.DayClose = r.Int()
	if flags&^3 != 0 {
		r.Fail(errors.New("bad flags"))
	}
	return it
}

func decodeItem(b []byte) (item, error) {
	r := wire.NewReader(b)
	it := readItem(r)
	if err := r.Err(); err != nil {
		return item{}, fmt.Errorf("decode enrich item: %w", err)
	}
	return it, nil
}
