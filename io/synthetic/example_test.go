package synthetic_test

import (
	"fmt"
	"log"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/synthetic"
)

// The first ticks of a seeded feed are always the same.
func ExampleGenerator() {
	g, err := synthetic.NewGenerator(synthetic.Config{
		Symbols: []string{"AAPL", "MSFT"},
		Rate:    200,
		Seed:    7,
		Start:   time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		t, _ := g.Next()
		fmt.Println(t)
	}
	// Output:
	// synthetic AAPL TRADE 2024-01-02T14:30:00Z 274.51 x 39 SELL id=1
	// synthetic MSFT TRADE 2024-01-02T14:30:00.005Z 20.41 x 57 SELL id=1
	// synthetic AAPL TRADE 2024-01-02T14:30:00.01Z 274.51 x 80 SELL id=2
}

// A feed on the command line is a URI.
func ExampleParseURI() {
	cfg, err := synthetic.ParseURI("synthetic:?symbols=AAPL,MSFT&rate=200&seed=7&count=1000&paced=false")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Symbols, cfg.Rate, cfg.Seed, cfg.Count, cfg.Paced)
	// Output:
	// [AAPL MSFT] 200 7 1000 false
}

func init() { register.Function1x1(symbolOf) }

func symbolOf(t tickbeam.Tick) string { return t.Symbol }

// A pipeline counting ticks per symbol in 1-minute event-time windows of a
// live (paced) feed. Not run here: the feed never ends.
func ExampleTicks() {
	cfg, err := synthetic.ParseURI("synthetic:?symbols=AAPL,MSFT&rate=200&seed=7")
	if err != nil {
		log.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	ticks := synthetic.Ticks(s, cfg)
	windowed := beam.WindowInto(s, window.NewFixedWindows(time.Minute), ticks)
	symbols := beam.ParDo(s, symbolOf, windowed)
	_ = stats.Count(s, symbols) // KV<symbol, ticks in the minute>
	_ = p                       // beamx.Run(ctx, p) runs it on prism
}
