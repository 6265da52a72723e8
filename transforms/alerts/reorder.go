package alerts

import (
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

// DefaultMaxBuffered bounds a rule's reorder buffer per symbol. Past it the
// oldest half is evaluated at once, ahead of the watermark, and an older row
// arriving later is late. A batch run delivers every row of a symbol before
// the watermark moves, so it holds up to this many rows per symbol in order.
const DefaultMaxBuffered = 100_000

// Timer tags. Every stateful DoFn here uses one timer family with tags: the
// Go SDK v2.77 harness counts one end-of-stream per timer transform but
// prism sends one per family, so a second family can leave a bundle waiting
// forever (the indicators package found this on prism).
const (
	tagFlush   = "flush@" // + the hold: see flushTag
	tagRelease = "release"
	tagDue     = "due"
)

// flushTag names the flush timer by its output hold: prism v2.77 mis-counts
// watermark holds when a timer is set again with a different hold, so a new
// hold gets a new timer and the old one is cleared.
func flushTag(hold mtime.Time) string { return tagFlush + strconv.FormatInt(int64(hold), 10) }

// orderMeta is a key's reorder bookkeeping.
type orderMeta struct {
	Buffered    int64      // rows waiting
	Stored      int64      // rows in the bag: waiting ones and evaluated ones not yet compacted away
	BufMin      mtime.Time // the earliest buffered timestamp: the flush timer's output hold
	Target      mtime.Time // when the flush timer fires
	Streak      int64      // flushes since the last new row: see reorder.flush
	HasFrontier bool
	Frontier    int64      // event time (Unix ns) of the last evaluated row
	ReleaseAt   mtime.Time // the release timer's time
}

func readMeta(sp state.Provider, v *state.Value[[]byte]) (orderMeta, bool, error) {
	b, ok, err := v.Read(sp)
	if err != nil || !ok {
		return orderMeta{}, false, err
	}
	r := wire.NewReader(b)
	m := orderMeta{Buffered: r.Int(), Stored: r.Int(), BufMin: mtime.Time(r.Int()), Target: mtime.Time(r.Int()), Streak: r.Int(),
		HasFrontier: r.Int() != 0, Frontier: r.Int(), ReleaseAt: mtime.Time(r.Int())}
	if err := r.Err(); err != nil {
		return orderMeta{}, false, fmt.Errorf("bad reorder state: %w", err)
	}
	return m, true, nil
}

func writeMeta(sp state.Provider, v *state.Value[[]byte], m orderMeta) error {
	var hf int64
	if m.HasFrontier {
		hf = 1
	}
	b := make([]byte, 0, 48)
	for _, x := range [...]int64{m.Buffered, m.Stored, int64(m.BufMin), int64(m.Target), m.Streak, hf, m.Frontier, int64(m.ReleaseAt)} {
		b = wire.AppendInt(b, x)
	}
	return v.Write(sp, b)
}

// reorder is a bounded per-key buffer that hands rows over in event-time
// order once the watermark has passed them.
//
// The flush timer fires at a buffered row's timestamp T, when the watermark
// has passed T: every on-time row up to T is then in the buffer, and all of
// them are evaluated, oldest first. Each flush sets the next one a quarter
// of the remaining rows further, and twice as many rows further than the last
// while flushes follow each other with no new row in between (a batch run, or
// a backlog: the watermark is far ahead), so a buffer of n rows drains in
// O(log n) firings, each rewriting the buffer once, never evaluating a row
// before the watermark has passed it. New rows do not pull the timer back:
// a flush that took one row per arrival rewrote the whole buffer each time,
// quadratic in a batch run's burst of rows (minutes for 15,000 rows). A
// streaming row waits at most for the quarter of the buffer ahead of it.
//
// Every bag write is a state round trip to the runner, so a flush leaves
// the rows it evaluated in the bag (they are at or before the frontier and
// skipped on read) and rewrites the bag only once they outnumber the rows
// still waiting: each row is rewritten O(1) times on average.
type reorder[T any] struct {
	buffer      *state.Bag[T]
	meta        *state.Value[[]byte]
	timer       *timers.EventTime
	maxBuffered int
	ttl         time.Duration
	timeOf      func(T) time.Time
	compare     func(a, b T) int // event-time order, then tie-breaks
	duplicate   func(prev, next T) bool
}

func tsOf(t time.Time) mtime.Time { return mtime.FromTime(t) }

// add buffers x. It reports late when x is at or before the last evaluated
// row (x is then dropped), and returns the rows a full buffer forces out.
func (r *reorder[T]) add(sp state.Provider, tp timers.Provider, m *orderMeta, x T) (late bool, forced []T, err error) {
	t := r.timeOf(x)
	if m.HasFrontier && t.UnixNano() <= m.Frontier {
		return true, nil, nil
	}
	if err := r.buffer.Add(sp, x); err != nil {
		return false, nil, fmt.Errorf("buffer: %w", err)
	}
	ts := tsOf(t)
	m.Streak = 0
	switch {
	case m.Buffered == 0:
		m.BufMin, m.Target = ts, ts
		r.setFlush(tp, m)
	case ts < m.BufMin: // a new hold: a new timer (see flushTag), firing as planned
		r.timer.ClearTag(tp, flushTag(m.BufMin))
		m.BufMin = ts
		r.setFlush(tp, m)
	}
	m.Buffered++
	m.Stored++
	if rel := releaseTime(ts, r.ttl); rel > m.ReleaseAt {
		m.ReleaseAt = rel
		r.timer.Set(tp, rel.ToTime(), timers.WithTag(tagRelease))
	}
	if m.Buffered > int64(r.maxBuffered) {
		r.timer.ClearTag(tp, flushTag(m.BufMin))
		forced, err = r.take(sp, tp, m, mtime.MaxTimestamp, m.Buffered-int64(r.maxBuffered)/2)
		return false, forced, err
	}
	return false, nil, nil
}

func (r *reorder[T]) setFlush(tp timers.Provider, m *orderMeta) {
	r.timer.Set(tp, m.Target.ToTime(), timers.WithTag(flushTag(m.BufMin)), timers.WithOutputTimestamp(m.BufMin.ToTime()))
}

// flush is the flush timer firing: it returns the rows at or before its
// firing time m.Target in order and re-arms the timer for the rest. The
// OnTimer timestamp is the timer's output hold (m.BufMin), not its firing
// time: taking only the rows up to it evaluated one row per firing.
func (r *reorder[T]) flush(sp state.Provider, tp timers.Provider, m *orderMeta) ([]T, error) {
	m.Streak++
	return r.take(sp, tp, m, m.Target, m.Buffered)
}

// take removes and returns, in order, at most n buffered rows at or before
// upto, keeps the rest under a new flush timer and advances the frontier.
// The caller has cleared or fired the old flush timer.
func (r *reorder[T]) take(sp state.Provider, tp timers.Provider, m *orderMeta, upto mtime.Time, n int64) ([]T, error) {
	stored, _, err := r.buffer.Read(sp)
	if err != nil {
		return nil, fmt.Errorf("read buffer: %w", err)
	}
	buf := stored[:0]
	for _, x := range stored {
		if !m.HasFrontier || r.timeOf(x).UnixNano() > m.Frontier { // else evaluated already
			buf = append(buf, x)
		}
	}
	slices.SortStableFunc(buf, r.compare)
	uniq := buf[:0]
	for _, x := range buf {
		if len(uniq) > 0 && r.duplicate != nil && r.duplicate(uniq[len(uniq)-1], x) {
			continue
		}
		uniq = append(uniq, x)
	}
	k := 0
	for k < len(uniq) && int64(k) < n && tsOf(r.timeOf(uniq[k])) <= upto {
		k++
	}
	due := slices.Clone(uniq[:k])
	rest := uniq[k:]
	if k > 0 {
		m.HasFrontier = true
		m.Frontier = r.timeOf(due[k-1]).UnixNano()
	}
	// A waiting row at the frontier's own time (a take cut short by n)
	// would read as evaluated: rewrite then too.
	tie := len(rest) > 0 && r.timeOf(rest[0]).UnixNano() <= m.Frontier
	if len(rest) == 0 || tie || m.Stored-int64(len(rest)) > int64(len(rest)) {
		if err := r.buffer.Clear(sp); err != nil {
			return nil, fmt.Errorf("clear buffer: %w", err)
		}
		for _, x := range rest {
			if err := r.buffer.Add(sp, x); err != nil {
				return nil, fmt.Errorf("buffer: %w", err)
			}
		}
		m.Stored = int64(len(rest))
	}
	m.Buffered = int64(len(rest))
	if len(rest) > 0 {
		m.BufMin = tsOf(r.timeOf(rest[0]))
		// A quarter of the rest further, or 1, 3, 7, ... rows while
		// flushes follow each other with no new row.
		ahead := max(int64(1)<<min(max(m.Streak-1, 0), 62)-1, int64(len(rest))/4)
		m.Target = tsOf(r.timeOf(rest[min(ahead, int64(len(rest)-1))]))
		r.setFlush(tp, m)
	}
	return due, nil
}

// releaseTime is t + ttl, kept inside the global window.
func releaseTime(t mtime.Time, ttl time.Duration) mtime.Time {
	end := mtime.EndOfGlobalWindowTime
	if q := mtime.FromDuration(ttl); t <= end-q {
		return t + q
	}
	return end
}

// compareIDs orders trade ids numerically when both are numbers.
func compareIDs(a, b string) int {
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
