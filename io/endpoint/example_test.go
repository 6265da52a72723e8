package endpoint_test

import (
	"fmt"

	"github.com/tickbeam/tickbeam/io/endpoint"
)

// Each setting is parsed once; what uses it switches on its Kind.
func Example() {
	for _, uri := range []string{"trades/*.jsonl", "synthetic:?symbols=AAA,BBB&rate=10", "pubsub:projects/my-project/subscriptions/trades", "bq:my-project.d.positions"} {
		in, err := endpoint.ParseInput(uri)
		if err != nil {
			fmt.Println(err)
			continue
		}
		switch in.Kind {
		case endpoint.SyntheticInput:
			fmt.Println(in.Kind, in.Synthetic.Symbols, in.Synthetic.Rate)
		case endpoint.PubSubInput:
			fmt.Println(in.Kind, in.Subscription)
		case endpoint.TableInput:
			fmt.Println(in.Kind, in.Table)
		default:
			fmt.Println(in.Kind, in.URI)
		}
	}
	for _, uri := range []string{"", "out", "gs://bucket/bars", "bq:my-project.d.bars", "pubsub:projects/my-project/topics/bars"} {
		out, err := endpoint.ParseOutput(uri)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s remote=%v %q\n", out.Kind, out.Remote(), out.URI)
	}
	// Output:
	// file trades/*.jsonl
	// synthetic [AAA BBB] 10
	// pubsub projects/my-project/subscriptions/trades
	// table my-project.d.positions
	// none remote=false ""
	// file remote=false "out"
	// file remote=true "gs://bucket/bars"
	// table remote=true "bq:my-project.d.bars"
	// topic remote=true "pubsub:projects/my-project/topics/bars"
}
