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
//
// Ticks returns the ticks one by one. Batches returns them as the batches
// grouped, which bars.Compute, the alert rules on ticks and
// enrich.PrevClose read without a step per tick; Blocks does the same from
// a file's blocks of lines, parsing and packing each block on a goroutine of
// its own.
package dedupe

import (
	"context"
	"errors"
	"fmt"
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

// Options configure Ticks, Batches and Blocks.
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
	// them (read a Batch's ticks with All); they are windowed and flattened
	// into the GroupByKey. On
	// prism that Flatten costs no crossing of its own, where a Flatten of
	// ticks after the grouping would be one more crossing of every tick.
	// Copies a Screen drops it counts in Duplicates.
	Screen func(s beam.Scope, batches beam.PCollection, window time.Duration) []beam.PCollection
	// Early, if set, is given the batches before they are grouped (after
	// the Screen): a PCollection<Batch> in the global window, each batch a
	// bundle's ticks of one key and window, timestamped at the earliest.
	// They come as the bundles are read, not when their window closes, and
	// a copy read in two bundles is in two batches: for a step that puts
	// ticks in order and drops copies itself, on a stream, where waiting for
	// the window is latency (the alert rules on ticks: see alerts.Inputs).
	Early func(batches beam.PCollection)
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
	register.DoFn4x1[context.Context, string, func(*Batch) bool, func(Batch), error](&uniqueFn{})
	register.Iter1[Batch]()
	register.Emitter1[Batch]()
	register.Function2x1(unbatch)
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	beam.RegisterCoder(reflect.TypeOf(Batch{}), encodeBatch, DecodeBatch)
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
	batches, err := TryBatches(s, ticks, opts)
	if err != nil {
		return beam.PCollection{}, err
	}
	return Unbatch(s, batches), nil
}

// Batches is Ticks whose output stays in batches: a PCollection<Batch>
// (read each one's ticks, in the order seen, with All or Each; one Batch per
// batch grouped, so a batch holds at most a bundle's ticks of one source,
// symbol and window), each Batch in
// its window and timestamped at the window's end. A step that folds ticks
// (bars.Compute takes a PCollection<Batch>) then costs nothing per tick
// between it and dedupe: on prism, handing each tick on to the next DoFn is
// most of what a deduplicated tick costs. Unbatch gives the ticks.
func Batches(s beam.Scope, ticks beam.PCollection, opts Options) beam.PCollection {
	out, err := TryBatches(s, ticks, opts)
	if err != nil {
		panic(err)
	}
	return out
}

// TryBatches is Batches returning invalid options as an error instead of
// panicking.
func TryBatches(s beam.Scope, ticks beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("dedupe.Ticks")
	opts = opts.withDefaults()
	return unique(s, beam.ParDo(s, &batchFn{Window: opts.Window}, ticks), opts)
}

func (o Options) withDefaults() Options {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	return o
}

// unique groups a bundle's batches, PCollection<KV<string, Batch>>, by key
// and window and drops the copies across them.
func unique(s beam.Scope, packed beam.PCollection, opts Options) (beam.PCollection, error) {
	batches := []beam.PCollection{packed}
	if opts.Screen != nil {
		batches = opts.Screen(s.Scope("screen"), packed, opts.Window)
		if len(batches) == 0 {
			return beam.PCollection{}, errors.New("dedupe: Screen returned no batches")
		}
	}
	if opts.Early != nil {
		opts.Early(early(s.Scope("early"), batches))
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

// early is the values of batches, PCollection<KV<string, Batch>>s, in
// the global window and flattened.
func early(s beam.Scope, batches []beam.PCollection) beam.PCollection {
	values := make([]beam.PCollection, len(batches))
	for i, b := range batches {
		values[i] = beam.WindowInto(s, window.NewGlobalWindows(), beam.DropKey(s, b))
	}
	if len(values) == 1 {
		return values[0]
	}
	return beam.Flatten(s, values...)
}

// Unbatch turns a PCollection<Batch> into the PCollection<tickbeam.Tick> of
// its ticks, each timestamped at its event time, in its batch's window.
func Unbatch(s beam.Scope, batches beam.PCollection) beam.PCollection {
	return beam.ParDo(s.Scope("dedupe.Unbatch"), unbatch, batches)
}

func unbatch(b Batch, emit func(beam.EventTime, tickbeam.Tick)) error {
	return b.Each(func(t *tickbeam.Tick) { emit(mtime.FromTime(t.EventTime), *t) })
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

// Batch is the ticks of one (source, symbol, window) from one bundle (or
// one block, in Blocks). A
// Batch made by this package (Batches' output, the batches a Screen sees)
// holds its ticks encoded: read them with All or Each, not Ticks.
type Batch struct {
	Ticks []tickbeam.Tick

	enc *batchEncoder // a bundle's batch, encoded as it was packed
	raw []byte        // a batch as it crossed the runner (encodeBatch's form)
}

// All returns the batch's ticks.
func (b Batch) All() ([]tickbeam.Tick, error) {
	switch {
	case b.raw != nil:
		return decodeTicks(b.raw)
	case b.enc != nil:
		return decodeTicks(b.enc.bytes())
	}
	return b.Ticks, nil
}

// ids is the range of the batch's trade ids when they ascend as numbers.
func (b Batch) ids() (idRange, bool) {
	switch {
	case b.raw != nil:
		br, err := newBatchReader(b.raw)
		if err != nil {
			return idRange{}, false
		}
		return br.ids, br.ascending && br.n > 0
	case b.enc != nil:
		return b.enc.ids()
	}
	return idRange{}, false
}

// Span reports the batch's tick count and the earliest and latest of its
// ticks' event times, and its ticks' source and symbol, without decoding a
// tick. ok is false for an empty batch and for one mixing sources or
// symbols.
func (b Batch) Span() (sp BatchSpan, ok bool) {
	switch {
	case b.raw != nil:
		br, err := newBatchReader(b.raw)
		if err != nil || !br.spanned || br.n == 0 {
			return BatchSpan{}, false
		}
		return BatchSpan{br.source, br.symbol, int(br.n), time.Unix(0, br.first).UTC(), time.Unix(0, br.last).UTC()}, true
	case b.enc != nil:
		return b.enc.span()
	}
	if len(b.Ticks) == 0 {
		return BatchSpan{}, false
	}
	t0 := &b.Ticks[0]
	sp = BatchSpan{t0.Source, t0.Symbol, len(b.Ticks), t0.EventTime, t0.EventTime}
	for i := range b.Ticks {
		t := &b.Ticks[i]
		if t.Source != sp.Source || t.Symbol != sp.Symbol {
			return BatchSpan{}, false
		}
		if t.EventTime.Before(sp.First) {
			sp.First = t.EventTime
		}
		if t.EventTime.After(sp.Last) {
			sp.Last = t.EventTime
		}
	}
	return sp, true
}

// BatchSpan is what a Batch's header says of its ticks (Batch.Span).
type BatchSpan struct {
	Source, Symbol string
	Ticks          int
	First, Last    time.Time // the earliest and latest event time
}

// MarshalBinary returns the batch's encoding, as it crosses the runner (a
// batch that crossed it, not encoded again); DecodeBatch reads it.
func (b Batch) MarshalBinary() ([]byte, error) { return encodeBatch(b) }

// Each calls f with each of the batch's ticks in turn, decoding them one at a
// time where All decodes them all at once; t is valid during the call only.
func (b Batch) Each(f func(t *tickbeam.Tick)) error {
	data := b.raw
	switch {
	case b.raw != nil:
	case b.enc != nil:
		data = b.enc.bytes()
	default:
		for i := range b.Ticks {
			f(&b.Ticks[i])
		}
		return nil
	}
	br, err := newBatchReader(data)
	if err != nil {
		return err
	}
	var t tickbeam.Tick
	for br.next(&t) {
		f(&t)
	}
	return br.err()
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

	packer
}

// packer packs ticks into one batch per (source, symbol, window), dropping
// the copies it sees.
type packer struct {
	open  map[batchKey]*pending
	held  int
	dupes int64
}

func (f *batchFn) StartBundle(context.Context, func(beam.EventTime, string, Batch)) {
	f.packer = packer{open: make(map[batchKey]*pending)}
}

func (f *batchFn) ProcessElement(ctx context.Context, t tickbeam.Tick, emit func(beam.EventTime, string, Batch)) {
	if f.add(&t, f.Window); f.held >= maxBatched {
		f.flush(ctx, emit)
	}
}

// add packs t unless it is a copy of a tick packed since the last flush.
func (pk *packer) add(t *tickbeam.Tick, window time.Duration) {
	k := batchKey{t.Source, t.Symbol, WindowStart(t.EventTime, window)}
	p := pk.open[k]
	if p == nil {
		p = &pending{batch: batchEncoder{source: t.Source, symbol: t.Symbol}}
		pk.open[k] = p
	}
	n, numeric := numericID(t.TradeID)
	if !p.ascending(n, numeric) {
		id := Identity(t)
		if _, seen := p.ids[id]; seen {
			pk.dupes++
			return
		}
		p.ids[id] = struct{}{}
	}
	p.batch.add(t, n, numeric)
	if t.EventTime.After(p.last) {
		p.last = t.EventTime
	}
	pk.held++
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
func (pk *packer) flush(ctx context.Context, emit func(beam.EventTime, string, Batch)) {
	for k, p := range pk.open {
		emit(mtime.FromTime(p.last), KeyOf(k.source, k.symbol), Batch{enc: &p.batch})
	}
	clear(pk.open)
	pk.held = 0
	if pk.dupes > 0 {
		Duplicates.Inc(ctx, pk.dupes)
		pk.dupes = 0
	}
}

// Duplicates counts the copies removed (tickbeam/dedupe.duplicates).
var Duplicates = beam.NewCounter("tickbeam/dedupe", "duplicates")

type uniqueFn struct{}

// ProcessElement emits each batch of the group with the copies of ticks seen
// before it removed. A batch holds no copies of its own (its packer dropped
// them), and one whose trade ids ascend as numbers can hold no copy of a
// batch whose ids lie in another range: such batches, a venue's usual ones,
// are passed on as they came, not even decoded. Identities are taken only
// for a batch that may hold copies, from the batches before it too.
func (*uniqueFn) ProcessElement(ctx context.Context, _ string, batches func(*Batch) bool, emit func(Batch)) error {
	var b Batch
	var seen map[string]struct{} // every identity so far, once a batch needed them
	var before []Batch           // the batches passed on by their ranges alone
	var ranges []idRange
	var span idRange // of every range so far: a batch beyond it needs no comparing
	var dupes int64
	for batches(&b) {
		if seen == nil {
			if r, ok := b.ids(); ok && (len(ranges) == 0 || r.lo > span.hi || r.hi < span.lo || r.disjoint(ranges)) {
				if len(ranges) == 0 {
					span = r
				}
				span = idRange{min(span.lo, r.lo), max(span.hi, r.hi)}
				ranges = append(ranges, r)
				before = append(before, b)
				emit(b)
				continue
			}
			seen = make(map[string]struct{})
			for _, p := range before {
				if err := p.Each(func(t *tickbeam.Tick) { seen[Identity(t)] = struct{}{} }); err != nil {
					return fmt.Errorf("dedupe: %w", err)
				}
			}
			before, ranges = nil, nil
		}
		ticks, err := b.All()
		if err != nil {
			return fmt.Errorf("dedupe: %w", err)
		}
		unique := make([]tickbeam.Tick, 0, len(ticks))
		for i := range ticks {
			id := Identity(&ticks[i])
			if _, dup := seen[id]; dup {
				dupes++
				continue
			}
			seen[id] = struct{}{}
			unique = append(unique, ticks[i])
		}
		if len(unique) > 0 {
			emit(Batch{Ticks: unique})
		}
	}
	if dupes > 0 {
		Duplicates.Inc(ctx, dupes)
	}
	return nil
}
