package dedupe

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

func init() {
	register.Function1x1(tickLine)
	register.Function1x1(deadLine)
}

func deadLine(d tickbeam.DeadLetter) string {
	return d.Stage + " " + d.PayloadString + ": " + d.ErrorMessage
}

// tickLine is what a tick says apart from its ingest time, which differs
// between two parses of one line.
func tickLine(t tickbeam.Tick) string {
	return fmt.Sprintf("%s %s %s %v %v %s %d", t.Source, t.Symbol, t.TradeID, t.Price, t.Size, t.Side, t.EventTime.UnixNano())
}

// Blocks gives the ticks, dead letters and counters that parse.Lines and
// Ticks give for the same lines: copies within a block, across blocks, with
// ids ascending or not.
func TestBlocksAsLinesThenTicks(t *testing.T) {
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC).UnixMilli()
	line := func(i, id int) string {
		return fmt.Sprintf(`{"e":"trade","E":1,"s":"S%d","t":%d,"p":"%d.25","q":"0.5","T":%d,"m":%v}`, i%5, id, 100+i%13, base+int64(i)*700, i%2 == 0)
	}
	var lines []string
	for i := range 800 {
		switch {
		case i%41 == 5:
			lines = append(lines, `{"e":"trade","s":"BAD`) // a parse dead letter
		case i%37 == 7:
			lines = append(lines, line(i-3, i-3)) // a copy, often in the same block
		case i%97 == 50:
			lines = append(lines, line(i-60, i-60)) // a copy of a tick blocks before
		case i%89 == 3:
			lines = append(lines, line(i, 5000-i)) // an id out of order
		default:
			lines = append(lines, line(i, i))
		}
	}
	var blocks [][]byte
	for i, n := 0, 3; i < len(lines); i, n = i+n, n*2%61+1 {
		blocks = append(blocks, []byte(strings.Join(lines[i:min(i+n, len(lines))], "\n")+"\n"))
	}
	cfg := parse.Config{Format: "binance", Options: feedformat.Options{Source: "spot"}}

	p, s := beam.NewPipelineWithRoot()
	wantTicks, wantDead := parse.Lines(s, beam.CreateList(s, lines), cfg)
	want := Ticks(s, wantTicks, Options{Window: time.Minute})
	batches, dead := Blocks(s, beam.CreateList(s, blocks), cfg, Options{Window: time.Minute})
	got := Unbatch(s, batches)
	global := func(c beam.PCollection) beam.PCollection {
		return beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, tickLine, c))
	}
	passert.Equals(s, global(got), global(want))
	passert.Equals(s, beam.ParDo(s, deadLine, dead), beam.ParDo(s, deadLine, wantDead))
	r := ptest.RunAndValidate(t, p)
	// Each counter counts both pipelines.
	if dupes := beamtest.Counter(t, r, "tickbeam/dedupe", "duplicates"); dupes == 0 || dupes%2 != 0 {
		t.Errorf("duplicates counter = %d, want twice a positive count", dupes)
	}
	if ticks, msgs := beamtest.Counter(t, r, "tickbeam/parse", "ticks"), beamtest.Counter(t, r, "tickbeam/parse", "messages"); msgs != 2*int64(len(lines)) || ticks >= msgs {
		t.Errorf("parse counters: %d messages, %d ticks; want %d messages, some dead", msgs, ticks, 2*len(lines))
	}
}

func TestTryBlocksRefuses(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	blocks := beam.CreateList(s, [][]byte{[]byte("x\n")})
	if _, _, err := TryBlocks(s, blocks, parse.Config{}, Options{}); err == nil {
		t.Error("a Config without a Format was taken")
	}
	if _, _, err := TryBlocks(s, blocks, parse.Config{Format: "binance"}, Options{Window: -time.Second}); err == nil {
		t.Error("a negative Window was taken")
	}
}
