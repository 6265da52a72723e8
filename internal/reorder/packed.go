package reorder

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// A packed batch holds its rows in a form of the caller's own, e.g. dedupe's
// batches of ticks as they crossed the runner: a Buffer stores it as it came
// and decodes it (Buffer.Unpack) only at the flush that hands its rows over.
// A batch run's rows then cross the runner, enter the bag and leave it
// without being decoded and encoded again on the way, which was most of the
// cost of a keyed step on ticks.
//
// Its encoding: packedBatch where a batch's row count would be, the row
// count, the earliest and latest row's event times (Unix ns), the number of
// parts, then each part: its earliest row's time, its latest's after that
// (an offset from the earliest), its row count and its bytes. A flush
// decodes only the parts holding rows it may hand over: a part all after
// the flush's time waits as it is, and one all handed over is skipped.
const packedBatch = -3

// Packer packs one bundle's parts (encoded groups of rows, e.g. dedupe's
// batches) per key into packed batches, the elements a stateful DoFn reads
// with a Buffer that has an Unpack, or with EachPart: a DoFn calls Add per
// part and Flush in FinishBundle. As with a Batcher, each packed batch is
// timestamped at its earliest row and leaves in the global window.
type Packer struct {
	open map[string]*packing
	held int // the bytes of the parts open holds
}

// packing is one key's parts so far. It holds the parts themselves, not a
// copy: Flush copies each once, into a packed batch of the exact size, where
// appending them as they came copied a bundle's ticks about three times
// over (130 MB for the 54 rules' 1M trades).
type packing struct {
	rows        int64
	first, last int64
	size        int // the packed batch's bytes
	parts       []heldPart
}

type heldPart struct {
	first, last, rows int64
	data              []byte
}

// Add adds part, rows rows of key with event times from first to last. A
// Packer holding MaxPackedBytes then emits every batch, and a key's batch
// reaching MaxPackedKeyBytes leaves alone. It keeps part itself until it
// emits it, so part must not change before then.
func (p *Packer) Add(key string, part []byte, rows int, first, last time.Time, emit func(mtime.Time, string, []byte)) {
	if p.open == nil {
		p.open = map[string]*packing{}
	}
	k := p.open[key]
	if k == nil {
		k = &packing{}
		p.open[key] = k
	}
	f, l := first.UnixNano(), last.UnixNano()
	if len(k.parts) == 0 {
		k.first, k.last = f, l
	}
	k.first, k.last = min(k.first, f), max(k.last, l)
	k.rows += int64(rows)
	k.parts = append(k.parts, heldPart{f, l, int64(rows), part})
	k.size += 4*binary.MaxVarintLen64 + len(part)
	switch p.held += len(part); {
	case p.held >= MaxPackedBytes:
		p.Flush(emit)
	case k.size >= MaxPackedKeyBytes:
		p.emit(key, k, emit)
	}
}

func appendPart(b []byte, first, last, rows int64, part []byte) []byte {
	b = wire.AppendInt(b, first)
	b = wire.AppendInt(b, last-first)
	b = wire.AppendInt(b, rows)
	return wire.AppendBytes(b, part)
}

// MaxPackedBytes bounds the bytes of the parts a Packer holds before it
// emits them all, and MaxPackedKeyBytes those of one key's packed batch.
// They are the parts' own memory, which the Packer only keeps alive: a
// bundle's ticks cross as one element per symbol where possible, each a
// state write and a timer of the keyed step (a row bound of 32768 made
// ten times as many in the 1M-trade run).
const (
	MaxPackedBytes    = 32 << 20
	MaxPackedKeyBytes = 4 << 20
)

// Flush emits every open packed batch.
func (p *Packer) Flush(emit func(mtime.Time, string, []byte)) {
	for key, k := range p.open {
		p.emit(key, k, emit)
	}
	p.held = 0
}

// emit emits key's packed batch k and forgets it.
func (p *Packer) emit(key string, k *packing, emit func(mtime.Time, string, []byte)) {
	out := make([]byte, 0, packedHeaderBytes+k.size)
	out = appendPackedHeader(out, k.rows, k.first, k.last, int64(len(k.parts)))
	for _, x := range k.parts {
		out = appendPart(out, x.first, x.last, x.rows, x.data)
		p.held -= len(x.data)
	}
	emit(mtime.FromTime(time.Unix(0, k.first)), key, out)
	delete(p.open, key)
}

// packedHeaderBytes bounds a packed batch's header.
const packedHeaderBytes = 5 * binary.MaxVarintLen64

func appendPackedHeader(out []byte, rows, first, last, parts int64) []byte {
	for _, x := range [...]int64{packedBatch, rows, first, last, parts} {
		out = wire.AppendInt(out, x)
	}
	return out
}

func encodePacked(rows, first, last, parts int64, body []byte) []byte {
	out := appendPackedHeader(make([]byte, 0, packedHeaderBytes+len(body)), rows, first, last, parts)
	return append(out, body...)
}

// packed is a packed batch's header; body holds its parts.
type packed struct {
	rows, first, last, parts int64
	body                     []byte
}

// readPacked reads a packed batch after its packedBatch mark. A row takes a
// byte at least, a part three.
func readPacked(r *wire.Reader, b []byte) (packed, error) {
	p := packed{rows: r.Int(), first: r.Int(), last: r.Int(), parts: r.Int()}
	if err := r.Err(); err != nil || p.rows < 0 || p.rows > int64(len(b)) || p.parts < 0 || p.parts > int64(len(b)) || p.first > p.last {
		return packed{}, fmt.Errorf("reorder: bad packed batch (%d rows, %d parts in %d bytes, %v)", p.rows, p.parts, len(b), err)
	}
	p.body = b[len(b)-r.Len():]
	return p, nil
}

// check reads p's parts' headers: their rows add up to p's, and each lies
// within p's times.
func (p packed) check() error {
	var rows int64
	if err := p.each(func(x part) error { rows += x.rows; return nil }); err != nil {
		return err
	}
	if rows != p.rows {
		return fmt.Errorf("reorder: bad packed batch: parts of %d rows in a batch of %d", rows, p.rows)
	}
	return nil
}

// part is one part of a packed batch.
type part struct {
	first, last, rows int64
	data              []byte // the rows, for Unpack
	enc               []byte // the whole part as appendPart wrote it
}

// each calls f with each part.
func (p packed) each(f func(part) error) error {
	r := wire.NewReader(p.body)
	for range p.parts {
		start := len(p.body) - r.Len()
		x := part{first: r.Int()}
		span := r.Int()
		x.last = x.first + span
		x.rows = r.Int()
		x.data = r.View()
		if err := r.Err(); err != nil {
			return fmt.Errorf("reorder: bad packed batch: %w", err)
		}
		if span < 0 || x.rows < 0 || x.rows > int64(len(x.data)) || x.first < p.first || x.last > p.last {
			return fmt.Errorf("reorder: bad packed batch: a part of %d rows in %d bytes from %d to %d, in a batch from %d to %d",
				x.rows, len(x.data), x.first, x.last, p.first, p.last)
		}
		x.enc = p.body[start : len(p.body)-r.Len()]
		if err := f(x); err != nil {
			return err
		}
	}
	return nil
}

// EachPart calls f with each part of b if b is a packed batch (a Packer's
// element); packed is false, and f not called, for any other batch.
func EachPart(b []byte, f func(part []byte) error) (packed bool, err error) {
	r := wire.NewReader(b)
	if r.Int() != packedBatch {
		return false, nil
	}
	p, err := readPacked(r, b)
	if err != nil {
		return true, err
	}
	return true, p.each(func(x part) error { return f(x.data) })
}

// unpack decodes p's rows with the Buffer's Unpack.
func (b *Buffer[T]) unpack(p packed, f func(T)) error {
	return p.each(func(x part) error { return b.unpackPart(x, f) })
}

// unpackPart decodes a part; addPacked has checked that there is an Unpack.
func (b *Buffer[T]) unpackPart(x part, f func(T)) error { return b.Unpack(x.data, f) }

// unpacking is what a take has read of the bag's packed batches.
type unpacking[T any] struct {
	due      []part // the parts to decode: they may hold rows due
	rows     []T    // the rows of the parts decoded
	held     []part // the parts left undecoded, all after the take's time
	heldRows int64
}

// heldSpan is the held parts' earliest and latest row (Unix ns) and the
// latest row of the part that starts first; pk holds parts.
func (pk *unpacking[T]) heldSpan() (first, last, firstLast int64) {
	first, last, firstLast = pk.held[0].first, pk.held[0].last, pk.held[0].last
	for _, x := range pk.held[1:] {
		if x.first < first {
			first, firstLast = x.first, x.last
		}
		last = max(last, x.last)
	}
	return first, last, firstLast
}

// readPackedEntry reads a bag entry holding a packed batch (r is past its
// mark): each part that may hold rows due is noted for unpackDue; a part
// wholly after upto is held as it is, one wholly handed over is skipped.
func (b *Buffer[T]) readPackedEntry(r *wire.Reader, enc []byte, m *Meta, upto mtime.Time, pk *unpacking[T]) error {
	p, err := readPacked(r, enc)
	if err != nil {
		return err
	}
	return p.each(func(x part) error {
		switch {
		case m.handedOver(x.last):
			return nil
		case mtime.FromTime(time.Unix(0, x.first)) > upto:
			pk.held = append(pk.held, x)
			pk.heldRows += x.rows
			return nil
		}
		pk.due = append(pk.due, x)
		return nil
	})
}

// unpackDue decodes the parts readPackedEntry found may be due, earliest
// first: parts of a batch run's windows then come out in order, and take
// need not sort them.
func (b *Buffer[T]) unpackDue(m *Meta, waiting *[]stored, pk *unpacking[T]) error {
	slices.SortStableFunc(pk.due, func(x, y part) int { return cmp.Compare(x.first, y.first) })
	var n int
	for _, x := range pk.due {
		n += int(x.rows)
	}
	// Rows are checked against the batch's size when added, so this bound
	// is real; growing once spares a copy per doubling of large runs.
	pk.rows = slices.Grow(pk.rows, n)
	*waiting = slices.Grow(*waiting, n)
	if w := min(b.UnpackWorkers, len(pk.due)); w > 1 && n >= minConcurrentRows {
		return b.unpackConcurrently(m, waiting, pk, n, w)
	}
	for _, x := range pk.due {
		err := b.unpackPart(x, func(row T) {
			if t := b.Time(row).UnixNano(); !m.handedOver(t) {
				pk.rows = append(pk.rows, row)
				*waiting = append(*waiting, stored{t: t, inBag: true, seq: len(*waiting), dec: len(pk.rows)})
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Workers is a sane Buffer.UnpackWorkers: the cores Go runs on, at most 4
// (more goroutines decode no faster than the flush consumes their rows).
func Workers() int { return min(runtime.GOMAXPROCS(0), 4) }

// minConcurrentRows is the fewest rows worth decoding on several
// goroutines: below it, starting them costs more than it saves.
const minConcurrentRows = 1 << 14

// concurrently calls f(i) for each i below n on up to w goroutines (this
// one among them), each calling it for a run of consecutive i, in order,
// with about the same total weight(i). It returns the first error. f must
// be safe for concurrent use on different i.
func concurrently(n, w int, weight func(i int) int, f func(i int) error) error {
	total := 1 // weights of 0 make one run
	for i := range n {
		total += weight(i)
	}
	var ends []int // each run's end
	sum := 0
	for i := range n {
		sum += weight(i)
		if sum*w >= total*(len(ends)+1) || i == n-1 {
			ends = append(ends, i+1)
		}
	}
	errs := make([]error, len(ends))
	var wg sync.WaitGroup
	start := 0
	for r, end := range ends {
		from := start
		run := func() {
			for i := from; i < end && errs[r] == nil; i++ {
				errs[r] = f(i)
			}
		}
		if r == len(ends)-1 {
			run()
		} else {
			wg.Go(run)
		}
		start = end
	}
	wg.Wait()
	return errors.Join(errs...)
}

// unpackConcurrently is unpackDue's loop on w goroutines (concurrently),
// each part decoded into its own stretch of pk.rows, as long as its header
// counts. The stretches are then closed up, so rows keep pk.due's order.
func (b *Buffer[T]) unpackConcurrently(m *Meta, waiting *[]stored, pk *unpacking[T], n, w int) error {
	base := pk.rows[len(pk.rows) : len(pk.rows)+n]
	parts := make([][]T, len(pk.due))
	off := 0
	for i, x := range pk.due {
		// Its capacity ends where the next part's stretch begins.
		parts[i] = base[off : off : off+int(x.rows)]
		off += int(x.rows)
	}
	err := concurrently(len(pk.due), w, func(i int) int { return int(pk.due[i].rows) }, func(i int) error {
		return b.unpackPart(pk.due[i], func(row T) {
			if !m.handedOver(b.Time(row).UnixNano()) {
				parts[i] = append(parts[i], row)
			}
		})
	})
	if err != nil {
		return err
	}
	k, off := 0, 0 // rows kept so far; where the part's stretch starts
	for i, rows := range parts {
		if len(rows) > int(pk.due[i].rows) {
			return fmt.Errorf("reorder: a packed part holds more than the %d rows its header counts", pk.due[i].rows)
		}
		if k != off { // rows handed over before it were dropped
			copy(base[k:], rows)
		}
		k += len(rows)
		off += int(pk.due[i].rows)
	}
	pk.rows = pk.rows[:len(pk.rows)+k]
	for i := len(pk.rows) - k; i < len(pk.rows); i++ {
		*waiting = append(*waiting, stored{t: b.Time(pk.rows[i]).UnixNano(), inBag: true, seq: len(*waiting), dec: i + 1})
	}
	return nil
}

// storeHeld writes the held parts back into the bag as one packed batch.
func (pk *unpacking[T]) storeHeld(sp state.Provider, bag *state.Bag[[]byte], m *Meta) error {
	if len(pk.held) == 0 {
		return nil
	}
	var body []byte
	for _, x := range pk.held {
		body = append(body, x.enc...)
	}
	first, last, _ := pk.heldSpan()
	if err := bag.Add(sp, encodePacked(pk.heldRows, first, last, int64(len(pk.held)), body)); err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	m.Stored += pk.heldRows
	return nil
}

// PackedSpan reads a packed batch's header: its row count and the earliest
// and latest row's event times; ok is false for any other batch.
func PackedSpan(b []byte) (rows int, first, last time.Time, ok bool) {
	r := wire.NewReader(b)
	if r.Int() != packedBatch {
		return 0, time.Time{}, time.Time{}, false
	}
	p, err := readPacked(r, b)
	if err != nil {
		return 0, time.Time{}, time.Time{}, false
	}
	return int(p.rows), time.Unix(0, p.first).UTC(), time.Unix(0, p.last).UTC(), true
}
