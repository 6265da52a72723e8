package lines_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/tickbeam/tickbeam/io/lines"
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
