package reorder

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/internal/wire"
)

var nanos = Codec[int64]{Append: wire.AppendInt, Read: (*wire.Reader).Int}

func TestCodecRoundTrip(t *testing.T) {
	for _, rows := range [][]int64{nil, {1}, {5, -3, 1 << 62}} {
		got, err := nanos.Decode(nil, nanos.Encode(rows))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rows, got, cmp.Comparer(func(a, b []int64) bool { return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b)) })); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
	if _, err := nanos.Decode(nil, []byte{0x7f}); err == nil {
		t.Error("a truncated batch decoded")
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
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for i := 0; i < MaxBatched; i++ {
		b.Add("C", int64(i), emit)
	}
	if n := len(got["C"]); n != 1 || len(got["C"][0].Rows) != MaxBatched {
		t.Errorf("a full batcher emitted %d batches, want 1 of %d rows", n, MaxBatched)
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
