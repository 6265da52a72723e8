package pubsubx_test

import (
	"context"
	"log"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/runners"
)

func init() { register.Function1x1(sourceOf) }

// sourceOf keys a message by its source attribute.
func sourceOf(m tickbeam.Message) string { return m.Attributes["source"] }

// Count the messages of a subscription per minute of event time, on prism
// (against the emulator when PUBSUB_EMULATOR_HOST is set), and publish the
// raw messages to another topic as they come.
func Example() {
	runner := "prism" // or "dataflow", with Beam's --project, --region, ... flags
	p, s := beam.NewPipelineWithRoot()
	msgs := pubsubx.Read(s, pubsubx.ReadOptions{
		Subscription:       "projects/my-project/subscriptions/ticks",
		TimestampAttribute: "ts",
		IDAttribute:        "id",
		Native:             !runners.IsLocal(runner),
	})
	perMinute := beam.WindowInto(s, window.NewFixedWindows(time.Minute), msgs)
	_ = stats.Count(s, beam.ParDo(s, sourceOf, perMinute))
	pubsubx.Write(s, "projects/my-project/topics/ticks-copy", msgs, pubsubx.WriteOptions{IDAttribute: "id"})

	if _, err := runners.Run(context.Background(), p, runners.Options{Runner: runner, Duration: time.Minute}); err != nil {
		log.Fatal(err)
	}
}

// Publish lines of a feed with their format and source, as `tickbeam feed`
// does.
func ExamplePublisher() {
	ctx := context.Background()
	const topic = "projects/my-project/topics/raw"
	if err := pubsubx.CreateTopic(ctx, topic); err != nil {
		log.Fatal(err)
	}
	pub, err := pubsubx.NewPublisher(ctx, topic, pubsubx.PublisherOptions{})
	if err != nil {
		log.Fatal(err)
	}
	attrs := map[string]string{"format": "binance", "source": "binance-ws"}
	for _, line := range []string{`{"e":"trade","s":"BTCUSDT","t":1,"p":"65000.1","q":"0.01","T":1700000000000,"m":false}`} {
		if err := pub.Publish(ctx, []byte(line), attrs); err != nil {
			log.Fatal(err)
		}
	}
	if err := pub.Close(ctx); err != nil { // waits for Pub/Sub to accept all
		log.Fatal(err)
	}
	log.Printf("published %d", pub.Published())
}
