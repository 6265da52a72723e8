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
//
// How: each bundle packs its ticks into one Batch per (source, symbol,
// window), dropping the copies it sees itself; batches are grouped by that key
// and the copies across bundles dropped while the group is read. Only batches
// cross the runner, not ticks: on prism a shuffle of every tick costs about
// 6 µs a tick (120k ticks/s at best on two cores), while a batch costs about
// what encoding its ticks does.
package dedupe

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/optcheck"
)

// Options configure Ticks.
type Options struct {
	// Window is the event-time window within which copies are recognised.
	// Copies share an event time, so any window works; on a stream, output
	// waits for the window to close, so keep it no longer than the finest
	// bars downstream. Default one minute.
	Window time.Duration
	// AllowedLateness keeps a window open this long past the watermark:
	// late ticks leave in a LATE pane of their window as they arrive
	// (discarding: each tick leaves once). A copy of a tick that already
	// left in an earlier pane is not recognised then; the pubsubx reader's
	// message-id dedupe covers Pub/Sub's own redeliveries.
	AllowedLateness time.Duration
	// Screen, if set, sees the batches before they are grouped and returns
	// the batches to group instead: e.g. alerts.Screen's Batches, which
	// takes outlier trades out. It is given a PCollection<KV<string,
	// Batch>> (KeyOf keys) and the Window, and returns PCollections of that type, each
	// batch holding one key's ticks of one Window and timestamped at one of
	// them; Ticks windows each and flattens them into its GroupByKey. On
	// prism that Flatten costs no crossing of its own, where a Flatten of
	// ticks after the grouping would be one more crossing of every tick.
	// Copies a Screen drops it counts in Duplicates.
	Screen func(s beam.Scope, batches beam.PCollection, window time.Duration) []beam.PCollection
}

// Validate reports a negative Window or AllowedLateness; a zero Window
// means DefaultWindow.
func (o Options) Validate() error {
	return optcheck.NonNegative("dedupe", optcheck.F("Window", o.Window), optcheck.F("AllowedLateness", o.AllowedLateness))
}

// DefaultWindow is the window of the zero Options.
const DefaultWindow = time.Minute

// maxBatched bounds the ticks a bundle holds before it flushes its batches.
const maxBatched = 8192

func init() {
	register.DoFn3x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, Batch)](&batchFn{})
	register.Emitter3[beam.EventTime, string, Batch]()
	register.DoFn4x0[context.Context, string, func(*Batch) bool, func(beam.EventTime, tickbeam.Tick)](&uniqueFn{})
	register.Iter1[Batch]()
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	beam.RegisterCoder(reflect.TypeOf(Batch{}), encodeBatch, decodeBatch)
}

// Ticks returns the ticks of a PCollection<tickbeam.Tick> with redelivered
// copies removed, each tick keeping its event-time timestamp. Of several
// copies the first one seen is kept (copies differ only in ingest time). Removed copies
// are counted in the Beam counter tickbeam/dedupe.duplicates.
//
// The output is in fixed windows of opts.Window; transforms that window by
// event time (bars) re-window it as they need. Ticks panics on invalid
// options (Options.Validate); TryTicks returns the error instead.
func Ticks(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	out, err := TryTicks(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryTicks is Ticks returning invalid options as an error instead of panicking.
func TryTicks(s beam.Scope, ticks beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("dedupe.Ticks")
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	batches := []beam.PCollection{beam.ParDo(s, &batchFn{Window: opts.Window}, ticks)}
	if opts.Screen != nil {
		batches = opts.Screen(s.Scope("screen"), batches[0], opts.Window)
		if len(batches) == 0 {
			return beam.PCollection{}, errors.New("dedupe: Screen returned no batches")
		}
	}
	// Each input is windowed before the Flatten, whose inputs must share
	// their windowing: a WindowInto after it would be a step of its own.
	windowed := make([]beam.PCollection, len(batches))
	for i, b := range batches {
		if opts.AllowedLateness > 0 {
			windowed[i] = beam.WindowInto(s, window.NewFixedWindows(opts.Window), b,
				beam.Trigger(trigger.AfterEndOfWindow().LateFiring(trigger.Always())),
				beam.AllowedLateness(opts.AllowedLateness), beam.PanesDiscard())
		} else {
			windowed[i] = beam.WindowInto(s, window.NewFixedWindows(opts.Window), b)
		}
	}
	all := windowed[0]
	if len(windowed) > 1 {
		all = beam.Flatten(s, windowed...)
	}
	grouped := beam.GroupByKey(s, all)
	return beam.ParDo(s, &uniqueFn{}, grouped), nil
}

// KeyOf is the key of a Batch of source's ticks of symbol.
func KeyOf(source, symbol string) string { return source + "\x00" + symbol }

// SymbolOf is the symbol of a KeyOf key.
func SymbolOf(key string) string {
	_, symbol, _ := strings.Cut(key, "\x00")
	return symbol
}

// WindowStart is the start of the fixed window of size w holding t.
func WindowStart(t time.Time, w time.Duration) int64 {
	ns, size := t.UnixNano(), int64(w)
	start := ns - ns%size
	if ns < 0 && ns%size != 0 {
		start -= size
	}
	return start
}

// Identity is the key under which copies of t are recognised.
func Identity(t *tickbeam.Tick) string {
	if t.TradeID != "" {
		return t.TradeID
	}
	b := make([]byte, 0, 96)
	for _, s := range [...]string{t.Venue, string(t.Kind), string(t.Side)} {
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

// Batch is the ticks of one (source, symbol, window) from one bundle.
type Batch struct {
	Ticks []tickbeam.Tick

	enc *batchEncoder // a bundle's batch, encoded as it was packed (Ticks unset)
}

// All returns the batch's ticks: Ticks, or those of a batch Ticks packed
// itself, which it holds encoded until they cross the runner.
func (b Batch) All() ([]tickbeam.Tick, error) {
	if b.enc == nil {
		return b.Ticks, nil
	}
	d, err := decodeBatch(b.enc.bytes())
	return d.Ticks, err
}

type batchKey struct {
	source, symbol string
	start          int64
}

type pending struct {
	batch batchEncoder
	// ids holds the batch's identities once they are needed: while every
	// trade id is a number greater than the one before, as a venue's trades
	// of one symbol come, a tick cannot be a copy and only the numbers are
	// kept (asc).
	ids  map[string]struct{}
	asc  []int64
	last time.Time
}

type batchFn struct {
	Window time.Duration

	open  map[batchKey]*pending
	held  int
	dupes int64
}

func (f *batchFn) StartBundle(context.Context, func(beam.EventTime, string, Batch)) {
	f.open = make(map[batchKey]*pending)
	f.held, f.dupes = 0, 0
}

func (f *batchFn) ProcessElement(ctx context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, Batch)) {
	k := batchKey{t.Source, t.Symbol, WindowStart(t.EventTime, f.Window)}
	p := f.open[k]
	if p == nil {
		p = &pending{batch: batchEncoder{source: t.Source, symbol: t.Symbol}}
		f.open[k] = p
	}
	n, numeric := numericID(t.TradeID)
	if !p.ascending(n, numeric) {
		id := Identity(&t)
		if _, seen := p.ids[id]; seen {
			f.dupes++
			return
		}
		p.ids[id] = struct{}{}
	}
	p.batch.add(&t, n, numeric)
	if t.EventTime.After(p.last) {
		p.last = t.EventTime
	}
	if f.held++; f.held >= maxBatched {
		f.flush(ctx, emit)
	}
}

// ascending reports whether a trade id that is n as a number (numeric)
// continues the batch's ascending numeric trade ids, so the tick is new.
// Otherwise it makes sure ids holds every identity in the batch.
func (p *pending) ascending(n int64, numeric bool) bool {
	if p.ids == nil {
		if numeric && (len(p.asc) == 0 || n > p.asc[len(p.asc)-1]) {
			p.asc = append(p.asc, n)
			return true
		}
		// A numeric id is its own identity (numericID: canonical decimal).
		p.ids = make(map[string]struct{}, 2*len(p.asc)+1)
		for _, n := range p.asc {
			p.ids[strconv.FormatInt(n, 10)] = struct{}{}
		}
		p.asc = nil
	}
	return false
}

func (f *batchFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, Batch)) {
	f.flush(ctx, emit)
}

// flush emits each batch timestamped with its latest tick, which lies in the
// batch's window, so windowing downstream puts it back in that window.
func (f *batchFn) flush(ctx context.Context, emit func(beam.EventTime, string, Batch)) {
	for k, p := range f.open {
		emit(mtime.FromTime(p.last), KeyOf(k.source, k.symbol), Batch{enc: &p.batch})
	}
	clear(f.open)
	f.held = 0
	if f.dupes > 0 {
		Duplicates.Inc(ctx, f.dupes)
		f.dupes = 0
	}
}

// Duplicates counts the copies removed (tickbeam/dedupe.duplicates).
var Duplicates = beam.NewCounter("tickbeam/dedupe", "duplicates")

type uniqueFn struct{}

func (*uniqueFn) ProcessElement(ctx context.Context, _ string, batches func(*Batch) bool, emit func(beam.EventTime, tickbeam.Tick)) {
	// Only identities are held, never the group's ticks: the first copy seen
	// is emitted at once. A batch holds no copies of its own (batchFn dropped
	// them), so a group of one batch, the usual case, needs no identities at
	// all: they are taken only when a second batch arrives.
	var first, b Batch
	if !batches(&first) {
		return
	}
	for _, t := range first.Ticks {
		emit(mtime.FromTime(t.EventTime), t)
	}
	var seen map[string]struct{}
	var dupes int64
	for batches(&b) {
		if seen == nil {
			seen = make(map[string]struct{}, 2*len(first.Ticks))
			for i := range first.Ticks {
				seen[Identity(&first.Ticks[i])] = struct{}{}
			}
			first = Batch{}
		}
		for _, t := range b.Ticks {
			id := Identity(&t)
			if _, dup := seen[id]; dup {
				dupes++
				continue
			}
			seen[id] = struct{}{}
			emit(mtime.FromTime(t.EventTime), t)
		}
	}
	if dupes > 0 {
		Duplicates.Inc(ctx, dupes)
	}
}
