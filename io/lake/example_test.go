package lake_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/tickbeam/tickbeam/io/lake"
)

type trade struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
}

func init() {
	beam.RegisterType(reflect.TypeOf(trade{}))
}

func Example() {
	dir, err := os.MkdirTemp("", "lake-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	p, s := beam.NewPipelineWithRoot()
	trades := beam.Create(s, trade{"ETHUSDT", 3120.5}, trade{"BTCUSDT", 97001.25})
	// Streaming jobs pass windowed rows; Options.Window re-windows batch ones.
	lake.Write(s, dir, trades, lake.Options{Name: "trades"}) // or "gs://bucket/raw"
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		fmt.Printf("%s\n%s", filepath.Base(f), b)
	}
	// Output:
	// trades-global-ontime-0-00-of-01.jsonl
	// {"symbol":"BTCUSDT","price":97001.25}
	// {"symbol":"ETHUSDT","price":3120.5}
}
