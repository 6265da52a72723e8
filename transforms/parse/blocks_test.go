package parse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
)

// TestBlocksInOrder checks that blocksFn, parsing blocks ahead on other
// goroutines, emits what linesFn emits for the same lines, in the same order,
// with the same counts, whether blocks go ahead (global window) or not.
func TestBlocksInOrder(t *testing.T) {
	now := time.Now().UnixMilli()
	var lines []string
	for i := range 600 {
		switch {
		case i%17 == 5:
			lines = append(lines, `{"e":"trade","s":"BAD`) // a parse dead letter
		case i%23 == 7:
			lines = append(lines, " ") // blank
		default:
			lines = append(lines, fmt.Sprintf(`{"e":"trade","E":1,"s":"S%d","t":%d,"p":"%d.5","q":"1","T":%d,"m":false}`, i%7, i, 100+i%13, now-int64(600-i)))
		}
	}
	cfg := Config{Format: "binance", Options: feedformat.Options{Source: "spot"}}

	type out struct {
		Ticks []string
		Dead  []string
		N     counts
	}
	record := func(o *out) (func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter)) {
		return func(ts beam.EventTime, tk tickbeam.Tick) {
				o.Ticks = append(o.Ticks, fmt.Sprintf("%s %s %v %v stamp-ok=%v", tk.Symbol, tk.TradeID, tk.Price, tk.EventTime.UnixMilli(), ts == mtime.FromTime(tk.EventTime)))
			}, func(d tickbeam.DeadLetter) {
				o.Dead = append(o.Dead, d.PayloadString+": "+d.ErrorMessage)
			}
	}

	var want out
	lf := &linesFn{parseFn{Config: cfg}}
	lf.Setup()
	emit, dead := record(&want)
	for _, l := range lines {
		lf.ProcessElement(context.Background(), l, emit, dead)
	}
	want.N = lf.n

	// Blocks of 1 to 9 lines.
	var blocks [][]byte
	for i, n := 0, 1; i < len(lines); i, n = i+n, n%9+1 {
		blocks = append(blocks, []byte(strings.Join(lines[i:min(i+n, len(lines))], "\n")+"\n"))
	}
	for _, tc := range []struct {
		name  string
		w     beam.Window
		ahead int
	}{
		{"global, 1 ahead", window.SingleGlobalWindow[0], 1},
		{"global, 4 ahead", window.SingleGlobalWindow[0], 4},
		{"interval window: in turn", window.IntervalWindow{Start: 0, End: mtime.MaxTimestamp}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bf := &blocksFn{BlockQueue{Config: cfg, Ahead: tc.ahead}}
			bf.Setup()
			var got out
			emit, dead := record(&got)
			for bundle := range 2 { // a second bundle reuses the idle jobs
				got = out{}
				bf.StartBundle(context.Background(), emit, dead)
				for _, b := range blocks {
					if err := bf.ProcessElement(context.Background(), tc.w, b, emit, dead); err != nil {
						t.Fatal(err)
					}
					if len(bf.inflight) > tc.ahead {
						t.Fatalf("%d blocks in flight, want at most %d", len(bf.inflight), tc.ahead)
					}
				}
				// What FinishBundle does, but the counts are read before it
				// reports (and zeroes) them.
				for len(bf.inflight) > 0 {
					if err := bf.handOldest(emitter(emit, dead)); err != nil {
						t.Fatal(err)
					}
				}
				got.N = bf.n
				if err := bf.FinishBundle(context.Background(), emit, dead); err != nil {
					t.Fatal(err)
				}
				if bf.n != (counts{}) {
					t.Errorf("bundle %d: counts %+v left after FinishBundle", bundle, bf.n)
				}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(counts{})); diff != "" {
					t.Errorf("bundle %d: blocks differ from lines (-lines +blocks):\n%s", bundle, diff)
				}
			}
		})
	}
	if want.N.ticks == 0 || want.N.dead == 0 || want.N.blank == 0 {
		t.Fatalf("the input should hold ticks, dead letters and blank lines: %+v", want.N)
	}
}
