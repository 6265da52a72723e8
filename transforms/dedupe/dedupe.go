// Package dedupe drops redelivered ticks.
//
// Feeds redeliver: a websocket replays trades after a reconnect, Pub/Sub
// delivers at least once, a backfill overlaps a live capture. A trade's
// identity is (source, symbol, trade_id); KIS, which has no trade id, gets one
// from (BSOP_DATE, ACML_VOL) in the parser, so the same rule covers it. A tick
// without a trade id (a quote) is identified by its whole content.
//
// Copies of a tick carry the feed's own timestamp, so they fall into the same
// event-time window; deduplicating per window keeps state bounded on a stream
// that never ends.
package dedupe

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Options configure Ticks.
type Options struct {
	// Window is the event-time window within which copies are recognised.
	// Copies share an event time, so any window works; longer windows hold
	// more state and delay output on streams. Default one minute.
	Window time.Duration
}

// DefaultWindow is the window of the zero Options.
const DefaultWindow = time.Minute

func init() {
	register.Function2x0[tickbeam.Tick, func(string, First)](keyByIdentity)
	register.Emitter2[string, First]()
	register.Combiner1[First](&firstFn{})
	beam.RegisterCoder(reflect.TypeOf(First{}), encodeFirst, decodeFirst)
	register.DoFn3x0[context.Context, First, func(beam.EventTime, tickbeam.Tick)](&emitFn{})
}

// Ticks returns the ticks of a PCollection<tickbeam.Tick> with redelivered
// copies removed, each tick keeping its event-time timestamp. Of several
// copies the one ingested first is kept. Removed copies are counted in the
// Beam counter tickbeam/dedupe.duplicates.
//
// The output is in fixed windows of opts.Window; transforms that window by
// event time (bars) re-window it as they need.
func Ticks(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	s = s.Scope("dedupe.Ticks")
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	keyed := beam.ParDo(s, keyByIdentity, beam.WindowInto(s, window.NewFixedWindows(opts.Window), ticks))
	firsts := beam.CombinePerKey(s, &firstFn{}, keyed)
	return beam.ParDo(s, &emitFn{}, beam.DropKey(s, firsts))
}

// Identity is the key under which copies of t are recognised.
func Identity(t *tickbeam.Tick) string {
	if t.TradeID != "" {
		return t.Source + "\x00" + t.Symbol + "\x00" + t.TradeID
	}
	b := make([]byte, 0, 128)
	for _, s := range [...]string{t.Source, t.Symbol, t.Venue, string(t.Kind), string(t.Side)} {
		b = append(b, s...)
		b = append(b, 0)
	}
	b = strconv.AppendInt(b, t.EventTime.UnixNano(), 36)
	for _, f := range [...]float64{t.Price, t.Size, t.BidPrice, t.BidSize, t.AskPrice, t.AskSize, t.PrevClose} {
		b = append(b, 0)
		b = strconv.AppendUint(b, math.Float64bits(f), 36)
	}
	return string(b)
}

func keyByIdentity(t tickbeam.Tick, emit func(string, First)) {
	emit(Identity(&t), First{Tick: t, Copies: 1})
}

// First is the copy of a tick kept so far and how many copies were seen.
type First struct {
	Tick   tickbeam.Tick
	Copies int64
}

type firstFn struct{}

func (*firstFn) CreateAccumulator() First { return First{} }

func (*firstFn) AddInput(a First, b First) First { return merge(a, b) }

func (*firstFn) MergeAccumulators(a, b First) First { return merge(a, b) }

func merge(a, b First) First {
	switch {
	case a.Copies == 0:
		return b
	case b.Copies == 0:
		return a
	}
	keep := a
	if b.Tick.IngestTime.Before(a.Tick.IngestTime) {
		keep = b
	}
	keep.Copies = a.Copies + b.Copies
	return keep
}

var duplicates = beam.NewCounter("tickbeam/dedupe", "duplicates")

type emitFn struct{}

func (*emitFn) ProcessElement(ctx context.Context, f First, emit func(beam.EventTime, tickbeam.Tick)) {
	if f.Copies > 1 {
		duplicates.Inc(ctx, f.Copies-1)
	}
	emit(mtime.FromTime(f.Tick.EventTime), f.Tick)
}

func encodeFirst(f First) ([]byte, error) {
	return tickbeam.AppendTick(wire.AppendInt(make([]byte, 0, 104), f.Copies), f.Tick), nil
}

func decodeFirst(b []byte) (First, error) {
	r := wire.NewReader(b)
	f := First{Copies: r.Int()}
	f.Tick = tickbeam.ReadTick(r)
	if err := r.Err(); err != nil {
		return First{}, fmt.Errorf("decode dedupe.First: %w", err)
	}
	return f, nil
}
