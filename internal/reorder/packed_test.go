package reorder

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// packedBuffer is newTestBuffer whose packed parts are padded rows one after
// another (a part of 40 is larger than InlineBytes); its Unpack drops the
// rows drop says, as a converter drops rows no rule reads, and counts the
// parts it decodes.
func packedBuffer(maxBuffered int, drop func(int64) bool) (*Buffer[int64], *memState, *int) {
	b, _, st := newTestBuffer(maxBuffered)
	decoded := new(int)
	b.Unpack = func(part []byte, f func(int64)) error {
		*decoded++
		return unpackPadded(part, drop, f)
	}
	return b, st, decoded
}

func unpackPadded(part []byte, drop func(int64) bool, f func(int64)) error {
	for r := wire.NewReader(part); r.Len() > 0; {
		if x := padded.Read(r); !drop(x) {
			f(x)
		}
		if err := r.Err(); err != nil {
			return err
		}
	}
	return nil
}

// pack packs parts of rows (times in ns) for one key as a Packer does.
func pack(t testing.TB, parts ...[]int64) []byte {
	t.Helper()
	var p Packer
	for _, rows := range parts {
		lo, hi := slices.Min(rows), slices.Max(rows)
		var part []byte
		for _, x := range rows {
			part = padded.Append(part, x)
		}
		p.Add("k", part, len(rows), time.Unix(0, lo), time.Unix(0, hi), func(mtime.Time, string, []byte) {})
	}
	var out []byte
	var ts mtime.Time
	p.Flush(func(t mtime.Time, _ string, b []byte) { ts, out = t, b })
	if want := mtime.FromTime(time.Unix(0, slices.Min(slices.Concat(parts...)))); ts != want {
		t.Errorf("packed batch timestamped %v, want its earliest row's %v", ts, want)
	}
	return out
}

// batchRun is the rows of a batch run, 10 ms apart, in order: batches of
// parts of per rows.
func batchRun(batches, parts, per int64) [][][]int64 {
	out := make([][][]int64, batches)
	for batch := range batches {
		for p := range parts {
			rows := make([]int64, per)
			for i := range rows {
				rows[i] = ((batch*parts+p)*per + int64(i)) * 1e7
			}
			out[batch] = append(out[batch], rows)
		}
	}
	return out
}

// atFives drops rows at a multiple of 5 s.
func atFives(x int64) bool { return x%5e9 == 0 }

func none(int64) bool { return false }

// A packed batch hands over, calls late and forces out what the same rows
// added one by one do: through draining at times that cut parts, late rows
// in a packed batch, batches small enough to wait inline, held parts written
// back when the bag is rewritten, and a full buffer (which counts a packed
// batch's rows before Unpack drops some, and forces out only rows waiting).
func TestBufferPackedMatchesRows(t *testing.T) {
	for _, c := range []struct {
		maxBuffered int
		drop        func(int64) bool
	}{{0, atFives}, {120, none}, {120, atFives}} {
		maxBuffered := c.maxBuffered
		rows, _, stRows := newTestBuffer(maxBuffered)
		packs, stPacks, _ := packedBuffer(maxBuffered, c.drop)
		var mRows, mPacks Meta
		span := func(from, n, step int64) []int64 {
			out := make([]int64, n)
			for i := range out {
				out[i] = (from + int64(i*7)%n*step) * 1e8 // out of order within the part
			}
			return out
		}
		steps := []struct {
			parts [][]int64
			drain int64 // then drain up to this time (s), if not 0
		}{
			{parts: [][]int64{span(100, 60, 1), span(0, 60, 1), span(300, 60, 2)}},
			{parts: [][]int64{span(200, 60, 1)}, drain: 15},
			{parts: [][]int64{span(140, 60, 1)}, drain: 22},      // partly late
			{parts: [][]int64{{25e9 + 1, 26e9, 23e9}}, drain: 0}, // inline
			{parts: [][]int64{span(500, 80, 1), span(450, 80, 1)}, drain: 52},
			{parts: [][]int64{span(900, 40, 1)}, drain: 0},
		}
		var gotRows, gotPacks [][]int64
		for i, s := range steps {
			lateR, forcedR, err := rows.Add(stRows, stRows, &mRows, slices.DeleteFunc(slices.Concat(s.parts...), c.drop))
			if err != nil {
				t.Fatal(err)
			}
			lateP, forcedP, err := packs.AddBatch(stPacks, stPacks, &mPacks, pack(t, s.parts...))
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(lateR)
			slices.Sort(lateP)
			if diff := gocmp.Diff([][]int64{lateR, forcedR}, [][]int64{lateP, forcedP}); diff != "" {
				t.Errorf("max %d, step %d: late and forced (-rows +packed):\n%s", maxBuffered, i, diff)
			}
			if i == 2 && len(lateP) == 0 {
				t.Error("step 2 had no late rows")
			}
			if s.drain != 0 {
				upto := mtime.FromTime(time.Unix(s.drain, 0))
				r, errR := rows.Drain(stRows, stRows, &mRows, upto)
				p, errP := packs.Drain(stPacks, stPacks, &mPacks, upto)
				if errR != nil || errP != nil {
					t.Fatal(errR, errP)
				}
				gotRows, gotPacks = append(gotRows, r), append(gotPacks, p)
			}
		}
		r, errR := rows.Drain(stRows, stRows, &mRows, mtime.MaxTimestamp)
		p, errP := packs.Drain(stPacks, stPacks, &mPacks, mtime.MaxTimestamp)
		if errR != nil || errP != nil {
			t.Fatal(errR, errP)
		}
		gotRows, gotPacks = append(gotRows, r), append(gotPacks, p)
		if diff := gocmp.Diff(gotRows, gotPacks); diff != "" {
			t.Errorf("max %d: handed over (-rows +packed):\n%s", maxBuffered, diff)
		}
		if mPacks.Buffered != 0 || len(stPacks.bags["buffer"]) != 0 {
			t.Errorf("max %d: %d rows buffered, %d bag entries after draining everything", maxBuffered, mPacks.Buffered, len(stPacks.bags["buffer"]))
		}
	}
}

// A batch run's packed batches go into the bag undecoded, and its two
// flushes decode each part once: the first decodes the parts it hands over,
// holding the later ones as they are, and the second skips the parts handed
// over.
func TestBufferPackedBatchRunDecodesOnce(t *testing.T) {
	b, st, decoded := packedBuffer(0, atFives)
	var m Meta
	const batches, parts = 20, 3
	var want []int64
	for _, ps := range batchRun(batches, parts, 80) { // more than backlogRows
		for _, rows := range ps {
			want = append(want, slices.DeleteFunc(slices.Clone(rows), atFives)...)
		}
		if _, _, err := b.AddBatch(st, st, &m, pack(t, ps...)); err != nil {
			t.Fatal(err)
		}
	}
	if *decoded != 0 {
		t.Errorf("adding decoded %d parts, want none", *decoded)
	}
	var got []int64
	for flush := 1; m.Buffered > 0; flush++ {
		if flush > 2 {
			t.Fatalf("flush %d with %d rows still buffered", flush, m.Buffered)
		}
		out, err := b.Flush(st, st, &m)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out...)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("handed over (-want +got):\n%s", diff)
	}
	if *decoded != batches*parts {
		t.Errorf("flushes decoded %d parts, want each of the %d once", *decoded, batches*parts)
	}
}

// A packed batch for a Buffer without Unpack, and damaged ones, are errors
// when they are added, small or large, never panics.
func TestBufferPackedErrors(t *testing.T) {
	large := make([]int64, 100)
	for i := range large {
		large[i] = int64(i+1) * 1e6
	}
	for _, rows := range [][]int64{{1e9, 2e9}, large} {
		b, _, st := newTestBuffer(0)
		var m Meta
		if _, _, err := b.AddBatch(st, st, &m, pack(t, rows)); err == nil {
			t.Errorf("a Buffer without Unpack took a packed batch of %d rows", len(rows))
		}
		enc := pack(t, rows)
		for name, bad := range map[string][]byte{
			"truncated":           enc[:len(enc)-3],
			"more rows than it":   encodePacked(1<<40, 1e6, 1e8, 1, enc[6:]),
			"a part's rows wrong": encodePacked(int64(len(rows)), int64(rows[0]), slices.Max(rows), 1, appendPart(nil, rows[0], slices.Max(rows), -5, []byte{1})),
			"a part out of range": encodePacked(int64(len(rows)), int64(rows[0]), slices.Max(rows), 1, appendPart(nil, 0, slices.Max(rows), int64(len(rows)), make([]byte, 200))),
			"rows not adding up":  encodePacked(int64(len(rows))+1, int64(rows[0]), slices.Max(rows), 1, appendPart(nil, rows[0], slices.Max(rows), int64(len(rows)), make([]byte, 200))),
		} {
			pb, pst, _ := packedBuffer(0, none)
			var pm Meta
			if _, _, err := pb.AddBatch(pst, pst, &pm, bad); err == nil {
				t.Errorf("%d rows: AddBatch took a packed batch with %s", len(rows), name)
			}
		}
	}
}

// A few rows waiting, as on a stream: a flush holding parts undecoded aims
// the next one at the earliest held part's latest row, not the buffer's
// latest.
func TestBufferPackedFewRowsFlushSoon(t *testing.T) {
	b, st, _ := packedBuffer(0, none)
	var m Meta
	span := func(from, to int64) []int64 {
		var out []int64
		for x := from; x <= to; x++ {
			out = append(out, x*1e9)
		}
		return out
	}
	for _, parts := range [][][]int64{{span(1, 50)}, {span(60, 110)}, {span(300, 350)}} {
		if _, _, err := b.AddBatch(st, st, &m, pack(t, parts...)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := b.Flush(st, st, &m)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 50 {
		t.Fatalf("first flush handed over %d rows, want the first batch's 50", len(out))
	}
	if want := mtime.FromTime(time.Unix(110, 0)); m.Target != want {
		t.Errorf("next flush at %v, want %v (the end of the next part)", m.Target, want)
	}
}

// A damaged packed batch is an error when added or when drained, never a
// panic or a runaway allocation.
func FuzzBufferPacked(f *testing.F) {
	rows := make([]int64, 60)
	for i := range rows {
		rows[i] = int64(i+1) * 1e6
	}
	f.Add(pack(f, rows[:2]))
	f.Add(pack(f, rows[:30], rows[30:]))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, st, _ := packedBuffer(0, none)
		var m Meta
		if _, _, err := b.AddBatch(st, st, &m, data); err != nil {
			return
		}
		_, _ = b.Drain(st, st, &m, mtime.MaxTimestamp)
	})
}

// A flush decoding its parts on several goroutines hands over what one
// decoding them in turn does: in order, rows Unpack drops left out, and rows
// of a part handed over in part before (the frontier cuts into it) dropped
// from the first part decoded, so the later parts' rows are moved up. Parts
// holding more rows than their headers count are an error.
func TestBufferPackedConcurrentUnpack(t *testing.T) {
	var input [][]byte
	for _, ps := range batchRun(30, 4, 200) { // more than minConcurrentRows rows
		input = append(input, pack(t, ps...))
	}
	run := func(workers int, unpack func([]byte, func(int64)) error) ([][]int64, error) {
		b, st, _ := packedBuffer(0, atFives)
		if unpack != nil {
			b.Unpack = unpack
		}
		b.UnpackWorkers = workers
		var m Meta
		for _, batch := range input {
			if _, _, err := b.AddBatch(st, st, &m, batch); err != nil {
				return nil, err
			}
		}
		// Into the second part: the bag is kept, that part with it.
		first, err := b.Drain(st, st, &m, mtime.FromTime(time.Unix(3, 5e6)))
		if err != nil {
			return nil, err
		}
		out := [][]int64{first}
		for m.Buffered > 0 {
			rows, err := b.Flush(st, st, &m)
			if err != nil {
				return nil, err
			}
			out = append(out, rows)
		}
		return out, nil
	}
	want, err := run(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 2 || len(want[1]) < minConcurrentRows {
		t.Fatalf("the flush after the drain handed over %d rows, want at least %d", len(want[1]), minConcurrentRows)
	}
	for _, workers := range []int{2, 3, 4} {
		// The first part after the drain's (they end at 8 s) waits for a
		// second one to be decoded alongside.
		var inFlight atomic.Int32
		var overlapped atomic.Bool
		var first sync.Once
		got, err := run(workers, func(part []byte, f func(int64)) error {
			if inFlight.Add(1) > 1 {
				overlapped.Store(true)
			}
			defer inFlight.Add(-1)
			if padded.Read(wire.NewReader(part)) >= 8e9 {
				first.Do(func() {
					for deadline := time.Now().Add(5 * time.Second); !overlapped.Load() && time.Now().Before(deadline); {
						time.Sleep(time.Millisecond)
					}
				})
			}
			return unpackPadded(part, atFives, f)
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("%d workers: handed over (-one goroutine +several):\n%s", workers, diff)
		}
		if !overlapped.Load() {
			t.Errorf("%d workers: no two parts were decoded at once", workers)
		}
	}
	_, err = run(2, func(part []byte, f func(int64)) error {
		return unpackPadded(part, none, func(x int64) { f(x); f(x) })
	})
	if err == nil {
		t.Error("parts decoding to twice the rows their headers count: no error")
	}
}

// concurrently calls f once for each index, in order within a goroutine's
// run, on at most w goroutines, whatever the weights; an error stops its
// run and is returned.
func TestConcurrently(t *testing.T) {
	for _, c := range []struct {
		name    string
		weights []int
		w       int
	}{
		{"even", []int{5, 5, 5, 5, 5, 5}, 3},
		{"one heavy", []int{1, 100, 1, 1}, 2},
		{"all zero", []int{0, 0, 0, 0, 0}, 4},
		{"more workers than parts", []int{3, 3}, 4},
	} {
		var mu sync.Mutex
		var calls []int
		var inFlight, most atomic.Int32
		err := concurrently(len(c.weights), c.w, func(i int) int { return c.weights[i] }, func(i int) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			mu.Lock()
			calls = append(calls, i)
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(calls)
		want := make([]int, len(c.weights))
		for i := range want {
			want[i] = i
		}
		if diff := gocmp.Diff(want, calls); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", c.name, diff)
		}
		if m := int(most.Load()); m > c.w {
			t.Errorf("%s: %d calls at once, want at most %d", c.name, m, c.w)
		}
	}
	boom := errors.New("boom")
	var after atomic.Bool
	err := concurrently(6, 1, func(int) int { return 1 }, func(i int) error {
		if i > 3 {
			after.Store(true)
		}
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || after.Load() {
		t.Errorf("error at 3 of one run: got %v, later calls %v", err, after.Load())
	}
}

// TestPackerBounds: a key's packed batch leaves once it reaches
// MaxPackedKeyBytes, every batch once the parts held reach MaxPackedBytes,
// and each batch holds its parts as they came, in order.
func TestPackerBounds(t *testing.T) {
	const partBytes = 1 << 20
	var p Packer
	emitted := map[string][]int{} // per key, the parts of each batch emitted
	emit := func(_ mtime.Time, key string, b []byte) {
		n := 0
		if _, err := EachPart(b, func(part []byte) error {
			if len(part) != partBytes || part[0] != byte(n) {
				t.Errorf("key %s: part %d of %d bytes starting %d, want %d bytes starting %d", key, n, len(part), part[0], partBytes, n)
			}
			n++
			return nil
		}); err != nil {
			t.Fatalf("key %s: %v", key, err)
		}
		emitted[key] = append(emitted[key], n)
	}
	add := func(key string, i int) {
		part := make([]byte, partBytes)
		part[0] = byte(i)
		p.Add(key, part, 1, time.Unix(int64(i), 0), time.Unix(int64(i), 0), emit)
	}
	perKey := MaxPackedKeyBytes / partBytes // a batch of perKey parts is a little over the bound
	add("b", 0)
	for i := range perKey {
		add("a", i)
	}
	if diff := gocmp.Diff(map[string][]int{"a": {perKey}}, emitted); diff != "" {
		t.Fatalf("after %d parts of key a (-want +got):\n%s", perKey, diff)
	}
	// Keys of a part each, until the Packer holds MaxPackedBytes.
	keys := MaxPackedBytes/partBytes - 1 // with b's part
	for i := range keys {
		add(fmt.Sprintf("k%03d", i), 0)
	}
	if len(emitted) != 2+keys || !slices.Equal(emitted["b"], []int{1}) {
		t.Fatalf("after %d bytes held: %d keys emitted (b: %v), want %d, b's one part", MaxPackedBytes, len(emitted), emitted["b"], 2+keys)
	}
	p.Flush(emit)
	if len(emitted) != 2+keys || len(emitted["a"]) != 1 {
		t.Errorf("Flush of an empty Packer emitted: %v", emitted)
	}
}
