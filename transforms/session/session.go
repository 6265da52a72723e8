package session

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
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
	"github.com/tickbeam/tickbeam/internal/optcheck"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// DefaultResolution is the period of the zero Options.
const DefaultResolution = time.Minute

// DefaultCalendar is the calendar used when Options and FilterOptions name
// none: CRYPTO, whose trading day is the UTC day.
const DefaultCalendar = "CRYPTO"

// Options configure Stats.
type Options struct {
	// Resolution is the period of the running series: a row per symbol and
	// period with trades, as of the period's end. Periods are aligned to the
	// exchange-local midnight of the trading day and cut at the day's last
	// close. From 1s to 24h, whole seconds, dividing a day; zero means
	// DefaultResolution.
	Resolution time.Duration
	// Calendar defines the trading days; nil means DefaultCalendar.
	Calendar *calendar.Calendar
	// Calendars gives symbols their own calendar instead of Calendar, e.g.
	// {"005930": XKRX, "AAPL": XNYS} for a mixed feed.
	Calendars map[string]*calendar.Calendar
	// AllowedLateness keeps a trading day open this long, in event time,
	// after its last session closes. A trade arriving after the row of its
	// period was emitted, while its day is open, is added to the day and
	// restates the day's latest row (Revision+1), counted in
	// tickbeam/session.late. A trade for a day already closed is dropped,
	// counted in tickbeam/session.dropped_late. Zero: a day closes when the
	// watermark passes its close.
	AllowedLateness time.Duration
}

// FilterOptions configure Filter.
type FilterOptions struct {
	// Calendar says when sessions are open; nil means DefaultCalendar.
	Calendar *calendar.Calendar
	// Calendars gives symbols their own calendar instead of Calendar.
	Calendars map[string]*calendar.Calendar
	// Sessions are the session kinds chosen; none means every session.
	Sessions []calendar.SessionKind
	// Drop inverts the filter: drop the ticks inside the chosen sessions
	// and keep the rest.
	Drop bool
}

// Validate reports the first problem of o: a Resolution (when set) outside
// 1s to 24h, not whole seconds or not dividing a day, a negative
// AllowedLateness, or a nil calendar in Calendars. The zero Options are
// valid.
func (o Options) Validate() error {
	if o.Resolution != 0 {
		if err := optcheck.Wrap("session", "Resolution", optcheck.DayDivisor("resolution", o.Resolution)); err != nil {
			return err
		}
	}
	if o.AllowedLateness < 0 {
		return fmt.Errorf("session: negative AllowedLateness %v", o.AllowedLateness)
	}
	return checkCalendars(o.Calendars)
}

// Validate reports the first problem of o: a nil calendar in Calendars or a
// session kind other than calendar.Pre, Regular and After. The zero
// FilterOptions are valid.
func (o FilterOptions) Validate() error {
	for i, k := range o.Sessions {
		if k < calendar.Pre || k > calendar.After {
			return fmt.Errorf("session: Sessions[%d]: unknown session kind %v", i, k)
		}
	}
	return checkCalendars(o.Calendars)
}

// checkCalendars refuses a nil calendar in Options.Calendars or
// FilterOptions.Calendars.
func checkCalendars(bySymbol map[string]*calendar.Calendar) error {
	for sym, c := range bySymbol {
		if c == nil {
			return fmt.Errorf("session: Calendars: symbol %q: nil calendar", sym)
		}
	}
	return nil
}

// Counters, in namespace tickbeam/session.
var (
	cOutside     = beam.NewCounter("tickbeam/session", "outside")      // trades in no trading day, skipped by Stats
	cLate        = beam.NewCounter("tickbeam/session", "late")         // trades added after their period's row: restated
	cDroppedLate = beam.NewCounter("tickbeam/session", "dropped_late") // trades for a closed day, dropped
	cFiltered    = beam.NewCounter("tickbeam/session", "filtered")     // ticks Filter removed
)

func init() {
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, []byte)](&partialFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, []byte, func(beam.EventTime, tickbeam.SessionStats), error](&statsFn{})
	register.Emitter2[beam.EventTime, tickbeam.SessionStats]()
	register.DoFn3x0[context.Context, tickbeam.Tick, func(tickbeam.Tick)](&filterFn{})
	register.Emitter1[tickbeam.Tick]()
}

// Stats turns a PCollection<tickbeam.Tick> into the running session
// statistics of each symbol, PCollection<tickbeam.SessionStats>: per symbol
// and exchange trading day, one row per Options.Resolution period holding at
// least one trade, with AsOf the period's end (or the day's close, if
// earlier) and totals since the day's first session opened. Totals restart
// with each trading day of the symbol's calendar (calendar.SessionDay), not
// at UTC midnight: an XKRX day runs 08:30-18:00 KST, 23:30Z-09:00Z.
//
// Only trades count; quotes are ignored. A trade in no trading day (a
// weekend, a holiday, overnight) is skipped and counted in
// tickbeam/session.outside; a trade in the gap between two sessions of a day
// counts toward that day.
//
// Rows are emitted once the watermark passes their period, so out-of-order
// trades within the watermark land in their period; late trades are handled
// as Options.AllowedLateness says. Each row is timestamped at AsOf minus 1 ms
// and the output is in fixed windows of the resolution (with the allowed
// lateness), so windowed sinks take it as it is. On bounded input every row
// is emitted at the end, in the same values.
//
// How: each bundle folds its trades into one partial sum per symbol and
// period, and only those cross the runner. A stateful DoFn keyed by symbol,
// in the global window, buffers the partials (internal/reorder) until an
// event-time timer says the watermark has passed them, then adds them to the
// open days' totals in period order. A close timer closes each day after its
// close plus the allowed lateness and drops its state, so memory per symbol
// is the open days and the partials within the watermark delay, plus the
// date of the last closed day (to recognise later trades as late).
//
// Stats panics on invalid options (Options.Validate), as Beam transforms do
// at construction; TryStats returns the error instead.
func Stats(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	out, err := TryStats(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryStats is Stats returning invalid options as an error instead of panicking.
func TryStats(s beam.Scope, ticks beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("session.Stats")
	res := opts.Resolution
	if res == 0 {
		res = DefaultResolution
	}
	cals, err := newCalendarSet(opts.Calendar, opts.Calendars)
	if err != nil {
		return beam.PCollection{}, fmt.Errorf("session: %w", err)
	}
	partials := beam.ParDo(s, &partialFn{Calendars: cals, Resolution: res}, ticks)
	// A day's totals outlive any window of the input: keep them in the
	// global window and drop them with the close timer (prism never
	// collects global-window state by itself).
	global := beam.WindowInto(s, window.NewGlobalWindows(), partials)
	rows := beam.ParDo(s, &statsFn{
		AllowedLateness: opts.AllowedLateness,
		Meta:            state.MakeValueState[[]byte]("meta"),
		Buffer:          state.MakeBagState[[]byte]("buffer"),
		Timer:           timers.InEventTime("timer"),
	}, global)
	return beam.WindowInto(s, window.NewFixedWindows(res), rows, beam.AllowedLateness(opts.AllowedLateness)), nil
}

// Filter keeps the ticks of a PCollection<tickbeam.Tick> whose event time is
// inside one of the chosen sessions of their symbol's calendar (with Drop,
// those outside), each with its timestamp and window. The ticks removed are
// counted in tickbeam/session.filtered. Filter panics on invalid options
// (FilterOptions.Validate); TryFilter returns the error instead.
func Filter(s beam.Scope, ticks beam.PCollection, opts FilterOptions) beam.PCollection {
	out, err := TryFilter(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryFilter is Filter returning invalid options as an error instead of panicking.
func TryFilter(s beam.Scope, ticks beam.PCollection, opts FilterOptions) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("session.Filter")
	cals, err := newCalendarSet(opts.Calendar, opts.Calendars)
	if err != nil {
		return beam.PCollection{}, fmt.Errorf("session: %w", err)
	}
	return beam.ParDo(s, &filterFn{Calendars: cals, Sessions: opts.Sessions, Drop: opts.Drop}, ticks), nil
}

// calendarSet is the calendars of a transform as a DoFn field: each calendar
// once, and symbols by index, so a thousand XNYS symbols serialize one
// calendar.
type calendarSet struct {
	Default  *calendar.Calendar
	List     []*calendar.Calendar
	BySymbol map[string]int
}

func newCalendarSet(def *calendar.Calendar, bySymbol map[string]*calendar.Calendar) (calendarSet, error) {
	if def == nil {
		c, err := calendar.Lookup(DefaultCalendar)
		if err != nil {
			return calendarSet{}, fmt.Errorf("default calendar: %w", err)
		}
		def = c
	}
	set := calendarSet{Default: def}
	index := map[*calendar.Calendar]int{}
	for sym, c := range bySymbol { // none nil: checkCalendars
		i, ok := index[c]
		if !ok {
			i = len(set.List)
			index[c] = i
			set.List = append(set.List, c)
		}
		if set.BySymbol == nil {
			set.BySymbol = map[string]int{}
		}
		set.BySymbol[sym] = i
	}
	return set, nil
}

func (c *calendarSet) of(symbol string) *calendar.Calendar {
	if i, ok := c.BySymbol[symbol]; ok {
		return c.List[i]
	}
	return c.Default
}

type filterFn struct {
	Calendars calendarSet
	Sessions  []calendar.SessionKind
	Drop      bool

	removed int64
}

func (f *filterFn) StartBundle(context.Context, func(tickbeam.Tick)) { f.removed = 0 }

func (f *filterFn) ProcessElement(_ context.Context, t tickbeam.Tick, emit func(tickbeam.Tick)) {
	if f.Calendars.of(t.Symbol).IsOpen(t.EventTime, f.Sessions...) == f.Drop {
		f.removed++
		return
	}
	emit(t)
}

func (f *filterFn) FinishBundle(ctx context.Context, _ func(tickbeam.Tick)) {
	if f.removed > 0 {
		cFiltered.Inc(ctx, f.removed)
		f.removed = 0
	}
}

// sum is a Neumaier-compensated sum, so totals do not depend, beyond the
// last bit, on how the runner split trades into bundles.
type sum struct{ s, c float64 }

func (x *sum) add(v float64) {
	t := x.s + v
	if math.Abs(x.s) >= math.Abs(v) {
		x.c += (x.s - t) + v
	} else {
		x.c += (v - t) + x.s
	}
	x.s = t
}

func (x *sum) addSum(o sum) { x.add(o.s); x.add(o.c) }

func (x sum) value() float64 { return x.s + x.c }

// totals are the additive figures of some trades.
type totals struct {
	trades                      int64
	volume, notional, buy, sell sum
}

func (a *totals) addTrade(t *tickbeam.Tick) {
	a.trades++
	a.volume.add(t.Size)
	a.notional.add(t.Price * t.Size)
	switch t.Side {
	case tickbeam.Buy:
		a.buy.add(t.Size)
	case tickbeam.Sell:
		a.sell.add(t.Size)
	}
}

func (a *totals) merge(o *totals) {
	a.trades += o.trades
	a.volume.addSum(o.volume)
	a.notional.addSum(o.notional)
	a.buy.addSum(o.buy)
	a.sell.addSum(o.sell)
}

func (a *totals) append(b []byte) []byte {
	b = wire.AppendInt(b, a.trades)
	for _, x := range [...]sum{a.volume, a.notional, a.buy, a.sell} {
		b = wire.AppendFloat(b, x.s)
		b = wire.AppendFloat(b, x.c)
	}
	return b
}

func (a *totals) read(r *wire.Reader) {
	a.trades = r.Int()
	for _, x := range [...]*sum{&a.volume, &a.notional, &a.buy, &a.sell} {
		x.s = r.Float()
		x.c = r.Float()
	}
}

// partial is the trades of one symbol and period from one bundle, or
// several such merged. It carries what the stateful step needs of the
// calendar, so that step needs none.
type partial struct {
	date, cal    string // trading day, calendar name
	asOf, dayEnd int64  // period end (cut at the close) and the day's close, Unix ns
	totals
}

var partialCodec = reorder.Codec[partial]{
	Append: func(b []byte, p partial) []byte {
		b = wire.AppendString(b, p.date)
		b = wire.AppendString(b, p.cal)
		b = wire.AppendInt(b, p.asOf)
		b = wire.AppendInt(b, p.dayEnd)
		return p.totals.append(b)
	},
	Read: func(r *wire.Reader) partial {
		p := partial{date: r.String(), cal: r.String(), asOf: r.Int(), dayEnd: r.Int()}
		p.totals.read(r)
		return p
	},
}

func decodePartial(b []byte) (partial, error) {
	r := wire.NewReader(b)
	p := partialCodec.Read(r)
	if err := r.Err(); err != nil {
		return partial{}, fmt.Errorf("decode session partial: %w", err)
	}
	return p, nil
}

// partialTime is a partial's event time in the buffer: its row's timestamp.
func partialTime(p partial) time.Time { return time.Unix(0, p.asOf).Add(-time.Millisecond) }

// byPeriod orders partials by day, then period: the order of their rows,
// and of their times too, as a symbol's trading days do not overlap.
func byPeriod(a, b partial) int {
	if c := strings.Compare(a.date, b.date); c != 0 {
		return c
	}
	return cmp.Compare(a.asOf, b.asOf)
}

// rowTime is the timestamp of the row as of asOf (Unix ns): 1 ms before,
// the max timestamp of a window ending there.
func rowTime(asOf int64) mtime.Time { return mtime.FromTime(time.Unix(0, asOf)) - 1 }

// maxPartials bounds the partial sums a bundle holds before flushing them.
const maxPartials = 4096

type partKey struct {
	symbol string
	asOf   int64
}

// tradingDay is the trading day of a symbol's latest tick, so ticks of the
// same day skip the calendar lookup.
type tradingDay struct {
	cal             *calendar.Calendar
	date            string
	start, end, mid int64 // first open, last close, local midnight: Unix ns
}

// partialFn folds a bundle's trades into one partial per symbol and period.
type partialFn struct {
	Calendars  calendarSet
	Resolution time.Duration

	parts   map[partKey]*partial
	last    map[partKey]int64 // latest trade of each partial, Unix ns: its timestamp
	days    map[string]*tradingDay
	outside int64
}

func (f *partialFn) StartBundle(context.Context, func(beam.EventTime, string, []byte)) {
	f.parts = make(map[partKey]*partial)
	f.last = make(map[partKey]int64)
	if f.days == nil {
		f.days = make(map[string]*tradingDay)
	}
	f.outside = 0
}

func (f *partialFn) ProcessElement(ctx context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	if t.Kind != tickbeam.Trade {
		return
	}
	ns := t.EventTime.UnixNano()
	day := f.days[t.Symbol]
	if day == nil || ns < day.start || ns >= day.end {
		if day = f.dayOf(t.Symbol, t.EventTime); day == nil {
			f.outside++
			return
		}
	}
	res := int64(f.Resolution)
	asOf := min(day.mid+((ns-day.mid)/res+1)*res, day.end)
	k := partKey{t.Symbol, asOf}
	p := f.parts[k]
	if p == nil {
		if len(f.parts) >= maxPartials {
			f.FinishBundle(ctx, emit)
		}
		p = &partial{date: day.date, cal: day.cal.Name(), asOf: asOf, dayEnd: day.end}
		f.parts[k] = p
	}
	p.addTrade(&t)
	f.last[k] = max(f.last[k], ns)
}

func (f *partialFn) dayOf(symbol string, t time.Time) *tradingDay {
	cal := f.Calendars.of(symbol)
	d, ok := cal.SessionDay(t)
	if !ok {
		return nil
	}
	start, end, _ := cal.DayBounds(d)
	day := &tradingDay{cal: cal, date: d.String(), start: start.UnixNano(), end: end.UnixNano(),
		mid: d.In(cal.Location()).UnixNano()}
	f.days[symbol] = day
	return day
}

func (f *partialFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, []byte)) {
	for k, p := range f.parts {
		emit(mtime.FromTime(time.Unix(0, f.last[k])), k.symbol, partialCodec.Append(make([]byte, 0, 112), *p))
	}
	clear(f.parts)
	clear(f.last)
	if f.outside > 0 {
		cOutside.Inc(ctx, f.outside)
		f.outside = 0
	}
}

// statsFn is the stateful DoFn, keyed by symbol: the open days' totals in
// Meta's Aux, the partials the watermark has not passed in a reorder buffer. Its
// timers are the buffer's flush timer and its close timer
// (reorder.TagClose), tags of one family.
type statsFn struct {
	AllowedLateness time.Duration

	Meta   state.Value[[]byte] // reorder.Meta; its Aux holds the keyState
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime

	ord *reorder.Buffer[partial]
}

func (f *statsFn) Setup() {
	// Unbounded, as a day's totals are: a partial forced out ahead of the
	// watermark would turn the rest of its period into restatements. No
	// release timer: the close timer drops a day's state.
	f.ord = &reorder.Buffer[partial]{Bag: &f.Buffer, Timer: &f.Timer, Codec: partialCodec, MaxBuffered: math.MaxInt,
		Time: partialTime, Compare: byPeriod}
}

// keyState is a symbol's trading days.
type keyState struct {
	closed string // the latest closed trading day, "" for none
	days   []openDay
}

// openDay is the running totals of one trading day.
type openDay struct {
	date, cal string
	dayEnd    int64      // last close, Unix ns
	closeAt   mtime.Time // when the day closes: its close plus the allowed lateness
	cum       totals
	lastAsOf  int64 // AsOf of the latest row emitted, Unix ns; 0 before the first
	revision  int64 // Revision of that row
}

func (st *keyState) day(date string) *openDay {
	for i := range st.days {
		if st.days[i].date == date {
			return &st.days[i]
		}
	}
	return nil
}

func (f *statsFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, symbol string, enc []byte,
	emit func(beam.EventTime, tickbeam.SessionStats)) error {
	p, err := decodePartial(enc)
	if err != nil {
		return fmt.Errorf("session: %q: %w", symbol, err)
	}
	m, st, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("session: %q: %w", symbol, err)
	}
	if st.closed != "" && p.date <= st.closed { // dates as YYYY-MM-DD order as strings
		cDroppedLate.Inc(ctx, p.trades)
		return nil
	}
	newDay := st.day(p.date) == nil
	if newDay {
		d := openDay{date: p.date, cal: p.cal, dayEnd: p.dayEnd, closeAt: f.closeTime(p.dayEnd)}
		st.days = append(st.days, d)
		slices.SortFunc(st.days, func(a, b openDay) int { return strings.Compare(a.date, b.date) })
		if !m.HasClose || d.closeAt < m.CloseAt {
			f.ord.SetClose(tp, &m, d.closeAt)
		}
	}
	// A late partial, of a period already emitted (or before it), is added
	// now: it restates its day's latest row.
	late, _, err := f.ord.Add(sp, tp, &m, []partial{p})
	if err != nil {
		return fmt.Errorf("session: %q: %w", symbol, err)
	}
	f.apply(ctx, &st, symbol, late, emit)
	return f.writeState(sp, symbol, m, st, newDay || len(late) > 0)
}

func (f *statsFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, symbol string, timer timers.Context,
	emit func(beam.EventTime, tickbeam.SessionStats)) error {
	if timer.Family != f.Timer.Family {
		return fmt.Errorf("session: %q: unexpected timer family %q", symbol, timer.Family)
	}
	m, st, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("session: %q: %w", symbol, err)
	}
	switch {
	case reorder.IsFlush(timer.Tag):
		if !m.Current(timer.Tag) {
			return nil // a stale firing: flushed already, or the hold moved
		}
		due, err := f.ord.Flush(sp, tp, &m)
		if err != nil {
			return fmt.Errorf("session: %q: %w", symbol, err)
		}
		f.apply(ctx, &st, symbol, due, emit)
		return f.writeState(sp, symbol, m, st, len(due) > 0)
	case timer.Tag == reorder.TagClose:
		// The close timer holds at its firing time.
		now := mtime.Time(ts)
		if !m.HasClose || now != m.CloseAt {
			return nil // stale: an earlier day moved the close
		}
		m.HasClose = false
		// The watermark has passed the close of the day (and its lateness):
		// its last partials are due now whatever the flush timer says.
		due, err := f.ord.Drain(sp, tp, &m, now)
		if err != nil {
			return fmt.Errorf("session: %q: %w", symbol, err)
		}
		f.apply(ctx, &st, symbol, due, emit)
		open := st.days[:0]
		for _, d := range st.days {
			if d.closeAt <= now {
				st.closed = max(st.closed, d.date)
				continue
			}
			open = append(open, d)
		}
		st.days = open
		if len(st.days) > 0 {
			next := st.days[0].closeAt
			for _, d := range st.days[1:] {
				next = min(next, d.closeAt)
			}
			f.ord.SetClose(tp, &m, next)
		}
		return f.writeState(sp, symbol, m, st, true)
	}
	return fmt.Errorf("session: %q: unexpected timer tag %q", symbol, timer.Tag)
}

// apply adds partials the buffer handed over, in period order, to their
// days and emits the rows: a new row per later period, a restatement of the
// day's latest row for partials of periods already emitted.
func (f *statsFn) apply(ctx context.Context, st *keyState, symbol string, ps []partial, emit func(beam.EventTime, tickbeam.SessionStats)) {
	due := mergePeriods(ps)
	var late int64
	for i := 0; i < len(due); {
		d := st.day(due[i].date)
		j := i
		for j < len(due) && due[j].date == due[i].date {
			j++
		}
		if d == nil { // cannot happen: a day closes only after a flush of its partials
			for _, p := range due[i:j] {
				cDroppedLate.Inc(ctx, p.trades)
			}
			i = j
			continue
		}
		restate, emitted := false, false
		for _, p := range due[i:j] {
			d.cum.merge(&p.totals)
			if p.asOf <= d.lastAsOf {
				late += p.trades
				restate = true
				continue
			}
			d.lastAsOf, d.revision = p.asOf, 0
			emit(rowTime(p.asOf), d.row(symbol))
			emitted = true
		}
		if restate && !emitted {
			d.revision++
			emit(rowTime(d.lastAsOf), d.row(symbol))
		}
		i = j
	}
	if late > 0 {
		cLate.Inc(ctx, late)
	}
}

// mergePeriods sorts partials by period and merges each period's.
func mergePeriods(ps []partial) []partial {
	slices.SortFunc(ps, byPeriod)
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && byPeriod(out[n-1], p) == 0 {
			out[n-1].totals.merge(&p.totals)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (d *openDay) row(symbol string) tickbeam.SessionStats {
	s := tickbeam.SessionStats{
		Symbol:      symbol,
		SessionDate: d.date,
		AsOf:        time.Unix(0, d.lastAsOf).UTC(),
		CumVolume:   d.cum.volume.value(),
		CumNotional: d.cum.notional.value(),
		Trades:      d.cum.trades,
		BuyVolume:   d.cum.buy.value(),
		SellVolume:  d.cum.sell.value(),
		Calendar:    d.cal,
		Revision:    d.revision,
	}
	s.Derive()
	return s
}

// closeTime is when a day closing at dayEnd (Unix ns) closes for good: once
// the watermark passes its close plus the allowed lateness, kept inside the
// global window.
func (f *statsFn) closeTime(dayEnd int64) mtime.Time {
	t := rowTime(dayEnd)
	if l := mtime.FromDuration(f.AllowedLateness); t <= mtime.EndOfGlobalWindowTime-l {
		return t + l
	}
	return mtime.EndOfGlobalWindowTime
}

func (f *statsFn) readState(sp state.Provider) (reorder.Meta, keyState, error) {
	m, _, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return m, keyState{}, err
	}
	b := m.Aux
	if len(b) == 0 {
		return m, keyState{}, nil
	}
	r := wire.NewReader(b)
	var st keyState
	st.closed = r.String()
	n := r.Int()
	if n < 0 || n > int64(len(b)) {
		return m, keyState{}, fmt.Errorf("bad state: %d days", n)
	}
	for i := int64(0); i < n && r.Err() == nil; i++ {
		var d openDay
		d.date = r.String()
		d.cal = r.String()
		d.dayEnd = r.Int()
		d.closeAt = mtime.Time(r.Int())
		d.cum.read(r)
		d.lastAsOf = r.Int()
		d.revision = r.Int()
		st.days = append(st.days, d)
	}
	if err := r.Err(); err != nil {
		return m, keyState{}, fmt.Errorf("bad state: %w", err)
	}
	return m, st, nil
}

// writeState writes the buffer's Meta with, if they changed, the days in
// its Aux.
func (f *statsFn) writeState(sp state.Provider, symbol string, m reorder.Meta, st keyState, days bool) error {
	if days {
		m.Aux = encodeDays(st)
	}
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
		return fmt.Errorf("session: %q: write state: %w", symbol, err)
	}
	return nil
}

func encodeDays(st keyState) []byte {
	b := make([]byte, 0, 32+120*len(st.days))
	b = wire.AppendString(b, st.closed)
	b = wire.AppendInt(b, int64(len(st.days)))
	for _, d := range st.days {
		b = wire.AppendString(b, d.date)
		b = wire.AppendString(b, d.cal)
		b = wire.AppendInt(b, d.dayEnd)
		b = wire.AppendInt(b, int64(d.closeAt))
		b = d.cum.append(b)
		b = wire.AppendInt(b, d.lastAsOf)
		b = wire.AppendInt(b, d.revision)
	}
	return b
}
