package lake

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// A bundle's rows leave in one batch per (shard, window), timestamped at the
// batch's earliest row, and a bundle holding maxBatchBytes emits what it
// holds at once: every row leaves exactly once, with its shard and window.
func TestBatchShardFnPacksPerShardAndWindow(t *testing.T) {
	fn := &batchShardFn{Shards: 3, Window: time.Minute, Sink: "batch-test", Prefix: "/tmp/x"}
	fn.Setup()
	type got struct {
		ts    mtime.Time
		shard int
		rows  []string
	}
	var batches []got
	var crossed, raw int
	emit := func(ts mtime.Time, shard int, b []byte) {
		g := got{ts: ts, shard: shard}
		if b[0] != zstdBatch {
			t.Errorf("batch in format %d, want compressed (%d)", b[0], zstdBatch)
		}
		rows, err := appendRows(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			g.rows = append(g.rows, string(r))
			raw += len(r)
		}
		crossed += len(b)
		batches = append(batches, g)
	}
	pad := strings.Repeat("x", maxBatchBytes/8) // 9 rows fill a bundle's batches
	fn.StartBundle(context.Background(), emit)
	want := map[string]mtime.Time{} // row -> its timestamp
	for i := range 20 {
		ts := mtime.Time(int64(i%4)*45_000 - 60_000) // -60s..75s: windows [-1m,0), [0,1m), [1m,2m)
		row := map[string]any{"i": i, "pad": pad}
		b, _ := json.Marshal(row)
		want[string(b)] = ts
		if err := fn.ProcessElement(context.Background(), ts, row, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := fn.FinishBundle(context.Background(), emit); err != nil {
		t.Fatal(err)
	}
	if crossed*10 > raw {
		t.Errorf("batches of %d bytes of rows crossed as %d bytes, want compressed", raw, crossed)
	}

	seen := map[string]int{}
	flushed := 0
	for _, b := range batches {
		var first mtime.Time = mtime.MaxTimestamp
		for _, r := range b.rows {
			seen[r]++
			ts := want[r]
			first = min(first, ts)
			if _, shard, _ := encodeRow(json.RawMessage(r), 3); shard != b.shard {
				t.Errorf("row in shard %d's batch belongs to shard %d", b.shard, shard)
			}
			if start := ts.ToTime().Truncate(time.Minute); !start.Equal(b.ts.ToTime().Truncate(time.Minute)) {
				t.Errorf("batch at %v holds a row of the window at %v", b.ts.ToTime(), start)
			}
		}
		if b.ts != first {
			t.Errorf("batch timestamped %v, want its earliest row %v", b.ts, first)
		}
		flushed += len(b.rows)
	}
	if len(seen) != len(want) || flushed != len(want) {
		t.Errorf("%d distinct rows in %d emitted, want each of %d once", len(seen), flushed, len(want))
	}
	if len(batches) <= 3*3 {
		t.Errorf("%d batches: the bundle never emitted early at maxBatchBytes", len(batches))
	}
	if diff := cmp.Diff(0, fn.held); diff != "" {
		t.Errorf("bytes held after FinishBundle (-want +got):\n%s", diff)
	}
}

// Batches in a format writeFn does not know, or cut short, are errors, not
// files with rows missing.
func TestAppendRowsRefusesBadBatches(t *testing.T) {
	good := wire.AppendBytes([]byte{plainBatch}, []byte(`{"a":1}`))
	rows, err := appendRows(nil, good)
	if err != nil || len(rows) != 1 || string(rows[0]) != `{"a":1}` {
		t.Fatalf("appendRows(plain batch) = %q, %v", rows, err)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"unknown format": append([]byte{7}, good[1:]...),
		"cut short":      good[:len(good)-2],
		"bad zstd":       {zstdBatch, 0xff, 0xff},
	} {
		if _, err := appendRows(nil, b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
