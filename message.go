package tickbeam

import (
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Message is one raw payload as a transport delivered it: a Pub/Sub message,
// a line of a file. Attributes carry what the transport knows beside the
// payload (Pub/Sub attributes such as format and source).
type Message struct {
	ID          string
	Payload     []byte
	Attributes  map[string]string
	PublishTime time.Time
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(Message{}), encodeMessage, decodeMessage)
}

func encodeMessage(m Message) ([]byte, error) {
	b := make([]byte, 0, 32+len(m.Payload))
	b = wire.AppendString(b, m.ID)
	b = wire.AppendBytes(b, m.Payload)
	b = wire.AppendTime(b, m.PublishTime)
	keys := make([]string, 0, len(m.Attributes))
	for k := range m.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic bytes for equal messages
	b = wire.AppendInt(b, int64(len(keys)))
	for _, k := range keys {
		b = wire.AppendString(b, k)
		b = wire.AppendString(b, m.Attributes[k])
	}
	return b, nil
}

func decodeMessage(b []byte) (Message, error) {
	r := wire.NewReader(b)
	m := Message{ID: r.String(), Payload: r.Bytes(), PublishTime: r.Time()}
	n := r.Int()
	if n < 0 || n > int64(len(b)) {
		return Message{}, fmt.Errorf("decode Message: bad attribute count %d", n)
	}
	if n > 0 {
		m.Attributes = make(map[string]string, n)
	}
	for i := int64(0); i < n && r.Err() == nil; i++ {
		k := r.String()
		m.Attributes[k] = r.String()
	}
	if err := r.Err(); err != nil {
		return Message{}, fmt.Errorf("decode Message: %w", err)
	}
	return m, nil
}
