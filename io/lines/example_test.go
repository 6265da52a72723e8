package lines_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

func init() {
	register.Function1x0(printLines)
}

func printLines(n int) { fmt.Println("read", n, "lines") }

func Example() {
	dir, err := os.MkdirTemp("", "lines-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte("{\"p\":1}\n\n{\"p\":2}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.jsonl"), []byte("{\"p\":3}\r\n"), 0o644)

	p, s := beam.NewPipelineWithRoot()
	// Also gs://bucket/raw/2026-01-15/*.jsonl.gz.
	ls, oversized := lines.Read(s, filepath.Join(dir, "*.jsonl"), lines.MaxLineBytes(64<<10))
	beam.ParDo0(s, printLines, stats.CountElms(s, ls))
	_ = oversized // a dead-letter sink would take these
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	// Output: read 3 lines
}

func printTicks(n int) { fmt.Println("parsed", n, "ticks") }

func init() { register.Function1x0(printTicks) }

// ReadBlocks with parse.Blocks reads and parses a file's trades on every
// core: the same ticks and dead letters as Read with parse.Lines.
func ExampleReadBlocks() {
	dir, err := os.MkdirTemp("", "lines-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	now := time.Now().UnixMilli()
	var trades strings.Builder
	for i := range 3 {
		fmt.Fprintf(&trades, `{"e":"trade","s":"BTCUSDT","t":%d,"p":"97000.5","q":"0.01","T":%d,"m":false}`+"\n", i+1, now)
	}
	os.WriteFile(filepath.Join(dir, "trades.jsonl"), []byte(trades.String()), 0o644)

	p, s := beam.NewPipelineWithRoot()
	blocks, oversized := lines.ReadBlocks(s, filepath.Join(dir, "*.jsonl"))
	ticks, dead := parse.Blocks(s, blocks, parse.Config{Format: "binance"})
	beam.ParDo0(s, printTicks, stats.CountElms(s, ticks))
	_, _ = oversized, dead // dead-letter sinks would take these
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	// Output: parsed 3 ticks
}
