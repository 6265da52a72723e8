package portfolio

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// DefaultCalendar is the calendar of Options and NewBook when they name
// none: CRYPTO, whose trading day is the UTC day.
const DefaultCalendar = "CRYPTO"

// Options configure Compute.
type Options struct {
	// Resolution of the bars: the rows come in its fixed windows. Required.
	Resolution bars.Resolution
	// Calendar defines trading days: previous closes are the last price of
	// the trading day before, and positions and splits take effect on
	// theirs. Nil means DefaultCalendar.
	Calendar *calendar.Calendar
	// AllowedLateness of the rows' windows, for sinks downstream (bars
	// arriving later than their window's rows are counted, not applied).
	AllowedLateness time.Duration
	// MaxBuffered bounds the bars waiting for the watermark (default
	// reorder.DefaultMaxBuffered); past it the oldest half is valued ahead
	// of the watermark.
	MaxBuffered int
}

// Validate reports the first problem of o: a Resolution missing or not one
// bars.ParseResolution would accept, or a negative AllowedLateness or
// MaxBuffered.
func (o Options) Validate() error {
	if o.Resolution == 0 {
		return errors.New("portfolio: Resolution is required")
	}
	return optcheck.First(
		optcheck.Wrap("portfolio", "Resolution", optcheck.DayDivisor("bar resolution", o.Resolution.Duration())),
		optcheck.NonNegative("portfolio", optcheck.F("AllowedLateness", o.AllowedLateness)),
		optcheck.NonNegative("portfolio", optcheck.F("MaxBuffered", o.MaxBuffered)))
}

// Counters, in namespace tickbeam/portfolio.
var (
	cRows     = beam.NewCounter("tickbeam/portfolio", "rows")           // PortfolioRows emitted
	cWindows  = beam.NewCounter("tickbeam/portfolio", "windows")        // windows valued (with rows)
	cLate     = beam.NewCounter("tickbeam/portfolio", "late_bars")      // bars of windows already valued: not applied
	cForced   = beam.NewCounter("tickbeam/portfolio", "forced_bars")    // bars valued ahead of the watermark (full buffer)
	cHoldings = beam.NewCounter("tickbeam/portfolio", "holdings")       // holdings that replaced the previous ones
	cUnpriced = beam.NewCounter("tickbeam/portfolio", "unpriced_count") // position-windows without any price yet
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(Holdings{}), encodeHoldings, decodeHoldings)
	register.DoFn3x0[context.Context, tickbeam.Bar, func(beam.EventTime, string, []byte)](&batchFn{})
	register.Emitter3[beam.EventTime, string, []byte]()
	register.Function2x0(holdingsElement)
	register.Emitter2[string, []byte]()
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, []byte,
		func(beam.EventTime, tickbeam.PortfolioRow), error](&bookFn{})
	register.Emitter2[beam.EventTime, tickbeam.PortfolioRow]()
}

// Compute values a portfolio at every bar window. bars is a
// PCollection<tickbeam.Bar> of one resolution (bars.Compute's output, any
// symbols) and holdings a PCollection<Holdings>: one element for a fixed
// portfolio (beam.Create), or a new element whenever the positions source
// changes (a periodic re-read). It returns PCollection<tickbeam.PortfolioRow>
// in fixed windows of opts.Resolution (see tickbeam.PortfolioRow for the
// figures), which the drawdown and position_value alert rules read
// (alerts.Inputs.Portfolio).
//
// A window is valued once the watermark has passed it, with the newest
// pane of each of its bars, and only when a bar of it is of a symbol held on
// its trading day: symbols without a bar in it carry their last price. New
// holdings apply to the windows valued after they arrive (and FromDate rows
// from their day): on a stream that is processing time, so a change meant
// for a known day belongs in a FromDate row.
//
// How: each bundle packs its bars into one batch, and every batch and
// holdings element goes to one stateful DoFn under a single key (a
// portfolio's weights and totals need all its symbols together; bars are
// few next to ticks). It buffers the bars until the watermark passes them
// (internal/reorder) and keeps a Book in Beam state: holdings, each
// symbol's last price, previous close and peak, each currency's return
// index. State grows with the symbols of the feed, not with time.
//
// Compute panics on invalid options (Options.Validate), as Beam transforms
// do at construction; TryCompute returns the error instead.
func Compute(s beam.Scope, barsCol, holdings beam.PCollection, opts Options) beam.PCollection {
	out, err := TryCompute(s, barsCol, holdings, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryCompute is Compute returning invalid options as an error instead of panicking.
func TryCompute(s beam.Scope, barsCol, holdings beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("portfolio.Compute")
	if opts.Calendar == nil {
		c, err := calendar.Lookup(DefaultCalendar)
		if err != nil {
			return beam.PCollection{}, fmt.Errorf("portfolio: %w", err)
		}
		opts.Calendar = c
	}
	batches := beam.ParDo(s, &batchFn{}, barsCol)
	held := beam.ParDo(s, holdingsElement, holdings)
	in := beam.Flatten(s, beam.WindowInto(s, window.NewGlobalWindows(), batches), beam.WindowInto(s, window.NewGlobalWindows(), held))
	rows := beam.ParDo(s, &bookFn{
		Resolution:  opts.Resolution.String(),
		Calendar:    opts.Calendar,
		MaxBuffered: opts.MaxBuffered,
		Meta:        state.MakeValueState[[]byte]("meta"),
		Book:        state.MakeValueState[[]byte]("book"),
		Buffer:      state.MakeBagState[[]byte]("buffer"),
		Timer:       timers.InEventTime("timer"),
	}, in)
	return beam.WindowInto(s, window.NewFixedWindows(opts.Resolution.Duration()), rows, beam.AllowedLateness(opts.AllowedLateness)), nil
}

// Element tags: a bookFn input is a batch of prices or a Holdings.
const (
	tagPrices   = 'p'
	tagHoldings = 'h'
)

// key is the one key of bookFn: a portfolio is valued as a whole.
const key = "portfolio"

// price is what the Book needs of a bar.
type price struct {
	Symbol     string
	Start, End time.Time
	Close      float64
	Pane       int64
}

var priceCodec = reorder.Codec[price]{
	Append: func(b []byte, p price) []byte {
		b = wire.AppendString(b, p.Symbol)
		b = wire.AppendTime(b, p.Start)
		b = wire.AppendTime(b, p.End)
		b = wire.AppendFloat(b, p.Close)
		return wire.AppendInt(b, p.Pane)
	},
	Read: func(r *wire.Reader) price {
		return price{Symbol: r.String(), Start: r.Time(), End: r.Time(), Close: r.Float(), Pane: r.Int()}
	},
}

// priceTime is a bar's timestamp, the end of its window less 1 ms.
func priceTime(p price) time.Time { return p.End.Add(-time.Millisecond) }

// comparePrices orders by window, symbol, then the newest pane first.
func comparePrices(a, b price) int {
	if c := a.End.Compare(b.End); c != 0 {
		return c
	}
	if c := strings.Compare(a.Symbol, b.Symbol); c != 0 {
		return c
	}
	return int(b.Pane - a.Pane)
}

// samePriceWindow keeps only the newest pane of a symbol's window.
func samePriceWindow(prev, next price) bool {
	return prev.Symbol == next.Symbol && prev.End.Equal(next.End)
}

// batchFn packs a bundle's bars into one batch.
type batchFn struct {
	batch reorder.Batcher[price]
}

func (f *batchFn) Setup() { f.batch = reorder.Batcher[price]{Codec: priceCodec, Time: priceTime} }

func (f *batchFn) ProcessElement(_ context.Context, b tickbeam.Bar, emit func(beam.EventTime, string, []byte)) {
	if b.Timing == tickbeam.Early {
		return // the ON_TIME pane follows
	}
	f.batch.Add(key, price{Symbol: b.Symbol, Start: b.WindowStart, End: b.WindowEnd, Close: b.Close, Pane: b.PaneIndex}, tagged(emit))
}

func (f *batchFn) FinishBundle(_ context.Context, emit func(beam.EventTime, string, []byte)) {
	f.batch.Flush(tagged(emit))
}

func tagged(emit func(beam.EventTime, string, []byte)) func(mtime.Time, string, []byte) {
	return func(t mtime.Time, k string, b []byte) { emit(t, k, append([]byte{tagPrices}, b...)) }
}

func holdingsElement(h Holdings, emit func(string, []byte)) {
	b, _ := encodeHoldings(h)
	emit(key, append([]byte{tagHoldings}, b...))
}

// bookFn values the portfolio: prices wait in a reorder buffer until the
// watermark passes their window, then go to the Book window by window.
type bookFn struct {
	Resolution  string
	Calendar    *calendar.Calendar
	MaxBuffered int

	Meta   state.Value[[]byte]
	Book   state.Value[[]byte]
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime // tags reorder.FlushTag(hold) and reorder.TagRelease

	ord *reorder.Buffer[price]
}

// stateTTL is how long after the latest bar the buffer's bookkeeping is
// released; the Book (holdings and prices) is kept.
const stateTTL = 7 * 24 * time.Hour

func (f *bookFn) Setup() {
	f.ord = &reorder.Buffer[price]{Bag: &f.Buffer, Timer: &f.Timer, Codec: priceCodec, MaxBuffered: f.MaxBuffered, TTL: stateTTL,
		Time: priceTime, Compare: comparePrices, Duplicate: samePriceWindow}
}

func (f *bookFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, _ string, v []byte,
	emitRow func(beam.EventTime, tickbeam.PortfolioRow)) error {
	if len(v) == 0 {
		return fmt.Errorf("portfolio: empty element")
	}
	switch v[0] {
	case tagHoldings:
		h, err := decodeHoldings(v[1:])
		if err != nil {
			return fmt.Errorf("portfolio: %w", err)
		}
		book, err := f.readBook(sp)
		if err != nil {
			return err
		}
		if book.SetHoldings(h) {
			cHoldings.Inc(ctx, 1)
			return f.writeBook(sp, book)
		}
		return nil
	case tagPrices:
		m, _, err := reorder.ReadMeta(sp, &f.Meta)
		if err != nil {
			return fmt.Errorf("portfolio: %w", err)
		}
		late, forced, err := f.ord.AddBatch(sp, tp, &m, v[1:])
		if err != nil {
			return fmt.Errorf("portfolio: %w", err)
		}
		cLate.Inc(ctx, int64(len(late)))
		cForced.Inc(ctx, int64(len(forced)))
		if err := f.value(ctx, sp, forced, emitRow); err != nil {
			return err
		}
		return f.writeMeta(sp, m)
	}
	return fmt.Errorf("portfolio: unknown element tag %q", v[0])
}

func (f *bookFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, timer timers.Context,
	emitRow func(beam.EventTime, tickbeam.PortfolioRow)) error {
	m, ok, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return fmt.Errorf("portfolio: %w", err)
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
			return fmt.Errorf("portfolio: %w", err)
		}
		if err := f.value(ctx, sp, due, emitRow); err != nil {
			return err
		}
		return f.writeMeta(sp, m)
	case timer.Tag == reorder.TagRelease:
		if !f.ord.Released(tp, &m, mtime.Time(ts)) {
			return nil // a later bar moved the release: re-armed
		}
		due, err := f.ord.Drain(sp, tp, &m, ts)
		if err != nil {
			return fmt.Errorf("portfolio: %w", err)
		}
		if err := f.value(ctx, sp, due, emitRow); err != nil {
			return err
		}
		// The Book stays: holdings come once, and prices carry.
		if err := f.Meta.Clear(sp); err != nil {
			return fmt.Errorf("portfolio: release: %w", err)
		}
		if err := f.Buffer.Clear(sp); err != nil {
			return fmt.Errorf("portfolio: release: %w", err)
		}
		return nil
	}
	return fmt.Errorf("portfolio: unexpected timer %q/%q", timer.Family, timer.Tag)
}

// value hands due prices, in order, to the Book window by window and emits
// the rows, each at its window's end less 1 ms.
func (f *bookFn) value(ctx context.Context, sp state.Provider, due []price, emitRow func(beam.EventTime, tickbeam.PortfolioRow)) error {
	if len(due) == 0 {
		return nil
	}
	book, err := f.readBook(sp)
	if err != nil {
		return err
	}
	win := make([]tickbeam.Bar, 0, 64)
	for i := 0; i < len(due); {
		j := i
		win = win[:0]
		for ; j < len(due) && due[j].End.Equal(due[i].End); j++ {
			p := due[j]
			win = append(win, tickbeam.Bar{Symbol: p.Symbol, Resolution: f.Resolution, WindowStart: p.Start, WindowEnd: p.End, Close: p.Close})
		}
		i = j
		if !win[0].WindowEnd.After(book.st.LastEnd) {
			cLate.Inc(ctx, int64(len(win))) // after a release, behind the Book
			continue
		}
		rows, err := book.Window(win)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			continue
		}
		cWindows.Inc(ctx, 1)
		cRows.Inc(ctx, int64(len(rows)))
		ts := mtime.FromTime(priceTime(due[i-1]))
		for _, r := range rows {
			if r.Symbol == tickbeam.PortfolioTotal {
				cUnpriced.Inc(ctx, r.Unpriced)
			}
			emitRow(ts, r)
		}
	}
	return f.writeBook(sp, book)
}

func (f *bookFn) readBook(sp state.Provider) (*Book, error) {
	book, err := NewBook(f.Calendar)
	if err != nil {
		return nil, err
	}
	b, ok, err := f.Book.Read(sp)
	if err != nil {
		return nil, fmt.Errorf("portfolio: read state: %w", err)
	}
	if ok {
		if err := book.UnmarshalState(b); err != nil {
			return nil, err
		}
	}
	return book, nil
}

func (f *bookFn) writeBook(sp state.Provider, book *Book) error {
	b, err := book.MarshalState()
	if err == nil {
		err = f.Book.Write(sp, b)
	}
	if err != nil {
		return fmt.Errorf("portfolio: write state: %w", err)
	}
	return nil
}

func (f *bookFn) writeMeta(sp state.Provider, m reorder.Meta) error {
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
		return fmt.Errorf("portfolio: write state: %w", err)
	}
	return nil
}
