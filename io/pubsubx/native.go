package pubsubx

import (
	"fmt"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/protox"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/reflectx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"google.golang.org/protobuf/proto"
)

func init() {
	register.Function2x2[beam.EventTime, []byte, tickbeam.Message, error](fromNative)
}

// ReadURN is the URN of Beam's Pub/Sub read, which Dataflow implements.
const ReadURN = "beam:transform:pubsub_read:v1"

// readNative is Beam's pubsubio.Read with attributes, built from the same
// URN and payload: pubsubio.Read takes the project and subscription id apart
// and emits the genproto types of the deprecated v1 client, which this
// module does not otherwise need. Dataflow sets each element's timestamp
// (from TimestampAttribute or the publish time) and dedupes on IDAttribute.
func readNative(s beam.Scope, opts ReadOptions) beam.PCollection {
	payload := &pipepb.PubSubReadPayload{
		Subscription:       opts.Subscription,
		TimestampAttribute: opts.TimestampAttribute,
		IdAttribute:        opts.IDAttribute,
		WithAttributes:     true,
	}
	out := beam.External(s, ReadURN, protox.MustEncode(payload), nil,
		[]beam.FullType{typex.New(reflectx.ByteSlice)}, false)
	return beam.ParDo(s, fromNative, out[0])
}

// fromNative decodes a PubsubMessage as Dataflow serializes it. Dataflow may
// leave out the message id and publish time; the element's timestamp stands
// in for a missing publish time.
func fromNative(ts beam.EventTime, b []byte) (tickbeam.Message, error) {
	var pm pubsubpb.PubsubMessage
	if err := proto.Unmarshal(b, &pm); err != nil {
		return tickbeam.Message{}, fmt.Errorf("pubsubx: decode a Pub/Sub message from Dataflow (%d bytes): %w", len(b), err)
	}
	m := toMessage(&pm)
	if m.PublishTime.IsZero() {
		m.PublishTime = ts.ToTime().UTC()
	}
	return m, nil
}
