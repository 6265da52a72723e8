package tickrule

import (
	"context"
	"fmt"
	"slices"
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
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Defaults of Options.
const (
	// DefaultQuiet keeps a symbol's last price over nights, weekends and a
	// long weekend's holiday, as indicators.MinDefaultQuiet does for bars.
	DefaultQuiet = 96 * time.Hour
	// DefaultMaxBuffered bounds the reorder buffer per symbol: about 100 MB
	// of ticks, the whole of a busy symbol's day in a batch run.
	DefaultMaxBuffered = 1 << 20
)

// Options configure ClassifyWithOptions.
type Options struct {
	// Quiet is how long, in event time, a symbol may trade nothing before
	// its state is released. A trade Quiet or more after the previous one
	// starts a new sequence (it has no previous price), even when both
	// arrive together (a batch run), so batch and streaming runs agree.
	// Zero means DefaultQuiet.
	Quiet time.Duration
	// MaxBuffered bounds the trades held per symbol until the watermark
	// passes them (zero: DefaultMaxBuffered). A batch run delivers every
	// trade before the watermark moves, so it should exceed a symbol's trades
	// in the run; past it the oldest half is classified at once (counted in
	// tickbeam/tickrule.forced), and an older trade arriving later is late.
	MaxBuffered int
}

// Counters, in namespace tickbeam/tickrule.
var (
	cInferred = beam.NewCounter("tickbeam/tickrule", "inferred") // UNKNOWN trades given a side
	cLate     = beam.NewCounter("tickbeam/tickrule", "late")     // UNKNOWN trades left so: a later trade was classified first
	cForced   = beam.NewCounter("tickbeam/tickrule", "forced")   // trades classified ahead of the watermark (MaxBuffered)
	cReleased = beam.NewCounter("tickbeam/tickrule", "released") // symbol states released after Quiet
)

func init() {
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, []byte)](&batchFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, []byte, func(beam.EventTime, tickbeam.Tick), error](&classifyFn{})
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
}

// Classifier applies the tick test to one symbol's trades in event-time
// order: a trade above the previous trade's price is a buy (uptick), below
// it a sell (downtick), and at the same price (zero tick) takes the
// direction of the last price change (zero-uptick buy, zero-downtick sell).
// The first trade, and zero ticks before any change, are UNKNOWN. Only
// prices drive it: a feed's own sides do not change the direction.
//
// The zero Classifier has seen no trade.
type Classifier struct {
	seen      bool
	price     float64
	direction tickbeam.Side
}

// Next returns the tick-test side of the next trade, at price.
func (c *Classifier) Next(price float64) tickbeam.Side {
	if c.seen {
		switch {
		case price > c.price:
			c.direction = tickbeam.Buy
		case price < c.price:
			c.direction = tickbeam.Sell
		}
	} else {
		c.direction = tickbeam.Unknown
	}
	c.seen, c.price = true, price
	return c.direction
}

// Classify gives UNKNOWN-side trades of a PCollection<tickbeam.Tick> the side
// of the tick test (see Classifier), per symbol in event-time order, with
// the default Options. See ClassifyWithOptions.
func Classify(s beam.Scope, ticks beam.PCollection) beam.PCollection {
	return ClassifyWithOptions(s, ticks, Options{})
}

// ClassifyWithOptions returns the ticks of a PCollection<tickbeam.Tick>,
// each with its timestamp, in the input's windows, with the Side of every
// trade the feed left UNKNOWN set by the tick test over the symbol's trades
// in event-time order (trades of one time ordered by trade id, numerically
// when numeric). Trades with a side and quotes are unchanged; every trade's
// price counts in the sequence. Each side set is counted in
// tickbeam/tickrule.inferred: Tick has no field to mark it (see the package
// documentation).
//
// Trades wait, per symbol, until the watermark passes them, so out-of-order
// trades within the watermark are classified in order; quotes pass at once.
// A trade arriving after a later trade of its symbol was classified is
// passed on unchanged (UNKNOWN trades counted in tickbeam/tickrule.late). On
// bounded input every trade is classified at the end.
//
// State per symbol, in the global window, is the last price and direction
// and the trades the watermark has not passed (bounded by
// Options.MaxBuffered); an event-time timer releases it once the symbol has
// traded nothing for Options.Quiet. ClassifyWithOptions panics on invalid
// options, as Beam transforms do at construction.
func ClassifyWithOptions(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	s = s.Scope("tickrule.Classify")
	if opts.Quiet < 0 || opts.MaxBuffered < 0 {
		panic(fmt.Sprintf("tickrule.Classify: negative Quiet (%v) or MaxBuffered (%d)", opts.Quiet, opts.MaxBuffered))
	}
	if opts.Quiet == 0 {
		opts.Quiet = DefaultQuiet
	}
	if opts.MaxBuffered == 0 {
		opts.MaxBuffered = DefaultMaxBuffered
	}
	ws := ticks.WindowingStrategy()
	batches := beam.ParDo(s, &batchFn{}, ticks)
	// The sequence outlives any window of the input: keep it in the global
	// window and release it with a timer (prism never collects global-window
	// state by itself).
	global := beam.WindowInto(s, window.NewGlobalWindows(), batches)
	out := beam.ParDo(s, &classifyFn{
		Quiet:       opts.Quiet,
		MaxBuffered: int64(opts.MaxBuffered),
		Meta:        state.MakeValueState[[]byte]("meta"),
		Buffer:      state.MakeBagState[[]byte]("buffer"),
		Timer:       timers.InEventTime("timer"),
	}, global)
	return beam.WindowInto(s, ws.Fn, out, beam.AllowedLateness(time.Duration(ws.AllowedLateness)*time.Millisecond))
}

// maxBatched bounds the ticks a bundle holds before it flushes its batches.
const maxBatched = 8192

// batch is the encoded ticks of one symbol from one bundle.
type batch struct {
	b        []byte
	n        int64
	min, max int64 // event times, Unix ns
}

func (p *batch) add(t *tickbeam.Tick) {
	ns := t.EventTime.UnixNano()
	if p.n == 0 || ns < p.min {
		p.min = ns
	}
	if p.n == 0 || ns > p.max {
		p.max = ns
	}
	p.n++
	p.b = tickCodec.Append(p.b, *t)
}

// bytes is the batch's wire form: the count, then the ticks.
func (p *batch) bytes() []byte {
	return append(wire.AppendInt(make([]byte, 0, len(p.b)+10), p.n), p.b...)
}

// tickCodec is the root package's binary form of a Tick.
var tickCodec = wire.For[tickbeam.Tick]()

func decodeBatch(b []byte) ([]tickbeam.Tick, error) {
	r := wire.NewReader(b)
	n := r.Int()
	if n < 0 || n > int64(len(b)) {
		return nil, fmt.Errorf("decode tick batch: bad count %d", n)
	}
	ts := make([]tickbeam.Tick, 0, n)
	for i := int64(0); i < n && r.Err() == nil; i++ {
		ts = append(ts, tickCodec.Read(r))
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("decode tick batch: %w", err)
	}
	return ts, nil
}

func encodeTicks(ts []tickbeam.Tick) []byte {
	var p batch
	for i := range ts {
		p.add(&ts[i])
	}
	return p.bytes()
}

// batchFn packs each bundle's ticks into one batch per symbol, so the
// stateful step sees a batch, not a tick, per state access.
type batchFn struct {
	open map[string]*batch
	held int
}

func (f *batchFn) StartBundle(context.Context, func(beam.EventTime, string, []byte)) {
	f.open = make(map[string]*batch)
	f.held = 0
}

func (f *batchFn) ProcessElement(ctx context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	p := f.open[t.Symbol]
	if p == nil {
		p = &batch{}
		f.open[t.Symbol] = p
	}
	p.add(&t)
	if f.held++; f.held >= maxBatched {
		f.FinishBundle(ctx, emit)
	}
}

// FinishBundle emits each batch timestamped with its earliest tick.
func (f *batchFn) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	for sym, p := range f.open {
		emit(mtime.FromTime(time.Unix(0, p.min)), sym, p.bytes())
	}
	clear(f.open)
	f.held = 0
}

// classifyFn is the stateful DoFn, keyed by symbol: the sequence in Meta,
// the trades the watermark has not passed in Buffer.
//
// Its timers are tags of one family (flushTag(hold, fire) and tagRelease):
// the Go SDK v2.77 harness counts one end-of-stream per timer transform but
// the runner sends one per family, so a second family can leave a bundle
// waiting forever on prism.
type classifyFn struct {
	Quiet       time.Duration
	MaxBuffered int64

	Meta   state.Value[[]byte]
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime
}

// Timer tags.
const (
	tagFlush   = "flush@" // + hold and firing time, see flushTag
	tagRelease = "release"
)

// flushTag names the flush timer by its hold and firing time. Prism v2.77
// mis-counts watermark holds when a timer is set again with the same firing
// time and a different hold, so a new hold gets a new timer and the old one
// is cleared. The firing time is in the tag because OnTimer is given the
// hold, not the firing time.
func flushTag(hold, fire mtime.Time) string {
	return tagFlush + strconv.FormatInt(int64(hold), 10) + "@" + strconv.FormatInt(int64(fire), 10)
}

// keyState is a symbol's state beside the buffer.
type keyState struct {
	classifier Classifier
	hasLast    bool   // a trade was classified: the late check applies
	lastTime   int64  // the last classified trade: event time (Unix ns)
	lastID     string // and trade id

	// The flush timer, armed while the buffer holds trades, fires at fireAt
	// and holds the output at bufMin, the earliest buffered trade. It does
	// not move later as trades arrive, or a stream would push it ahead of
	// the watermark forever.
	buffered       int64
	bufMin, fireAt mtime.Time

	releaseAt mtime.Time // the release timer's time
}

// after reports whether t comes after the last classified trade.
func (st *keyState) after(t *tickbeam.Tick) bool {
	if !st.hasLast {
		return true
	}
	if ns := t.EventTime.UnixNano(); ns != st.lastTime {
		return ns > st.lastTime
	}
	return reorder.CompareIDs(t.TradeID, st.lastID) > 0
}

func (f *classifyFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, symbol string, enc []byte,
	emit func(beam.EventTime, tickbeam.Tick)) error {
	ticks, err := decodeBatch(enc)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	st, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	var keep []tickbeam.Tick
	var late int64
	for _, t := range ticks {
		switch {
		case t.Kind != tickbeam.Trade:
			emit(mtime.FromTime(t.EventTime), t) // quotes need no order
		case !st.after(&t):
			if t.Side == tickbeam.Unknown {
				late++
			}
			emit(mtime.FromTime(t.EventTime), t)
		default:
			keep = append(keep, t)
		}
	}
	if late > 0 {
		cLate.Inc(ctx, late)
	}
	if len(keep) == 0 {
		return nil
	}
	var p batch
	for i := range keep {
		p.add(&keep[i])
	}
	if err := f.Buffer.Add(sp, p.bytes()); err != nil {
		return fmt.Errorf("tickrule: %q: buffer trades: %w", symbol, err)
	}
	lo, hi := mtime.FromTime(time.Unix(0, p.min)), mtime.FromTime(time.Unix(0, p.max))
	switch {
	case st.buffered == 0:
		st.bufMin, st.fireAt = lo, hi
		f.setFlush(tp, st)
	case lo < st.bufMin:
		f.Timer.ClearTag(tp, flushTag(st.bufMin, st.fireAt))
		st.bufMin = lo
		f.setFlush(tp, st)
	}
	st.buffered += p.n
	if r := releaseTime(hi, f.Quiet); r > st.releaseAt {
		st.releaseAt = r
		f.Timer.Set(tp, r.ToTime(), timers.WithTag(tagRelease)) // holds at r, after every trade it could flush
	}
	if st.buffered > f.MaxBuffered {
		n := st.buffered - f.MaxBuffered/2
		cForced.Inc(ctx, n)
		if err := f.flush(ctx, sp, tp, &st, symbol, mtime.MaxTimestamp, n, false, emit); err != nil {
			return err
		}
	}
	return f.writeState(sp, symbol, st)
}

func (f *classifyFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, symbol string, timer timers.Context,
	emit func(beam.EventTime, tickbeam.Tick)) error {
	if timer.Family != f.Timer.Family {
		return fmt.Errorf("tickrule: %q: unexpected timer family %q", symbol, timer.Family)
	}
	st, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	// ts is the timer's hold, not its firing time: the firing time, which
	// the watermark has passed, comes from the state the tag is checked
	// against.
	switch {
	case strings.HasPrefix(timer.Tag, tagFlush):
		if st.buffered == 0 || timer.Tag != flushTag(st.bufMin, st.fireAt) {
			return nil // a stale firing: flushed already, or the hold moved
		}
		if err := f.flush(ctx, sp, tp, &st, symbol, st.fireAt, 0, true, emit); err != nil {
			return err
		}
		return f.writeState(sp, symbol, st)
	case timer.Tag == tagRelease:
		if mtime.Time(ts) != st.releaseAt || st.releaseAt == 0 {
			return nil // a stale firing: a later trade moved the release
		}
		if st.buffered > 0 { // normally flushed already: its timer is earlier
			if err := f.flush(ctx, sp, tp, &st, symbol, st.releaseAt, 0, false, emit); err != nil {
				return err
			}
			if st.buffered > 0 { // cannot happen: release is Quiet after the latest trade
				return f.writeState(sp, symbol, st)
			}
		}
		if err := f.Meta.Clear(sp); err != nil {
			return fmt.Errorf("tickrule: %q: release state: %w", symbol, err)
		}
		if err := f.Buffer.Clear(sp); err != nil {
			return fmt.Errorf("tickrule: %q: release state: %w", symbol, err)
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return fmt.Errorf("tickrule: %q: unexpected timer tag %q", symbol, timer.Tag)
}

// flush classifies, in order, the buffered trades the watermark has passed
// (event time at or before now, in ms) or, when limit > 0, the limit oldest,
// and keeps the rest buffered under a new flush timer. fired says the flush
// timer itself fired; otherwise it is still armed and is cleared first.
func (f *classifyFn) flush(ctx context.Context, sp state.Provider, tp timers.Provider, st *keyState, symbol string, now mtime.Time, limit int64, fired bool,
	emit func(beam.EventTime, tickbeam.Tick)) error {
	encs, _, err := f.Buffer.Read(sp)
	if err != nil {
		return fmt.Errorf("tickrule: %q: read buffer: %w", symbol, err)
	}
	var all []tickbeam.Tick
	for _, enc := range encs {
		ts, err := decodeBatch(enc)
		if err != nil {
			return fmt.Errorf("tickrule: %q: %w", symbol, err)
		}
		all = append(all, ts...)
	}
	slices.SortStableFunc(all, compareTrades)
	n := len(all)
	if limit > 0 {
		n = int(min(limit, int64(n)))
	} else {
		n, _ = slices.BinarySearchFunc(all, now, func(t tickbeam.Tick, now mtime.Time) int {
			if mtime.FromTime(t.EventTime) <= now {
				return -1
			}
			return 1
		})
	}
	due, rest := all[:n], all[n:]
	if len(due) == 0 && !fired {
		return nil // the armed timer still stands for the rest
	}

	var inferred, late int64
	for _, t := range due {
		if !st.after(&t) { // cannot happen: trades are checked on arrival
			if t.Side == tickbeam.Unknown {
				late++
			}
			emit(mtime.FromTime(t.EventTime), t)
			continue
		}
		ns := t.EventTime.UnixNano()
		if st.hasLast && time.Duration(ns-st.lastTime) >= f.Quiet {
			st.classifier = Classifier{} // a quiet gap starts a new sequence, as the release timer does
		}
		side := st.classifier.Next(t.Price)
		if t.Side == tickbeam.Unknown && side != tickbeam.Unknown {
			t.Side = side
			inferred++
		}
		st.hasLast, st.lastTime, st.lastID = true, ns, t.TradeID
		emit(mtime.FromTime(t.EventTime), t)
	}
	if inferred > 0 {
		cInferred.Inc(ctx, inferred)
	}
	if late > 0 {
		cLate.Inc(ctx, late)
	}

	if !fired {
		f.Timer.ClearTag(tp, flushTag(st.bufMin, st.fireAt))
	}
	if err := f.Buffer.Clear(sp); err != nil {
		return fmt.Errorf("tickrule: %q: clear buffer: %w", symbol, err)
	}
	st.buffered = int64(len(rest))
	if len(rest) > 0 {
		if err := f.Buffer.Add(sp, encodeTicks(rest)); err != nil {
			return fmt.Errorf("tickrule: %q: buffer trades: %w", symbol, err)
		}
		st.bufMin, st.fireAt = mtime.FromTime(rest[0].EventTime), mtime.FromTime(rest[len(rest)-1].EventTime)
		f.setFlush(tp, *st)
	}
	return nil
}

// setFlush fires at fireAt and holds the output watermark at bufMin, the
// earliest buffered trade, which is emitted at its own timestamp.
func (f *classifyFn) setFlush(tp timers.Provider, st keyState) {
	f.Timer.Set(tp, st.fireAt.ToTime(), timers.WithTag(flushTag(st.bufMin, st.fireAt)), timers.WithOutputTimestamp(st.bufMin.ToTime()))
}

// releaseTime is t + quiet, kept inside the global window.
func releaseTime(t mtime.Time, quiet time.Duration) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if q := mtime.FromDuration(quiet); t <= end-q {
		return t + q
	}
	return end
}

func (f *classifyFn) readState(sp state.Provider) (keyState, error) {
	b, ok, err := f.Meta.Read(sp)
	if err != nil {
		return keyState{}, fmt.Errorf("read state: %w", err)
	}
	if !ok {
		return keyState{}, nil
	}
	r := wire.NewReader(b)
	var st keyState
	st.classifier.seen = r.Int() != 0
	st.classifier.price = r.Float()
	st.classifier.direction = tickbeam.Side(r.String())
	st.hasLast = r.Int() != 0
	st.lastTime = r.Int()
	st.lastID = r.String()
	st.buffered = r.Int()
	st.bufMin = mtime.Time(r.Int())
	st.fireAt = mtime.Time(r.Int())
	st.releaseAt = mtime.Time(r.Int())
	if err := r.Err(); err != nil {
		return keyState{}, fmt.Errorf("bad state: %w", err)
	}
	return st, nil
}

func (f *classifyFn) writeState(sp state.Provider, symbol string, st keyState) error {
	b := make([]byte, 0, 64)
	b = wire.AppendInt(b, boolInt(st.classifier.seen))
	b = wire.AppendFloat(b, st.classifier.price)
	b = wire.AppendString(b, string(st.classifier.direction))
	b = wire.AppendInt(b, boolInt(st.hasLast))
	b = wire.AppendInt(b, st.lastTime)
	b = wire.AppendString(b, st.lastID)
	for _, v := range [...]int64{st.buffered, int64(st.bufMin), int64(st.fireAt), int64(st.releaseAt)} {
		b = wire.AppendInt(b, v)
	}
	if err := f.Meta.Write(sp, b); err != nil {
		return fmt.Errorf("tickrule: %q: write state: %w", symbol, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// compareTrades orders trades by (event time, trade id), ids numerically when
// both are decimal numbers, as bars order them.
func compareTrades(a, b tickbeam.Tick) int {
	if c := a.EventTime.Compare(b.EventTime); c != 0 {
		return c
	}
	return reorder.CompareIDs(a.TradeID, b.TradeID)
}
