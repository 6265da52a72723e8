package tickbeamtest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func init() {
	register.Function2x0[tickbeam.Tick, func(beam.EventTime, tickbeam.Tick)](stampTick)
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
}

// Source is the Source of the ticks built here unless WithSource says
// otherwise.
const Source = "test"

// TickOption changes a tick Trade or Quote builds.
type TickOption func(*tickbeam.Tick)

// WithID sets the trade id, which dedupe uses with the source and symbol to
// recognise a redelivered trade. Without one a trade is identified by its
// whole content.
func WithID(id string) TickOption { return func(t *tickbeam.Tick) { t.TradeID = id } }

// WithSide sets the aggressor side (default UNKNOWN).
func WithSide(s tickbeam.Side) TickOption { return func(t *tickbeam.Tick) { t.Side = s } }

// WithSource sets the source (default "test").
func WithSource(src string) TickOption { return func(t *tickbeam.Tick) { t.Source = src } }

// WithPrevClose sets the previous close the feed reported.
func WithPrevClose(p float64) TickOption { return func(t *tickbeam.Tick) { t.PrevClose = p } }

// Trade is a trade of size at price, at event time at.
func Trade(symbol string, at time.Time, price, size float64, opts ...TickOption) tickbeam.Tick {
	t := tickbeam.Tick{Symbol: symbol, Kind: tickbeam.Trade, EventTime: at.UTC(), IngestTime: at.UTC(),
		Price: price, Size: size, Side: tickbeam.Unknown, Source: Source}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// Quote is a quote of bid and ask (size 1 each) at event time at.
func Quote(symbol string, at time.Time, bid, ask float64, opts ...TickOption) tickbeam.Tick {
	t := tickbeam.Tick{Symbol: symbol, Kind: tickbeam.Quote, EventTime: at.UTC(), IngestTime: at.UTC(),
		BidPrice: bid, BidSize: 1, AskPrice: ask, AskSize: 1, Side: tickbeam.Unknown, Source: Source}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// Trades is a sequence of trades of size 1, one at each price, every apart
// from start, with trade ids "1", "2", ...
func Trades(symbol string, start time.Time, every time.Duration, prices ...float64) []tickbeam.Tick {
	out := make([]tickbeam.Tick, len(prices))
	for i, p := range prices {
		out[i] = Trade(symbol, start.Add(time.Duration(i)*every), p, 1, WithID(strconv.Itoa(i+1)))
	}
	return out
}

// Walk describes a seeded random walk: the trades of io/synthetic's feed
// (a geometric Brownian motion per symbol, starting at
// synthetic.StartPrice(symbol), BUY and SELL sides, trade ids 1, 2, ... per
// symbol, source "synthetic"). The same Walk always gives the same ticks.
type Walk struct {
	// Symbols take turns, one tick each.
	Symbols []string
	// Start is the first tick's event time; ticks follow Every apart.
	Start time.Time
	Every time.Duration
	// Seed selects the path.
	Seed int64
	// Volatility is annualised; 0 is synthetic.DefaultVolatility.
	Volatility float64
}

// Ticks returns the walk's first n ticks. It panics on a Walk that
// synthetic.Config rejects (no symbols, Every <= 0).
func (w Walk) Ticks(n int) []tickbeam.Tick {
	if w.Every <= 0 {
		panic(fmt.Sprintf("tickbeamtest.Walk: Every must be > 0, got %v", w.Every))
	}
	g, err := synthetic.NewGenerator(synthetic.Config{Symbols: w.Symbols, Rate: float64(time.Second) / float64(w.Every),
		Seed: w.Seed, Count: int64(n), Start: w.Start, Volatility: w.Volatility})
	if err != nil {
		panic(fmt.Sprintf("tickbeamtest.Walk: %v", err))
	}
	out := make([]tickbeam.Tick, 0, n)
	for t, ok := g.Next(); ok; t, ok = g.Next() {
		out = append(out, t)
	}
	return out
}

// Lines returns each tick as a line of tickbeam's own Tick JSON, the
// "tick" format of transforms/parse (and of the raw archive), for pipelines
// that start from raw messages.
func Lines(ticks ...tickbeam.Tick) []string {
	out := make([]string, len(ticks))
	for i, t := range ticks {
		b, err := json.Marshal(t)
		if err != nil { // a Tick always marshals, save NaN prices
			panic(fmt.Sprintf("tickbeamtest.Lines: %v", err))
		}
		out[i] = string(b)
	}
	return out
}

// Ticks creates a bounded PCollection<tickbeam.Tick>, each element
// timestamped with its EventTime as a feed source would emit it. For a
// stream with watermark steps, use NewStream.
func Ticks(s beam.Scope, ticks ...tickbeam.Tick) beam.PCollection {
	s = s.Scope("tickbeamtest.Ticks")
	return beam.ParDo(s, stampTick, beam.CreateList(s, ticks))
}

func stampTick(t tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	emit(mtime.FromTime(t.EventTime), t)
}

// BarsOf computes, without Beam, the bars transforms/bars makes of ticks at
// resolution res (one ON_TIME pane per window, UTC-aligned windows), as the
// expected rows of a test. Quotes make no bars.
func BarsOf(res time.Duration, ticks ...tickbeam.Tick) []tickbeam.Bar {
	type key struct {
		symbol string
		start  time.Time
	}
	accs := map[key]*bars.Accumulator{}
	var order []key
	for i := range ticks {
		t := &ticks[i]
		if t.Kind != tickbeam.Trade {
			continue
		}
		k := key{t.Symbol, t.EventTime.UTC().Truncate(res)}
		a := accs[k]
		if a == nil {
			a = &bars.Accumulator{}
			accs[k] = a
			order = append(order, k)
		}
		a.Add(t)
	}
	out := make([]tickbeam.Bar, 0, len(order))
	for _, k := range order {
		b := accs[k].Bar(k.symbol, bars.Resolution(res), k.start, k.start.Add(res))
		b.Timing = tickbeam.OnTime
		out = append(out, b)
	}
	return out
}
