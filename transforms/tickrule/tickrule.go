package tickrule

import (
	"context"
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
	"github.com/tickbeam/tickbeam/internal/optcheck"
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

// Validate reports a negative Quiet or MaxBuffered; zero means the default.
func (o Options) Validate() error {
	return optcheck.First(
		optcheck.NonNegative("tickrule", optcheck.F("Quiet", o.Quiet)),
		optcheck.NonNegative("tickrule", optcheck.F("MaxBuffered", o.MaxBuffered)))
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
// options (Options.Validate), as Beam transforms do at construction;
// TryClassifyWithOptions returns the error instead.
func ClassifyWithOptions(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	out, err := TryClassifyWithOptions(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryClassifyWithOptions is ClassifyWithOptions returning invalid options as an error instead of panicking.
func TryClassifyWithOptions(s beam.Scope, ticks beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("tickrule.Classify")
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
	return beam.WindowInto(s, ws.Fn, out, beam.AllowedLateness(time.Duration(ws.AllowedLateness)*time.Millisecond)), nil
}

// tickCodec encodes the ticks of a batch and of the reorder buffer.
var tickCodec = reorder.Codec[tickbeam.Tick](wire.For[tickbeam.Tick]())

func tickTime(t tickbeam.Tick) time.Time { return t.EventTime }

// batchFn packs each bundle's ticks into one batch per symbol, so the
// stateful step sees a batch, not a tick, per state access.
type batchFn struct {
	batch reorder.Batcher[tickbeam.Tick]
}

func (f *batchFn) StartBundle(context.Context, func(beam.EventTime, string, []byte)) {
	f.batch = reorder.Batcher[tickbeam.Tick]{Codec: tickCodec, Time: tickTime}
}

func (f *batchFn) ProcessElement(_ context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, []byte)) {
	f.batch.Add(t.Symbol, t, emit)
}

// FinishBundle emits each batch timestamped with its earliest tick.
func (f *batchFn) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	f.batch.Flush(emit)
}

// classifyFn is the stateful DoFn, keyed by symbol: the sequence in Meta's Aux,
// the trades the watermark has not passed in a reorder buffer (Meta,
// Buffer), whose timers (reorder.FlushTag(hold) and reorder.TagRelease,
// after Quiet) are tags of one family.
type classifyFn struct {
	Quiet       time.Duration
	MaxBuffered int64

	Meta   state.Value[[]byte] // reorder.Meta; its Aux holds the keyState
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime

	ord *reorder.Buffer[tickbeam.Tick]
}

func (f *classifyFn) Setup() {
	f.ord = &reorder.Buffer[tickbeam.Tick]{Bag: &f.Buffer, Timer: &f.Timer, Codec: tickCodec, MaxBuffered: int(f.MaxBuffered),
		TTL: f.Quiet, Time: tickTime, Compare: compareTrades}
}

// keyState is a symbol's sequence.
type keyState struct {
	classifier Classifier
	hasLast    bool   // a trade was classified: the late check applies
	lastTime   int64  // the last classified trade: event time (Unix ns)
	lastID     string // and trade id
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
	ticks, err := tickCodec.Decode(nil, enc)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	m, st, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	trades := ticks[:0]
	for _, t := range ticks {
		if t.Kind != tickbeam.Trade {
			emit(mtime.FromTime(t.EventTime), t) // quotes need no order
			continue
		}
		trades = append(trades, t)
	}
	if len(trades) == 0 {
		return nil
	}
	late, forced, err := f.ord.Add(sp, tp, &m, trades)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	// The buffer calls late what is at or before the last classified
	// trade's time; one of that time with a later trade id still follows
	// it, and is next in the sequence.
	var next []tickbeam.Tick
	var nLate int64
	for _, t := range late {
		if st.after(&t) {
			next = append(next, t)
			continue
		}
		if t.Side == tickbeam.Unknown {
			nLate++
		}
		emit(mtime.FromTime(t.EventTime), t)
	}
	if nLate > 0 {
		cLate.Inc(ctx, nLate)
	}
	slices.SortStableFunc(next, compareTrades)
	f.classify(ctx, &st, next, emit)
	if len(forced) > 0 {
		cForced.Inc(ctx, int64(len(forced)))
		f.classify(ctx, &st, forced, emit)
	}
	return f.writeState(sp, symbol, m, st)
}

func (f *classifyFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, symbol string, timer timers.Context,
	emit func(beam.EventTime, tickbeam.Tick)) error {
	if timer.Family != f.Timer.Family {
		return fmt.Errorf("tickrule: %q: unexpected timer family %q", symbol, timer.Family)
	}
	m, st, err := f.readState(sp)
	if err != nil {
		return fmt.Errorf("tickrule: %q: %w", symbol, err)
	}
	switch {
	case reorder.IsFlush(timer.Tag):
		if !m.Current(timer.Tag) {
			return nil // a stale firing: flushed already, or the hold moved
		}
		due, err := f.ord.Flush(sp, tp, &m)
		if err != nil {
			return fmt.Errorf("tickrule: %q: %w", symbol, err)
		}
		f.classify(ctx, &st, due, emit)
		return f.writeState(sp, symbol, m, st)
	case timer.Tag == reorder.TagRelease:
		if !f.ord.Released(tp, &m, mtime.Time(ts)) {
			return nil // a later trade moved the release: re-armed
		}
		// Normally flushed already (its timer is earlier); every trade is
		// before the release, Quiet after the latest.
		due, err := f.ord.Drain(sp, tp, &m, ts)
		if err != nil {
			return fmt.Errorf("tickrule: %q: %w", symbol, err)
		}
		f.classify(ctx, &st, due, emit)
		for _, clear := range []func(state.Provider) error{f.Meta.Clear, f.Buffer.Clear} {
			if err := clear(sp); err != nil {
				return fmt.Errorf("tickrule: %q: release state: %w", symbol, err)
			}
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return fmt.Errorf("tickrule: %q: unexpected timer tag %q", symbol, timer.Tag)
}

// classify runs trades, in order and after the last classified one, through
// the symbol's sequence and emits them.
func (f *classifyFn) classify(ctx context.Context, st *keyState, trades []tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	var inferred int64
	for _, t := range trades {
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
}

func (f *classifyFn) readState(sp state.Provider) (reorder.Meta, keyState, error) {
	m, _, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return reorder.Meta{}, keyState{}, fmt.Errorf("read state: %w", err)
	}
	if len(m.Aux) == 0 {
		return m, keyState{}, nil
	}
	r := wire.NewReader(m.Aux)
	var st keyState
	st.classifier.seen = r.Int() != 0
	st.classifier.price = r.Float()
	st.classifier.direction = tickbeam.Side(r.String())
	st.hasLast = r.Int() != 0
	st.lastTime = r.Int()
	st.lastID = r.String()
	if err := r.Err(); err != nil {
		return reorder.Meta{}, keyState{}, fmt.Errorf("bad state: %w", err)
	}
	return m, st, nil
}

// writeState writes the buffer's Meta with the sequence in its Aux.
func (f *classifyFn) writeState(sp state.Provider, symbol string, m reorder.Meta, st keyState) error {
	b := make([]byte, 0, 48)
	b = wire.AppendInt(b, boolInt(st.classifier.seen))
	b = wire.AppendFloat(b, st.classifier.price)
	b = wire.AppendString(b, string(st.classifier.direction))
	b = wire.AppendInt(b, boolInt(st.hasLast))
	b = wire.AppendInt(b, st.lastTime)
	m.Aux = wire.AppendString(b, st.lastID)
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
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
