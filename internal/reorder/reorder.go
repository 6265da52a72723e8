// Package reorder is the per-key event-time reorder buffer tickbeam's
// stateful transforms share: rows of one key wait in Beam state until the
// watermark has passed them and are then handed over, oldest first, in
// batches.
//
// Every state access of a stateful DoFn is a round trip to the runner, so the
// buffer works in batches end to end: a Batcher packs each bundle's rows per
// key into one encoded element, Add stores such a batch as one bag entry, and
// a flush reads the bag once, sorts in memory and hands over every row the
// watermark has passed. State is touched once per batch and per flush, never
// per row.
package reorder

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// DefaultMaxBuffered bounds a key's buffer. Past it the oldest half is handed
// over at once, ahead of the watermark (forced), and an older row arriving
// later is late. A batch run delivers every row of a key before the
// watermark moves, so it holds up to this many rows per key in order.
const DefaultMaxBuffered = 100_000

// Timer tags. A stateful DoFn using Buffer has one event-time timer family
// whose tags are FlushTag(hold), TagRelease and TagClose: the Go SDK v2.77
// harness counts one end-of-stream per timer transform but prism sends one
// per family, so a second family can leave a bundle waiting forever. A DoFn
// needing a deadline of its own uses the close timer rather than a family.
const (
	tagFlush = "flush@"
	// TagRelease is the release timer's tag: the key sent nothing for TTL.
	TagRelease = "release"
	// TagClose is the close timer's tag: a deadline the DoFn sets itself
	// (SetClose), e.g. a trading day's close.
	TagClose = "close"
)

// FlushTag names the flush timer by its output hold: prism v2.77 mis-counts
// watermark holds when a timer is set again with a different hold, so a new
// hold gets a new timer and the old one is cleared.
func FlushTag(hold mtime.Time) string { return tagFlush + strconv.FormatInt(int64(hold), 10) }

// IsFlush reports whether a timer tag is a flush timer's.
func IsFlush(tag string) bool { return strings.HasPrefix(tag, tagFlush) }

// Meta is a key's reorder bookkeeping, kept in a state.Value by the DoFn.
type Meta struct {
	Buffered    int64      // rows waiting
	Stored      int64      // rows in the bag: waiting ones and handed-over ones not yet compacted away
	BufMin      mtime.Time // the earliest waiting row: the flush timer's output hold
	Target      mtime.Time // when the flush timer fires
	Streak      int64      // flushes since the last new row
	HasFrontier bool
	Frontier    int64      // event time (Unix ns) of the last row handed over
	ReleaseAt   mtime.Time // when the key is released (0: never set); the timer may be armed earlier, see MoveRelease
	HasClose    bool       // the close timer is armed
	CloseAt     mtime.Time // the close timer's time
	// Aux is the DoFn's own per-key state (an evaluator's, a detector's),
	// kept in the same state cell: on a runner whose state lives behind the
	// Fn API (prism, Dataflow) every cell read or written is a round trip,
	// and a stream of many symbols makes about one per row per cell.
	Aux []byte
	// Inline holds waiting rows in this cell rather than in the bag, up to
	// InlineBytes: (time, row) pairs as the bag stores them (see Buffer).
	Inline []byte
}

// InlineBytes bounds the waiting rows a key keeps in its Meta. A stream has
// a few rows per key waiting at a time: kept in the cell the DoFn reads and
// writes anyway, they cost no bag round trips (the Go SDK sends a bag
// append as two requests, its length and its bytes, and a flush reads and
// clears the bag). A batch run's rows overflow into the bag.
const InlineBytes = 4 << 10

// Current reports whether a flush timer's firing is the armed one: a timer
// cleared as its hold moved may already be on its way, and Flush assumes the
// watermark has passed Target.
func (m *Meta) Current(tag string) bool { return m.Buffered > 0 && tag == FlushTag(m.BufMin) }

// ReadMeta reads a key's Meta; ok is false when the key has none.
func ReadMeta(sp state.Provider, v *state.Value[[]byte]) (Meta, bool, error) {
	b, ok, err := v.Read(sp)
	if err != nil || !ok {
		return Meta{}, false, err
	}
	r := wire.NewReader(b)
	m := Meta{Buffered: r.Int(), Stored: r.Int(), BufMin: mtime.Time(r.Int()), Target: mtime.Time(r.Int()), Streak: r.Int(),
		HasFrontier: r.Int() != 0, Frontier: r.Int(), ReleaseAt: mtime.Time(r.Int()), HasClose: r.Int() != 0, CloseAt: mtime.Time(r.Int()),
		Aux: r.Bytes(), Inline: r.Bytes()}
	if err := r.Err(); err != nil {
		return Meta{}, false, fmt.Errorf("bad reorder state: %w", err)
	}
	return m, true, nil
}

// WriteMeta writes a key's Meta.
func WriteMeta(sp state.Provider, v *state.Value[[]byte], m Meta) error {
	var hf, hc int64
	if m.HasFrontier {
		hf = 1
	}
	if m.HasClose {
		hc = 1
	}
	b := make([]byte, 0, 64+len(m.Aux)+len(m.Inline))
	for _, x := range [...]int64{m.Buffered, m.Stored, int64(m.BufMin), int64(m.Target), m.Streak, hf, m.Frontier, int64(m.ReleaseAt),
		hc, int64(m.CloseAt)} {
		b = wire.AppendInt(b, x)
	}
	b = wire.AppendBytes(b, m.Aux)
	return v.Write(sp, wire.AppendBytes(b, m.Inline))
}

// Codec encodes rows of a batch.
type Codec[T any] struct {
	Append func(b []byte, x T) []byte
	Read   func(r *wire.Reader) T
}

// Encode packs rows into one batch, compressed from compressBytes on.
func (c Codec[T]) Encode(rows []T) []byte {
	p := pending{buf: make([]byte, headRoom, 128)}
	for i, x := range rows {
		p.buf = c.Append(p.buf, x)
		if i == 0 && len(rows) > 1 {
			// A batch's rows are alike: size it once on the first row
			// rather than regrow it (and copy it) as it fills.
			p.buf = slices.Grow(p.buf, (len(p.buf)+len(p.buf)/4)*(len(rows)-1))
		}
	}
	p.rows = int64(len(rows))
	return p.seal(false)
}

// compressBytes is the size from which a batch crosses compressed. Prism
// copies every byte of a crossing several times and keeps a stateful step's
// bag as bytes, and a batch's rows repeat their symbol and most of their
// time, id and price: 1M trades with 54 rules took 11% less CPU and 0.5 GB of
// RSS instead of 1.6. A stream's few rows per key and bundle stay as they are.
const compressBytes = 4096

// compressedBatch, where a batch's row count would be, marks a compressed
// batch (-1 marked the deflated batches of earlier versions).
const compressedBatch = -2

// compressBatch is the compressed form of an encoded batch b.
func compressBatch(b []byte) []byte {
	return wire.AppendCompressed(wire.AppendInt(nil, compressedBatch), b)
}

// Decode appends the rows of a batch to dst.
func (c Codec[T]) Decode(dst []T, b []byte) ([]T, error) {
	err := c.Each(b, func(x T) { dst = append(dst, x) })
	return dst, err
}

// Each calls f with each row of a batch in turn, decoding one row at a time
// rather than the whole batch into a slice.
func (c Codec[T]) Each(b []byte, f func(T)) error {
	return c.eachRaw(b, nil, func(x T, _ []byte) { f(x) })
}

// eachRaw is Each passing each row's own bytes along with it; count, if not
// nil, is told the number of rows first.
func (c Codec[T]) eachRaw(b []byte, count func(n int), f func(x T, raw []byte)) error {
	r := wire.NewReader(b)
	n := r.Int()
	if err := r.Err(); err != nil {
		return fmt.Errorf("reorder: bad batch: %w", err)
	}
	if n == compressedBatch {
		plain, err := wire.Decompress(b[len(b)-r.Len():])
		if err != nil {
			return fmt.Errorf("reorder: bad batch: %w", err)
		}
		return c.eachRaw(plain, count, f)
	}
	if n < 0 || n > int64(len(b)) {
		return fmt.Errorf("reorder: bad batch of %d rows in %d bytes", n, len(b))
	}
	if count != nil {
		count(int(n))
	}
	for i := int64(0); i < n; i++ {
		rest := b[len(b)-r.Len():]
		x := c.Read(r)
		if err := r.Err(); err != nil {
			return fmt.Errorf("reorder: bad batch: %w", err)
		}
		f(x, rest[:len(rest)-r.Len()])
	}
	return nil
}

// Buffer is a bounded per-key buffer that hands rows over in event-time
// order once the watermark has passed them.
//
// The flush timer fires at a buffered row's time T (Meta.Target) when the
// watermark has passed T: every on-time row up to T is then in the buffer,
// and all of them are handed over, oldest first. An empty buffer's first
// batch sets T to its latest row, so a batch the watermark has passed
// already (a closed window's rows) leaves in one firing. Each flush sets the
// next one a quarter of the remaining rows further, and twice as many rows further
// than the last while flushes follow each other with no new row in between (a
// batch run, or a backlog), so a buffer of n rows drains in O(log n)
// firings, never handing a row over before the watermark has passed it. A
// streaming row waits at most for the quarter of the buffer ahead of it. A
// flush leaving more than backlogRows waiting aims the next one at the
// latest of them instead, so a batch run's buffer leaves in two firings.
//
// Waiting rows live in Meta.Inline while they fit in InlineBytes (a stream's
// few rows per key: no bag round trips at all), else in the bag. A flush
// leaves the rows it handed over in the bag (they are at or before the
// frontier and skipped on read) and rewrites the bag, as one batch, only once
// they outnumber the rows still waiting. Rows are stored behind their event
// time and length, so a flush decodes only the rows it hands over: the others
// are sorted by time and written back as they were read.
//
// A packed batch (Packer, Unpack) waits in the bag as it came: a flush
// decodes only its parts that may hold rows due, holds the parts wholly
// after the flush's time undecoded and skips those wholly handed over; a
// decoded row still waiting is encoded with Codec if the bag is rewritten.
// Its rows count in Meta.Buffered and Meta.Stored, and its times in the
// timers, before Unpack drops any.
//
// The rows a flush hands over (Flush, Drain, and the forced rows of Add and
// AddBatch) are valid until the Buffer's next call: it reuses their memory.
type Buffer[T any] struct {
	Bag         *state.Bag[[]byte]
	Timer       *timers.EventTime
	Codec       Codec[T]
	MaxBuffered int           // default DefaultMaxBuffered
	TTL         time.Duration // the release timer fires TTL after the latest row; zero: no release timer
	// TTLOf, if set, is a row's TTL instead of TTL (e.g. a number of bar
	// lengths).
	TTLOf   func(T) time.Duration
	Time    func(T) time.Time
	Compare func(a, b T) int // event-time order, then tie-breaks
	// Duplicate, if set, drops next when it follows prev in order: prev is
	// each row kept before it of the same event time, so copies that
	// Compare's tie-breaks leave apart (ticks without a trade id) are
	// dropped too.
	Duplicate func(prev, next T) bool
	// Unpack, if set, decodes a part of a packed batch (see Packer), calling
	// f with each row in turn; a row it does not call f with is dropped.
	Unpack func(part []byte, f func(T)) error
	// UnpackWorkers, if above 1, is how many goroutines a flush with many
	// packed rows decodes its parts on; Unpack must then be safe for
	// concurrent use. prism runs a stateful step's timers for all keys in
	// one bundle, so a batch run's final flushes run on one goroutine while
	// the other cores idle: decoding is most of their work.
	UnpackWorkers int

	// A flush's working rows, kept for the next one (see scratchRows): a
	// batch run's flushes each decode thousands of rows, and allocating
	// them anew was the largest allocation of the 54 rules' run.
	waitScratch, mergeScratch []stored
	rowScratch, dueScratch    []T
}

// scratchRows bounds the rows a Buffer keeps for its next flush: a
// larger flush's are left to the collector, not held for good.
const scratchRows = 1 << 16

func (b *Buffer[T]) maxBuffered() int64 {
	if b.MaxBuffered > 0 {
		return int64(b.MaxBuffered)
	}
	return DefaultMaxBuffered
}

// Add buffers rows, in any order, as one bag entry. It returns the rows at
// or before the last row handed over (late: not buffered; the caller
// decides what they become) and the rows a full buffer forces out, in order.
func (b *Buffer[T]) Add(sp state.Provider, tp timers.Provider, m *Meta, rows []T) (late, forced []T, err error) {
	return b.add(sp, tp, m, rows, nil)
}

// AddBatch is Add for a batch as Codec.Encode or a Batcher packed it. Its
// rows are decoded once, for their times and the late ones, and stored as
// the bytes they came in, not encoded a second time.
//
// A packed batch (Packer) goes into the bag as it came when no row of it can
// be late, it is too large to wait inline and the Buffer has no TTLOf; else
// it is unpacked and added row by row. Either way its parts' headers are
// checked here.
func (b *Buffer[T]) AddBatch(sp state.Provider, tp timers.Provider, m *Meta, batch []byte) (late, forced []T, err error) {
	if r := wire.NewReader(batch); r.Int() == packedBatch {
		p, err := readPacked(r, batch)
		if err != nil {
			return nil, nil, err
		}
		return b.addPacked(sp, tp, m, p, batch)
	}
	var rows []T
	var raws [][]byte
	err = b.Codec.eachRaw(batch, func(n int) {
		rows, raws = make([]T, 0, n), make([][]byte, 0, n)
	}, func(x T, raw []byte) {
		rows = append(rows, x)
		raws = append(raws, raw)
	})
	if err != nil {
		return nil, nil, err
	}
	return b.add(sp, tp, m, rows, raws)
}

// add is Add; raws, if not nil, are the rows' encodings.
func (b *Buffer[T]) add(sp state.Provider, tp timers.Provider, m *Meta, rows []T, raws [][]byte) (late, forced []T, err error) {
	// keep is rows itself until a late row turns up: copying rows that
	// are mostly large structs showed in profiles.
	keep, keepRaws := rows, raws
	minTs, maxTs, rel := mtime.MaxTimestamp, mtime.MinTimestamp, mtime.MinTimestamp
	for i, x := range rows {
		t := b.Time(x)
		if m.handedOver(t.UnixNano()) {
			if len(late) == 0 {
				keep = slices.Clone(rows[:i])
				if raws != nil {
					keepRaws = slices.Clone(raws[:i])
				}
			}
			late = append(late, x)
			continue
		}
		if len(late) > 0 {
			keep = append(keep, x)
			if raws != nil {
				keepRaws = append(keepRaws, raws[i])
			}
		}
		ts := mtime.FromTime(t)
		minTs, maxTs = min(minTs, ts), max(maxTs, ts)
		if ttl := b.ttl(x); ttl > 0 {
			rel = max(rel, ReleaseTime(ts, ttl))
		}
	}
	if len(keep) == 0 {
		return late, nil, nil
	}
	if err := b.store(sp, m, b.appendRows(nil, keep, keepRaws), int64(len(keep))); err != nil {
		return late, nil, err
	}
	forced, err = b.added(sp, tp, m, int64(len(keep)), minTs, maxTs, rel)
	return late, forced, err
}

// addPacked is AddBatch for a packed batch p, whose encoding is enc.
func (b *Buffer[T]) addPacked(sp state.Provider, tp timers.Provider, m *Meta, p packed, enc []byte) (late, forced []T, err error) {
	if p.rows == 0 {
		return nil, nil, nil
	}
	if b.Unpack == nil {
		return nil, nil, fmt.Errorf("reorder: a packed batch for a Buffer without Unpack")
	}
	if err := p.check(); err != nil { // now, not at a flush
		return nil, nil, err
	}
	if m.handedOver(p.first) || b.TTLOf != nil || len(m.Inline)+len(enc) <= InlineBytes {
		var rows []T
		if err := b.unpack(p, func(x T) { rows = append(rows, x) }); err != nil {
			return nil, nil, err
		}
		return b.add(sp, tp, m, rows, nil)
	}
	if err := b.Bag.Add(sp, enc); err != nil {
		return nil, nil, fmt.Errorf("buffer: %w", err)
	}
	m.Stored += p.rows
	minTs, maxTs := mtime.FromTime(time.Unix(0, p.first)), mtime.FromTime(time.Unix(0, p.last))
	rel := mtime.MinTimestamp
	if b.TTL > 0 {
		rel = ReleaseTime(maxTs, b.TTL)
	}
	forced, err = b.added(sp, tp, m, p.rows, minTs, maxTs, rel)
	return nil, forced, err
}

// added arms the timers for n rows just stored, from minTs to maxTs, and
// returns the rows a full buffer forces out.
func (b *Buffer[T]) added(sp state.Provider, tp timers.Provider, m *Meta, n int64, minTs, maxTs, rel mtime.Time) (forced []T, err error) {
	m.Streak = 0
	switch {
	case m.Buffered == 0:
		// The first flush waits for the watermark to pass the whole batch:
		// a batch comes from one bundle (or one closed window) and on a
		// stream is mostly behind the watermark already, so one firing
		// hands all of it over where flushing from its earliest row took a
		// round per few rows.
		m.BufMin, m.Target = minTs, maxTs
		b.setFlush(tp, m)
	case minTs < m.BufMin: // a new hold: a new timer (see FlushTag), firing as planned
		b.Timer.ClearTag(tp, FlushTag(m.BufMin))
		m.BufMin = minTs
		b.setFlush(tp, m)
	}
	m.Buffered += n
	MoveRelease(b.Timer, tp, &m.ReleaseAt, rel)
	if m.Buffered > b.maxBuffered() {
		b.Timer.ClearTag(tp, FlushTag(m.BufMin))
		return b.take(sp, tp, m, mtime.MaxTimestamp, m.Buffered-b.maxBuffered()/2)
	}
	return nil, nil
}

func (b *Buffer[T]) ttl(x T) time.Duration {
	if b.TTLOf != nil {
		return b.TTLOf(x)
	}
	return b.TTL
}

// MoveRelease moves a key's release time *at to rel if that is later. Only
// the first move arms the release timer (TagRelease); Released re-arms it at
// the latest *at when it fires. Re-setting it per row cost memory: prism keeps
// every setting of a timer in its queue until the watermark passes that
// setting's time, so with a TTL of hours a stream of 500 symbols grew prism's
// heap by ~10 MiB a minute. *at == 0 means no release timer is armed.
func MoveRelease(t *timers.EventTime, tp timers.Provider, at *mtime.Time, rel mtime.Time) {
	if rel <= *at {
		return
	}
	if *at == 0 {
		t.Set(tp, rel.ToTime(), timers.WithTag(TagRelease))
	}
	*at = rel
}

// Released reports whether the release timer firing at ts releases the key
// whose release time is at. A firing before at (rows came since the timer was
// armed, see MoveRelease) re-arms the timer at at and reports false.
func Released(t *timers.EventTime, tp timers.Provider, at, ts mtime.Time) bool {
	if at == 0 || ts > at {
		return false // released already, or a stale firing
	}
	if ts < at {
		t.Set(tp, at.ToTime(), timers.WithTag(TagRelease))
		return false
	}
	return true
}

// Released is the package's Released for m's release time.
func (b *Buffer[T]) Released(tp timers.Provider, m *Meta, ts mtime.Time) bool {
	return Released(b.Timer, tp, m.ReleaseAt, ts)
}

// SetClose arms the close timer (TagClose) at t, moving it if armed. It
// holds the output at t, its firing time, so OnTimer's timestamp is t.
func (b *Buffer[T]) SetClose(tp timers.Provider, m *Meta, t mtime.Time) {
	m.HasClose, m.CloseAt = true, t
	b.Timer.Set(tp, t.ToTime(), timers.WithTag(TagClose))
}

func (b *Buffer[T]) setFlush(tp timers.Provider, m *Meta) {
	b.Timer.Set(tp, m.Target.ToTime(), timers.WithTag(FlushTag(m.BufMin)), timers.WithOutputTimestamp(m.BufMin.ToTime()))
}

// Flush is the flush timer firing: it returns the rows at or before its
// firing time (Meta.Target) in order and re-arms the timer for the rest.
// OnTimer's timestamp is the timer's output hold (the earliest row), not its
// firing time, so it is not the bound.
func (b *Buffer[T]) Flush(sp state.Provider, tp timers.Provider, m *Meta) ([]T, error) {
	if m.Buffered == 0 {
		return nil, nil
	}
	m.Streak++
	return b.take(sp, tp, m, m.Target, m.Buffered)
}

// Drain returns every waiting row at or before upto in order, clearing the
// flush timer first: the release timer's last flush.
func (b *Buffer[T]) Drain(sp state.Provider, tp timers.Provider, m *Meta, upto mtime.Time) ([]T, error) {
	if m.Buffered == 0 {
		return nil, nil
	}
	b.Timer.ClearTag(tp, FlushTag(m.BufMin))
	return b.take(sp, tp, m, upto, m.Buffered)
}

// stored is a buffered row as the bag holds it: its event time (Unix ns) and
// its Codec encoding; inBag: read from the bag, not Meta.Inline.
type stored struct {
	t     int64
	raw   []byte // nil for a row of a packed batch: see dec
	inBag bool
	seq   int // arrival order, which breaks ties of t
	dec   int // a packed batch's row: its index in take's unpacked rows, plus 1
}

// appendRows appends each row's time and length-prefixed encoding.
func (b *Buffer[T]) appendRows(out []byte, rows []T, raws [][]byte) []byte {
	var row []byte
	for i, x := range rows {
		if raws != nil {
			row = raws[i]
		} else {
			row = b.Codec.Append(row[:0], x)
		}
		out = wire.AppendInt(out, b.Time(x).UnixNano())
		out = wire.AppendBytes(out, row)
		if i == 0 && len(rows) > 1 {
			out = slices.Grow(out, (len(out)+len(out)/4)*(len(rows)-1)) // as Codec.Encode
		}
	}
	return out
}

func appendStored(out []byte, rows []stored) []byte {
	for _, x := range rows {
		out = wire.AppendInt(out, x.t)
		out = wire.AppendBytes(out, x.raw)
	}
	return out
}

// store keeps n waiting rows, encoded as appendRows does, in Meta.Inline
// while they fit, else as one bag entry: a count, then the rows.
func (b *Buffer[T]) store(sp state.Provider, m *Meta, enc []byte, n int64) error {
	if n == 0 {
		return nil
	}
	if len(m.Inline)+len(enc) <= InlineBytes {
		m.Inline = append(m.Inline, enc...)
		return nil
	}
	entry := append(wire.AppendInt(make([]byte, 0, len(enc)+10), n), enc...)
	if err := b.Bag.Add(sp, entry); err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	m.Stored += n
	return nil
}

// take removes and returns, in order, at most n buffered rows at or before
// upto, keeps the rest under a new flush timer and advances the frontier.
// The caller has cleared or fired the old flush timer.
func (b *Buffer[T]) take(sp state.Provider, tp timers.Provider, m *Meta, upto mtime.Time, n int64) ([]T, error) {
	waiting := slices.Grow(b.waitScratch[:0], int(m.Buffered))
	pk := unpacking[T]{rows: b.rowScratch[:0]} // the packed batches' rows and parts
	defer func() {
		if cap(waiting) <= scratchRows && cap(pk.rows) <= scratchRows {
			b.waitScratch, b.rowScratch = waiting[:0], pk.rows[:0]
		} else {
			b.waitScratch, b.rowScratch, b.mergeScratch, b.dueScratch = nil, nil, nil, nil
		}
	}()
	if m.Stored > 0 {
		batches, _, err := b.Bag.Read(sp)
		if err != nil {
			return nil, fmt.Errorf("read buffer: %w", err)
		}
		for _, enc := range batches {
			r := wire.NewReader(enc)
			c := r.Int()
			if c == packedBatch {
				if err := b.readPackedEntry(r, enc, m, upto, &pk); err != nil {
					return nil, err
				}
				continue
			}
			if c < 0 || c > int64(len(enc)) {
				return nil, fmt.Errorf("reorder: bad buffer entry of %d rows in %d bytes", c, len(enc))
			}
			for range c {
				x := stored{t: r.Int(), raw: r.View(), inBag: true, seq: len(waiting)}
				if !m.handedOver(x.t) {
					waiting = append(waiting, x)
				}
			}
			if err := r.Err(); err != nil {
				return nil, fmt.Errorf("reorder: bad buffer entry: %w", err)
			}
		}
	}
	if err := b.unpackDue(m, &waiting, &pk); err != nil {
		return nil, err
	}
	// Inline rows are all waiting: every take rewrites them.
	for r := wire.NewReader(m.Inline); r.Len() > 0; {
		waiting = append(waiting, stored{t: r.Int(), raw: r.View(), seq: len(waiting)})
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("reorder: bad inline buffer: %w", err)
		}
	}
	// Stable by time, as arrival order breaks ties (seq): a batch run's rows
	// mostly come in order already (dedupe's windows, in order), in a few
	// ascending runs that sortRuns merges.
	byTime := func(a, b stored) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.seq, b.seq)) }
	b.mergeScratch = sortRuns(waiting, byTime, b.mergeScratch)
	// The rows due: at or before upto, at most n, whole event times only
	// (rows of one time are ordered, and deduplicated, by Compare below).
	k := 0
	for k < len(waiting) && mtime.FromTime(time.Unix(0, waiting[k].t)) <= upto {
		k++
	}
	// A packed batch counts its rows before Unpack drops some: n, a count of
	// Buffered's, is taken in the rows actually waiting.
	if over := m.Buffered - int64(len(waiting)) - pk.heldRows; over > 0 && n < m.Buffered {
		n = max(n-over, 0)
	}
	if int64(k) > n {
		k = int(n)
		for k > 0 && k < len(waiting) && waiting[k].t == waiting[k-1].t {
			k++
		}
	}
	due, err := b.decodeDue(waiting[:k], pk.rows, b.dueScratch[:0])
	if err != nil {
		return nil, err
	}
	rest := waiting[k:]
	if !slices.IsSortedFunc(due, b.Compare) { // as a batch run's rows mostly are: one pass
		slices.SortStableFunc(due, b.Compare)
	}
	if b.Duplicate != nil {
		due = b.dropDuplicates(due)
	}
	// Rows cut off by n go back re-encoded, not knowing where they came
	// from: the bag is then rewritten.
	cut := int64(len(due)) > n
	if cut {
		back := make([]stored, 0, len(due)-int(n)+len(rest))
		for _, x := range due[n:] {
			back = append(back, stored{t: b.Time(x).UnixNano(), raw: b.Codec.Append(nil, x)})
		}
		rest = append(back, rest...)
		due = due[:n:n]
	}
	if len(due) > 0 {
		m.HasFrontier = true
		m.Frontier = b.Time(due[len(due)-1]).UnixNano()
		// Rows of the frontier's own time cut off by n still wait: the
		// frontier stops short of them, or they would read as handed over.
		if len(rest) > 0 && rest[0].t <= m.Frontier {
			m.Frontier = rest[0].t - 1
		}
	}
	// The bag keeps its waiting rows (and the handed-over ones, skipped on
	// read) until those outnumber them; the other waiting rows are stored
	// anew, inline while they fit.
	inBag := pk.heldRows
	for _, x := range rest {
		if x.inBag {
			inBag++
		}
	}
	move := rest
	if m.Stored > 0 {
		if !cut && inBag > 0 && m.Stored-inBag <= inBag {
			move = slices.DeleteFunc(slices.Clone(rest), func(x stored) bool { return x.inBag })
		} else {
			if err := b.Bag.Clear(sp); err != nil {
				return nil, fmt.Errorf("clear buffer: %w", err)
			}
			m.Stored = 0
			if err := pk.storeHeld(sp, b.Bag, m); err != nil {
				return nil, err
			}
		}
	}
	m.Inline = nil
	for i := range move {
		if move[i].dec > 0 { // a packed batch's row leaving its batch behind
			move[i].raw = b.Codec.Append(nil, pk.rows[move[i].dec-1])
		}
	}
	if err := b.store(sp, m, appendStored(nil, move), int64(len(move))); err != nil {
		return nil, err
	}
	m.Buffered = int64(len(rest)) + pk.heldRows
	if len(pk.held) > 0 {
		// Parts held undecoded: a backlog's next flush waits for the latest
		// row, as below; a few rows' waits for the earliest held part whole
		// (or the rows' own target, if earlier).
		first, last, target := pk.heldSpan()
		if len(rest) > 0 {
			first, last = min(first, rest[0].t), max(last, rest[len(rest)-1].t)
			target = min(target, rest[min(m.ahead(len(rest)), int64(len(rest)-1))].t)
		}
		if m.Buffered > backlogRows {
			target = last
		}
		m.BufMin, m.Target = mtime.FromTime(time.Unix(0, first)), mtime.FromTime(time.Unix(0, target))
		b.setFlush(tp, m)
	} else if len(rest) > 0 {
		m.BufMin = mtime.FromTime(time.Unix(0, rest[0].t))
		ahead := m.ahead(len(rest))
		if len(rest) > backlogRows { // see backlogRows
			ahead = int64(len(rest)) - 1
		}
		m.Target = mtime.FromTime(time.Unix(0, rest[min(ahead, int64(len(rest)-1))].t))
		b.setFlush(tp, m)
	}
	return due, nil
}

// sortRuns sorts xs by cmp, under which no two elements are equal, and
// returns the scratch it merged in for the next call. Rows that come in a
// few ascending runs (a batch run's buffer, where a row or two of the parts
// unpacked in order are out of place) are merged run by run in O(n log
// runs): pdqsort spent 0.1 s of a flush's 0.6 s on them in the 1M-trade
// run's price rules. Other orders are left to slices.SortFunc.
func sortRuns[T any](xs []T, cmp func(a, b T) int, scratch []T) []T {
	var ends []int // each ascending run's end
	for i := 1; i < len(xs); i++ {
		if cmp(xs[i-1], xs[i]) > 0 {
			if ends = append(ends, i); len(ends) > maxMergedRuns {
				slices.SortFunc(xs, cmp)
				return scratch
			}
		}
	}
	if len(ends) == 0 {
		return scratch
	}
	ends = append(ends, len(xs))
	src, dst := xs, slices.Grow(scratch[:0], len(xs))[:len(xs)]
	for len(ends) > 1 {
		var merged []int
		start := 0
		for i := 0; i < len(ends); i += 2 {
			if i+1 == len(ends) { // an odd run out: carried over as it is
				copy(dst[start:ends[i]], src[start:ends[i]])
				merged = append(merged, ends[i])
				break
			}
			mergeRuns(dst[start:ends[i+1]], src[start:ends[i]], src[ends[i]:ends[i+1]], cmp)
			merged = append(merged, ends[i+1])
			start = ends[i+1]
		}
		ends, src, dst = merged, dst, src
	}
	if &src[0] != &xs[0] {
		copy(xs, src)
		return src[:0]
	}
	return dst[:0]
}

// maxMergedRuns is the most runs sortRuns merges.
const maxMergedRuns = 64

// mergeRuns merges the ascending runs a and b into dst.
func mergeRuns[T any](dst, a, b []T, cmp func(a, b T) int) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			dst[k] = b[j]
			j++
		} else {
			dst[k] = a[i]
			i++
		}
		k++
	}
	k += copy(dst[k:], a[i:])
	copy(dst[k:], b[j:])
}

// dropDuplicates drops from rows, in order, each row that Duplicate says
// repeats a row kept before it of the same event time.
func (b *Buffer[T]) dropDuplicates(rows []T) []T {
	uniq, run := rows[:0], 0 // uniq[run:]: the kept rows of the current event time
next:
	for _, x := range rows {
		if n := len(uniq); n > 0 && !b.Time(uniq[n-1]).Equal(b.Time(x)) {
			run = n
		}
		for i := range uniq[run:] {
			if b.Duplicate(uniq[run+i], x) {
				continue next
			}
		}
		uniq = append(uniq, x)
	}
	return uniq
}

// decodeDue returns the rows of due, in its order. When they are the first
// rows unpacked, in the order unpacked (a batch run's flush, as a rule), it
// returns those: the rules' rows are over 200 bytes, and the copy showed at
// 0.14 s of CPU in the 54 rules' profile. The caller may reorder and
// overwrite what it gets: the rows it keeps waiting are after those.
func (b *Buffer[T]) decodeDue(due []stored, unpacked, rows []T) ([]T, error) {
	i := 0
	for i < len(due) && due[i].dec == i+1 {
		i++
	}
	switch {
	case len(due) == 0:
		return nil, nil
	case i == len(due):
		return unpacked[:i:i], nil
	}
	rows = slices.Grow(rows, len(due))
	if len(due) <= scratchRows {
		defer func() { b.dueScratch = rows[:0] }()
	}
	for _, x := range due {
		if x.dec > 0 {
			rows = append(rows, unpacked[x.dec-1])
			continue
		}
		r := wire.NewReader(x.raw)
		rows = append(rows, b.Codec.Read(r))
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("reorder: bad buffered row: %w", err)
		}
	}
	return rows, nil
}

// handedOver reports whether a row at t (Unix ns) is at or before the
// last row handed over.
func (m *Meta) handedOver(t int64) bool { return m.HasFrontier && t <= m.Frontier }

// ahead is how many of n waiting rows the next flush looks ahead: a quarter
// of them, or 1, 3, 7, ... rows while flushes follow each other with no new
// row.
func (m *Meta) ahead(n int) int64 {
	return max(int64(1)<<min(max(m.Streak-1, 0), 62)-1, int64(n)/4)
}

// backlogRows is where the rows a flush leaves waiting stop looking like a
// stream's rows ahead of the watermark (500 ticks/s of a symbol with 2 s of
// delays is 1000): a batch run, or a stream catching up. Past it the next
// flush aims at the latest of them, so one firing hands them all over (one
// bag read) rather than a quarter at a time (a dozen reads of the whole bag
// for 20k rows); they wait at most until the watermark passes the last of
// them. The target is not moved as rows arrive: on a stream it would run
// ahead of the watermark for as long as the symbol trades.
const backlogRows = 4096

// ReleaseTime is t + ttl, kept inside the global window.
func ReleaseTime(t mtime.Time, ttl time.Duration) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if q := mtime.FromDuration(ttl); t <= end-q {
		return t + q
	}
	return end
}

// CompareIDs orders trade ids numerically when both are numbers, else as
// strings.
func CompareIDs(a, b string) int {
	if a == b {
		return 0
	}
	if isDigits(a) && isDigits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return len(a) - len(b)
		}
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MaxBatched bounds the rows a Batcher holds before it emits its batches.
const MaxBatched = 32768

// Batcher packs one bundle's rows per key into batches, the elements a
// stateful DoFn using Buffer reads: a DoFn calls Add per row and Flush in
// FinishBundle. Each batch is timestamped at its earliest row, so the
// watermark downstream cannot pass a row before the batch holding it is
// buffered. A batch leaves from Flush, in FinishBundle (in the global
// window), or from an Add later than its rows' (in that row's window): a
// DoFn's input is in the global window, or its output is windowed again
// (WindowInto) before anything reads it, as every user here does.
//
// A row is encoded into a buffer its key keeps from one batch to the next:
// holding the rows themselves until Flush regrew (and copied) a slice of
// large structs per key and bundle, and encoding them afterwards walked them
// a second time. A bundle's first chunkRows rows are encoded at Flush, on
// the DoFn's goroutine; once a bundle has more, its rows go in chunks to a
// goroutine of the Batcher's that encodes and compresses them, so a batch
// run's bundle (one per stage on prism, on one goroutine) takes a second
// core for that work.
type Batcher[T any] struct {
	Codec Codec[T]
	Time  func(T) time.Time

	open  map[string]*pending // the worker's while it runs
	held  int
	chunk []keyed[T] // rows added since the last chunk left
	w     *batchWorker[T]
}

type keyed[T any] struct {
	key string
	x   T
}

// chunkRows is the size of a chunk of rows handed to the worker.
const chunkRows = 1024

// batchWorker encodes the chunks of rows it is sent, in order, and seals
// every batch when a chunk says so, sending them on out; it closes out when
// in is closed.
type batchWorker[T any] struct {
	in   chan chunk[T]
	free chan []keyed[T] // chunks encoded, for reuse
	out  chan []sealed
}

type chunk[T any] struct {
	rows []keyed[T]
	seal bool
}

type sealed struct {
	t     mtime.Time
	key   string
	batch []byte
}

// headRoom is the room a pending batch keeps before its rows for the row
// count, which is known only at Flush.
const headRoom = binary.MaxVarintLen64

// keepBytes bounds the buffer a key keeps after a Flush, so a DoFn's
// Batcher holds at most keepBytes per key between bundles: a batch run's
// full Batcher over 50 symbols makes batches of a few dozen KiB per symbol,
// and a burst's larger buffer is let go rather than kept for a key that
// then sends a row now and then.
const keepBytes = 256 << 10

type pending struct {
	rows  int64
	buf   []byte // headRoom bytes, then the encoded rows
	first mtime.Time
}

// seal writes the row count into the head room and returns the batch,
// compressed from compressBytes on; a plain batch is a copy of buf if reused.
func (p *pending) seal(reused bool) []byte {
	var n [headRoom]byte
	head := wire.AppendInt(n[:0], p.rows)
	start := headRoom - len(head)
	copy(p.buf[start:], head)
	plain := p.buf[start:]
	switch {
	case len(plain) >= compressBytes:
		return compressBatch(plain)
	case reused:
		return bytes.Clone(plain)
	}
	return plain
}

// Add adds x under key; a Batcher holding MaxBatched rows emits them first
// (or, once it hands rows to its worker, has them sealed there and emitted by
// a later Add or Flush, rather than wait).
func (b *Batcher[T]) Add(key string, x T, emit func(mtime.Time, string, []byte)) {
	if b.chunk == nil {
		b.chunk = make([]keyed[T], 0, chunkRows)
	}
	b.chunk = append(b.chunk, keyed[T]{key, x})
	b.held++
	switch {
	case b.held >= MaxBatched && b.w == nil:
		b.Flush(emit)
	case b.held >= MaxBatched:
		b.handOff(true, emit)
		b.held = 0
	case len(b.chunk) == chunkRows:
		b.handOff(false, emit)
	}
}

// handOff sends the chunk to the worker, starting one if none runs, and
// emits what the worker has sealed meanwhile.
func (b *Batcher[T]) handOff(seal bool, emit func(mtime.Time, string, []byte)) {
	if b.w == nil {
		b.w = &batchWorker[T]{in: make(chan chunk[T], 4), free: make(chan []keyed[T], 6), out: make(chan []sealed, 4)}
		go b.work(b.w)
	}
	b.send(chunk[T]{b.chunk, seal}, emit)
	for ready := true; ready; {
		select {
		case out := <-b.w.out:
			emitSealed(out, emit)
		default:
			ready = false
		}
	}
	select {
	case c := <-b.w.free:
		b.chunk = c[:0]
	default:
		b.chunk = make([]keyed[T], 0, chunkRows)
	}
}

// send hands c to the worker, emitting what it has sealed while it waits:
// the worker may itself be waiting to hand those over.
func (b *Batcher[T]) send(c chunk[T], emit func(mtime.Time, string, []byte)) {
	for {
		select {
		case b.w.in <- c:
			return
		case out := <-b.w.out:
			emitSealed(out, emit)
		}
	}
}

func emitSealed(out []sealed, emit func(mtime.Time, string, []byte)) {
	for _, o := range out {
		emit(o.t, o.key, o.batch)
	}
}

func (b *Batcher[T]) work(w *batchWorker[T]) {
	defer close(w.out)
	for c := range w.in {
		b.encodeAll(c.rows)
		select {
		case w.free <- c.rows:
		default:
		}
		if c.seal {
			w.out <- b.seal()
		}
	}
}

// encodeAll encodes rows and clears them: they hold strings, and the chunk
// is reused.
func (b *Batcher[T]) encodeAll(rows []keyed[T]) {
	for i := range rows {
		b.encode(rows[i].key, rows[i].x)
	}
	clear(rows)
}

// encode adds x to its key's pending batch.
func (b *Batcher[T]) encode(key string, x T) {
	if b.open == nil {
		b.open = map[string]*pending{}
	}
	ts := mtime.FromTime(b.Time(x))
	p := b.open[key]
	if p == nil {
		p = &pending{}
		b.open[key] = p
	}
	if p.rows == 0 {
		if p.buf == nil {
			p.buf = make([]byte, headRoom, 256)
		}
		p.first = ts
	}
	p.buf = b.Codec.Append(p.buf, x)
	p.rows++
	p.first = min(p.first, ts)
}

// seal seals every pending batch and resets them. A key that had no row
// since the last Flush is forgotten, so a stream's map holds only the keys
// that trade.
func (b *Batcher[T]) seal() []sealed {
	out := make([]sealed, 0, len(b.open))
	for k, p := range b.open {
		if p.rows == 0 {
			delete(b.open, k)
			continue
		}
		// A copy of a plain batch: the buffer is written again by the next.
		out = append(out, sealed{p.first, k, p.seal(true)})
		p.rows = 0
		if cap(p.buf) > keepBytes {
			p.buf = nil
		} else {
			p.buf = p.buf[:headRoom]
		}
	}
	return out
}

// Flush emits every open batch.
func (b *Batcher[T]) Flush(emit func(mtime.Time, string, []byte)) {
	if w := b.w; w != nil {
		b.send(chunk[T]{b.chunk, true}, emit)
		close(w.in)
		for out := range w.out {
			emitSealed(out, emit)
		}
		b.w, b.chunk = nil, nil
	} else {
		b.encodeAll(b.chunk)
		b.chunk = b.chunk[:0]
		emitSealed(b.seal(), emit)
	}
	b.held = 0
}
