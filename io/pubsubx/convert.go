package pubsubx

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/tickbeam/tickbeam"
)

// toMessage converts a Pub/Sub message into the element Read emits.
func toMessage(m *pubsubpb.PubsubMessage) tickbeam.Message {
	out := tickbeam.Message{ID: m.GetMessageId(), Payload: m.GetData()}
	if len(m.GetAttributes()) > 0 {
		out.Attributes = maps.Clone(m.GetAttributes())
	}
	if pt := m.GetPublishTime(); pt != nil {
		out.PublishTime = pt.AsTime().UTC()
	}
	return out
}

// eventTime is the element timestamp of m: the value of attr when attr is
// set and present on m, else the publish time. ok is false when the
// attribute is present but not a timestamp; the publish time is used then.
func eventTime(m tickbeam.Message, attr string) (t time.Time, ok bool) {
	if attr != "" {
		if v, present := m.Attributes[attr]; present {
			ts, err := ParseTimestamp(v)
			if err == nil {
				return ts, true
			}
			return m.PublishTime, false
		}
	}
	return m.PublishTime, true
}

// ParseTimestamp parses a timestamp attribute as Beam's Pub/Sub I/O does
// (Java and Dataflow): milliseconds since the Unix epoch, or RFC 3339.
func ParseTimestamp(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Beyond ±292 years a millisecond count is surely not a timestamp.
		const limit = 1e13
		if ms > limit || ms < -limit {
			return time.Time{}, fmt.Errorf("timestamp %q: %d ms since the epoch is out of range", v, ms)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is neither Unix milliseconds nor RFC 3339", v)
	}
	return t.UTC(), nil
}
