package reorder

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/internal/wire"
)

var nanos = Codec[int64]{Append: wire.AppendInt, Read: (*wire.Reader).Int}

func TestCodecRoundTrip(t *testing.T) {
	for _, rows := range [][]int64{nil, {1}, {5, -3, 1 << 62}} {
		got, err := nanos.Decode(nil, nanos.Encode(rows))
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(rows, got, gocmp.Comparer(func(a, b []int64) bool { return len(a) == len(b) && (len(a) == 0 || gocmp.Equal(a, b)) })); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
	if _, err := nanos.Decode(nil, []byte{0x7f}); err == nil {
		t.Error("a truncated batch decoded")
	}
}

func TestCodecEach(t *testing.T) {
	rows := []int64{5, -3, 1 << 62}
	enc := nanos.Encode(rows)
	var got []int64
	if err := nanos.Each(enc, func(x int64) { got = append(got, x) }); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(rows, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = nil
	if err := nanos.Each(enc[:len(enc)-1], func(x int64) { got = append(got, x) }); err == nil {
		t.Errorf("a truncated batch read without error, rows %v", got)
	}
	if diff := gocmp.Diff(rows[:2], got); diff != "" {
		t.Errorf("rows before the cut (-want +got):\n%s", diff)
	}
}

// A batch from compressBytes on crosses compressed and reads back the same; a
// compressed batch cut short or corrupted is an error, not fewer rows.
func TestCodecCompressesLargeBatches(t *testing.T) {
	rows := make([]int64, 5000)
	for i := range rows {
		rows[i] = 1_768_000_000_000_000_000 + int64(i)*1_000_000 // a trade a millisecond
	}
	enc := nanos.Encode(rows)
	if r := wire.NewReader(enc); r.Int() != compressedBatch {
		t.Fatalf("a batch of %d rows is not compressed", len(rows))
	}
	if plain := len(nanos.Encode(rows[:1])) * len(rows); len(enc)*2 > plain {
		t.Errorf("compressed batch of %d bytes, want well under the %d of its rows", len(enc), plain)
	}
	got, err := nanos.Decode(nil, enc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(rows, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	small := nanos.Encode(rows[:3])
	if r := wire.NewReader(small); r.Int() != 3 {
		t.Error("a small batch was compressed")
	}
	for name, bad := range map[string][]byte{
		"cut short": enc[:len(enc)/2],
		"corrupted": append(wire.AppendInt(nil, compressedBatch), 0xff, 0xfe, 0xfd),
	} {
		n := 0
		if err := nanos.Each(bad, func(int64) { n++ }); err == nil {
			t.Errorf("%s: read %d rows without error", name, n)
		}
	}
}

// Batches are per key, hold every row once and carry their earliest time,
// so the watermark downstream cannot pass a row before its batch is buffered.
func TestBatcherKeysAndTimestamps(t *testing.T) {
	b := Batcher[int64]{Codec: nanos, Time: func(ns int64) time.Time { return time.Unix(0, ns) }}
	type batch struct {
		TS   mtime.Time
		Rows []int64
	}
	got := map[string][]batch{}
	emit := func(ts mtime.Time, k string, enc []byte) {
		rows, err := nanos.Decode(nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		got[k] = append(got[k], batch{ts, rows})
	}
	for _, x := range []struct {
		k  string
		ns int64
	}{{"A", 5e6}, {"B", 7e6}, {"A", 2e6}, {"A", 9e6}} {
		b.Add(x.k, x.ns, emit)
	}
	if len(got) != 0 {
		t.Fatalf("emitted before Flush: %v", got)
	}
	b.Flush(emit)
	want := map[string][]batch{"A": {{2, []int64{5e6, 2e6, 9e6}}}, "B": {{7, []int64{7e6}}}}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The next batches reuse the flushed ones: none may carry an old row
	// or an old earliest time.
	clear(got)
	b.Add("B", 8e6, emit)
	b.Add("D", 6e6, emit)
	b.Flush(emit)
	want = map[string][]batch{"B": {{8, []int64{8e6}}}, "D": {{6, []int64{6e6}}}}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("second flush (-want +got):\n%s", diff)
	}
	// A full batcher seals its batches (they leave from a later Add or
	// the Flush, its worker sealing them meanwhile): the row after
	// MaxBatched starts a batch of its own.
	clear(got)
	for i := 0; i <= MaxBatched; i++ {
		b.Add("C", int64(i), emit)
	}
	b.Flush(emit)
	if n := len(got["C"]); n != 2 || len(got["C"][0].Rows) != MaxBatched || len(got["C"][1].Rows) != 1 {
		t.Errorf("a full batcher emitted %d batches, want one of %d rows, then one of 1", n, MaxBatched)
	}
}

// A key's buffer is written again by its next batch: a batch emitted
// before, small (plain) or large (compressed), must not change with it.
func TestBatcherBatchesOutliveTheNextOne(t *testing.T) {
	b := Batcher[int64]{Codec: nanos, Time: func(ns int64) time.Time { return time.Unix(0, ns) }}
	var encs [][]byte
	emit := func(_ mtime.Time, _ string, enc []byte) { encs = append(encs, enc) }
	var want [][]int64
	for _, n := range []int{3, 5000, 2, 4000, 1} {
		var rows []int64
		for i := 0; i < n; i++ {
			x := int64(len(want)*1e6 + i)
			rows = append(rows, x)
			b.Add("A", x, emit)
		}
		b.Flush(emit)
		want = append(want, rows)
	}
	var got [][]int64
	for _, enc := range encs {
		rows, err := nanos.Decode(nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rows)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("batches read after the later ones were made (-want +got):\n%s", diff)
	}
	if big, small := wire.NewReader(encs[1]).Int(), wire.NewReader(encs[0]).Int(); big != compressedBatch || small != 3 {
		t.Errorf("batches start %d and %d: want the 5000-row batch compressed (%d) and the 3-row one plain", big, small, compressedBatch)
	}
}

func TestCompareIDs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"9", "10", -1}, {"10", "9", 1}, {"007", "7", 0}, {"20260115000000000010", "20260115000000000009", 1},
		{"a10", "a9", -1}, {"", "1", -1}, {"5", "5", 0}, {"abc", "abd", -1},
	} {
		if got := CompareIDs(c.a, c.b); (got > 0) != (c.want > 0) || (got < 0) != (c.want < 0) {
			t.Errorf("CompareIDs(%q, %q) = %d, want sign %d", c.a, c.b, got, c.want)
		}
	}
}

// A flush firing counts only for the armed timer: its hold is the buffer's.
func TestMetaCurrent(t *testing.T) {
	m := Meta{Buffered: 2, BufMin: 5000}
	for _, c := range []struct {
		m    Meta
		tag  string
		want bool
	}{
		{m, FlushTag(5000), true},
		{m, FlushTag(4000), false},                  // the hold moved
		{Meta{BufMin: 5000}, FlushTag(5000), false}, // flushed already
	} {
		if got := c.m.Current(c.tag); got != c.want {
			t.Errorf("%+v.Current(%q) = %v, want %v", c.m, c.tag, got, c.want)
		}
	}
}

// memState is Beam user state in memory, for the buffer's bookkeeping alone
// (the transforms' tests run it on prism).
type memState struct {
	state.Provider
	vals    map[string]any
	bags    map[string][]any
	bagOps  int // bag reads, appends and clears: round trips on a runner
	setTime int
}

func newMemState() *memState { return &memState{vals: map[string]any{}, bags: map[string][]any{}} }

func (s *memState) ReadValueState(id string) (any, []state.Transaction, error) {
	return s.vals[id], nil, nil
}
func (s *memState) WriteValueState(t state.Transaction) error { s.vals[t.Key] = t.Val; return nil }
func (s *memState) ReadBagState(id string) ([]any, []state.Transaction, error) {
	s.bagOps++
	return slices.Clone(s.bags[id]), nil, nil
}
func (s *memState) WriteBagState(t state.Transaction) error {
	s.bagOps++
	s.bags[t.Key] = append(s.bags[t.Key], t.Val)
	return nil
}
func (s *memState) ClearBagState(t state.Transaction) error {
	s.bagOps++
	delete(s.bags, t.Key)
	return nil
}
func (s *memState) Set(timers.TimerMap) { s.setTime++ }

// padded rows are an int64 and 100 bytes, so a few dozen fill InlineBytes.
var padded = Codec[int64]{
	Append: func(b []byte, x int64) []byte { return wire.AppendBytes(wire.AppendInt(b, x), make([]byte, 100)) },
	Read:   func(r *wire.Reader) int64 { x := r.Int(); r.View(); return x },
}

func newTestBuffer(maxBuffered int) (*Buffer[int64], *state.Bag[[]byte], *memState) {
	bag := state.MakeBagState[[]byte]("buffer")
	timer := timers.InEventTime("timer")
	return &Buffer[int64]{Bag: &bag, Timer: &timer, Codec: padded, MaxBuffered: maxBuffered,
		Time: func(ns int64) time.Time { return time.Unix(0, ns) }, Compare: cmp.Compare[int64]}, &bag, newMemState()
}

// A stream's rows, one at a time and each flushed before the next, never
// touch the bag: they wait in Meta.Inline.
func TestBufferStreamStaysInline(t *testing.T) {
	b, _, st := newTestBuffer(0)
	var m Meta
	var got []int64
	for i := int64(1); i <= 200; i++ {
		if _, _, err := b.Add(st, st, &m, []int64{i * 1e9, i*1e9 + 1}); err != nil {
			t.Fatal(err)
		}
		out, err := b.Flush(st, st, &m)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
		// Through the state cell and back, as a DoFn does between bundles.
		v := state.MakeValueState[[]byte]("meta")
		if err := WriteMeta(st, &v, m); err != nil {
			t.Fatal(err)
		}
		if m, _, err = ReadMeta(st, &v); err != nil {
			t.Fatal(err)
		}
	}
	rest, err := b.Drain(st, st, &m, mtime.MaxTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, rest...)
	if len(got) != 400 || !slices.IsSorted(got) {
		t.Errorf("handed over %d rows (sorted: %v), want 400 in order", len(got), slices.IsSorted(got))
	}
	if st.bagOps != 0 {
		t.Errorf("%d bag round trips, want 0", st.bagOps)
	}
}

// A batch overflows into the bag; a full buffer forces its oldest half out
// even when the cut falls among rows of one time, and every row comes out
// exactly once, in order.
func TestBufferForcedCutAmongTies(t *testing.T) {
	b, _, st := newTestBuffer(100)
	var m Meta
	var want, got []int64
	for batch := int64(0); batch < 20; batch++ {
		var rows []int64
		for i := int64(0); i < 50; i++ {
			rows = append(rows, (batch*50+(49-i))/7*7) // 7 rows per time, descending in the batch
		}
		want = append(want, rows...)
		late, forced, err := b.Add(st, st, &m, rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(late) > 0 {
			t.Fatalf("batch %d: %d rows late", batch, len(late))
		}
		got = append(got, forced...)
	}
	if st.bagOps == 0 {
		t.Error("a batch of 50 padded rows stayed inline")
	}
	rest, err := b.Drain(st, st, &m, mtime.MaxTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, rest...)
	slices.Sort(want)
	if !slices.IsSorted(got) {
		t.Error("rows handed over out of order")
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("rows handed over (-want +got):\n%s", diff)
	}
}

// AddBatch stores a batch's rows as they came; what it hands over, what it
// calls late and what it leaves in the bag are Add's, with late rows in the
// middle of a batch, and a large (compressed) batch.
func TestBufferAddBatchMatchesAdd(t *testing.T) {
	viaAdd, _, stAdd := newTestBuffer(0)
	viaBatch, _, stBatch := newTestBuffer(0)
	var mAdd, mBatch Meta
	batches := [][]int64{{5e9, 3e9, 4e9}, {1e9, 9e9, 2e9, 8e9}, make([]int64, 200)}
	for i := range batches[2] {
		batches[2][i] = int64(i%50+6) * 1e9
	}
	for i, rows := range batches {
		lateA, forcedA, err := viaAdd.Add(stAdd, stAdd, &mAdd, slices.Clone(rows))
		if err != nil {
			t.Fatal(err)
		}
		lateB, forcedB, err := viaBatch.AddBatch(stBatch, stBatch, &mBatch, padded.Encode(rows))
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff([][]int64{lateA, forcedA}, [][]int64{lateB, forcedB}); diff != "" {
			t.Errorf("batch %d: late and forced (-Add +AddBatch):\n%s", i, diff)
		}
		if i == 0 {
			// Hand the first batch over: the next one's 1e9 and 2e9 are late.
			for _, x := range []struct {
				b  *Buffer[int64]
				st *memState
				m  *Meta
			}{{viaAdd, stAdd, &mAdd}, {viaBatch, stBatch, &mBatch}} {
				if _, err := x.b.Drain(x.st, x.st, x.m, mtime.FromTime(time.Unix(5, 0))); err != nil {
					t.Fatal(err)
				}
			}
		}
		if i == 1 && len(lateB) != 2 {
			t.Errorf("batch 1: %d late rows, want 2", len(lateB))
		}
	}
	if diff := gocmp.Diff(stAdd.bags, stBatch.bags); diff != "" {
		t.Errorf("bags (-Add +AddBatch):\n%s", diff)
	}
	if diff := gocmp.Diff(mAdd, mBatch); diff != "" {
		t.Errorf("meta (-Add +AddBatch):\n%s", diff)
	}
	gotA, errA := viaAdd.Drain(stAdd, stAdd, &mAdd, mtime.MaxTimestamp)
	gotB, errB := viaBatch.Drain(stBatch, stBatch, &mBatch, mtime.MaxTimestamp)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if diff := gocmp.Diff(gotA, gotB); diff != "" || len(gotB) != 202 {
		t.Errorf("drained %d rows (-Add +AddBatch):\n%s", len(gotB), diff)
	}
	if _, _, err := viaBatch.AddBatch(stBatch, stBatch, &mBatch, []byte{0x7f}); err == nil {
		t.Error("AddBatch took a damaged batch")
	}
}

// A batch run adds every row before the watermark moves. The first flush
// waits for the first batch only, as on a stream; it then leaves more than
// backlogRows waiting and aims the next flush at the latest of them, so the
// buffer drains in two firings and two bag reads, where stepping a quarter
// of the rest at a time read the bag a dozen times for 20k rows.
func TestBufferBacklogDrainsInTwoFlushes(t *testing.T) {
	b, _, st := newTestBuffer(0)
	var m Meta
	const batches, per = 50, 100
	for batch := int64(0); batch < batches; batch++ {
		rows := make([]int64, per)
		for i := range rows {
			rows[i] = (batch*per + int64(i)) * 1e6
		}
		if _, _, err := b.Add(st, st, &m, rows); err != nil {
			t.Fatal(err)
		}
	}
	reads := st.bagOps
	var got []int64
	for flush := 1; m.Buffered > 0; flush++ {
		if flush > 2 {
			t.Fatalf("flush %d with %d rows still buffered", flush, m.Buffered)
		}
		out, err := b.Flush(st, st, &m)
		if err != nil {
			t.Fatal(err)
		}
		if flush == 1 && len(out) != per {
			t.Errorf("first flush handed over %d rows, want the first batch's %d", len(out), per)
		}
		got = append(got, out...)
	}
	if len(got) != batches*per || !slices.IsSorted(got) {
		t.Errorf("handed over %d rows (sorted: %v), want %d in order", len(got), slices.IsSorted(got), batches*per)
	}
	// Two reads, and a clear once nothing waits.
	if n := st.bagOps - reads; n != 3 {
		t.Errorf("flushes made %d bag round trips, want 3 (read, read, clear)", n)
	}
}

// A flush leaving few rows waiting, as on a stream, steps a quarter of them
// ahead: rows wait for the watermark to pass the next few, not the last.
func TestBufferStreamFlushStepsAQuarter(t *testing.T) {
	b, _, st := newTestBuffer(0)
	var m Meta
	for _, rows := range [][]int64{{1e9, 2e9}, {3e9, 4e9, 5e9, 6e9, 7e9, 8e9, 9e9, 10e9}} {
		if _, _, err := b.Add(st, st, &m, rows); err != nil {
			t.Fatal(err)
		}
	}
	if want := mtime.FromTime(time.Unix(0, 2e9)); m.Target != want {
		t.Errorf("flush target %v, want the first batch's latest row %v", m.Target, want)
	}
	out, err := b.Flush(st, st, &m)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]int64{1e9, 2e9}, out); diff != "" {
		t.Errorf("first flush (-want +got):\n%s", diff)
	}
	// 8 rows wait: the next flush aims 8/4 = 2 rows ahead, at 5s.
	if want := mtime.FromTime(time.Unix(0, 5e9)); m.Target != want {
		t.Errorf("next flush target %v, want %v", m.Target, want)
	}
}

// Duplicate sees every row kept before a row of the same event time, not
// just the one before it: a copy that Compare's tie-break leaves apart from
// its original (a tick without a trade id) is dropped too; rows of other
// times are never compared.
func TestBufferDropsCopiesAmongTies(t *testing.T) {
	b, _, st := newTestBuffer(0)
	b.Time = func(x int64) time.Time { return time.Unix(x/10, 0) }      // ten values per second
	b.Compare = func(x, y int64) int { return cmp.Compare(x/10, y/10) } // ties stay in arrival order
	var apart []string
	b.Duplicate = func(prev, next int64) bool {
		if prev/10 != next/10 {
			apart = append(apart, fmt.Sprint(prev, next))
		}
		return prev == next
	}
	var m Meta
	if _, _, err := b.Add(st, st, &m, []int64{10, 11, 10, 12, 11, 20, 21, 20, 10}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Drain(st, st, &m, mtime.MaxTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]int64{10, 11, 12, 20, 21}, got); diff != "" {
		t.Errorf("rows handed over (-want +got):\n%s", diff)
	}
	if len(apart) > 0 {
		t.Errorf("rows of different times compared: %v", apart)
	}
}

func TestSortRuns(t *testing.T) {
	type row struct{ t, seq int }
	byTime := func(a, b row) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.seq, b.seq)) }
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name       string
		n, runs    int
		sortedRuns bool // else shuffled: more runs than sortRuns merges
	}{
		{"empty", 0, 0, true},
		{"one row", 1, 1, true},
		{"in order", 1000, 1, true},
		{"two runs", 1000, 2, true},
		{"three runs", 1000, 3, true},
		{"many runs", 5000, 63, true},
		{"shuffled", 5000, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := make([]row, tc.n)
			for i := range xs {
				xs[i] = row{t: rng.IntN(tc.n/4 + 1), seq: i}
			}
			if tc.sortedRuns && tc.runs > 0 {
				for r := range tc.runs { // each run ascending, runs overlapping in time
					lo, hi := r*tc.n/tc.runs, (r+1)*tc.n/tc.runs
					slices.SortFunc(xs[lo:hi], byTime)
				}
			}
			want := slices.Clone(xs)
			slices.SortFunc(want, byTime)
			var scratch []row
			for range 2 { // the scratch comes back reusable
				got := slices.Clone(xs)
				scratch = sortRuns(got, byTime, scratch)
				if diff := gocmp.Diff(want, got, gocmp.AllowUnexported(row{})); diff != "" {
					t.Fatalf("sortRuns (-want +got):\n%s", diff)
				}
				if len(scratch) != 0 {
					t.Fatalf("scratch of length %d, want 0", len(scratch))
				}
			}
		})
	}
}
