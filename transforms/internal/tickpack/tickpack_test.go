package tickpack

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func trade(sym string, sec int, id string, price float64) tickbeam.Tick {
	at := time.Date(2026, 1, 5, 10, 0, sec, 0, time.UTC)
	return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: at, IngestTime: at, Price: price, Size: 1,
		Side: tickbeam.Buy, TradeID: id, Source: "test"}
}

// Batches of one symbol are packed per symbol and read back as they came;
// a batch mixing symbols is left to the caller; keep drops a symbol's.
func TestAddEach(t *testing.T) {
	a1 := []tickbeam.Tick{trade("A", 1, "1", 10), trade("A", 2, "2", 10.5)}
	a2 := []tickbeam.Tick{trade("A", 3, "3", 11)}
	b1 := []tickbeam.Tick{trade("B", 1, "7", 20)}
	mixed := []tickbeam.Tick{trade("A", 4, "4", 12), trade("B", 4, "8", 21)}
	c1 := []tickbeam.Tick{trade("C", 1, "9", 30)}

	var p reorder.Packer
	got := map[string][]byte{}
	emit := func(_ mtime.Time, key string, b []byte) { got[key] = b }
	keep := func(sym string) bool { return sym != "C" }
	for _, c := range []struct {
		ticks []tickbeam.Tick
		took  bool
	}{{a1, true}, {b1, true}, {a2, true}, {mixed, false}, {c1, true}} {
		took, err := Add(&p, dedupe.Batch{Ticks: c.ticks}, keep, emit)
		if err != nil || took != c.took {
			t.Fatalf("Add(%v) = %v, %v; want %v", c.ticks, took, err, c.took)
		}
	}
	p.Flush(emit)
	if _, ok := got["C"]; ok {
		t.Error("a symbol keep rejects was packed")
	}
	for key, want := range map[string][][]tickbeam.Tick{"A": {a1, a2}, "B": {b1}} {
		var read [][]tickbeam.Tick
		packed, err := Each(got[key], func(b dedupe.Batch) error {
			ts, err := b.All()
			read = append(read, ts)
			return err
		})
		if !packed || err != nil {
			t.Fatalf("%s: Each = %v, %v", key, packed, err)
		}
		if diff := cmp.Diff(want, read); diff != "" {
			t.Errorf("%s: batches (-want +got):\n%s", key, diff)
		}
	}
	if packed, err := Each([]byte{2, 0}, func(dedupe.Batch) error { return nil }); packed || err != nil {
		t.Errorf("Each of a batch not packed = %v, %v; want false, nil", packed, err)
	}
}
