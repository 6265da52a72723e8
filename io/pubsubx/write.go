package pubsubx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"google.golang.org/protobuf/proto"
)

func init() {
	register.DoFn3x1[context.Context, beam.T, func(string), error](&writeFn{})
	register.Emitter1[string]()
}

var publishedCounter = beam.NewCounter(Namespace, "published")

// MaxRequestBytes is Pub/Sub's limit on a publish request (10 MB), which
// bounds a single message: its data and attributes, encoded, plus the topic.
const MaxRequestBytes = pubsub.MaxPublishRequestBytes

// Defaults of WriteOptions.
const (
	DefaultWriteMaxBatch     = 100
	DefaultWriteMaxBatchWait = 10 * time.Millisecond
)

// maxInFlight bounds the publish results a bundle holds: past it, the
// oldest are awaited before publishing more.
const maxInFlight = 2000

// WriteOptions configure Write. Zero values take the defaults.
type WriteOptions struct {
	// Attributes are added to every message. Attributes derived from the
	// row, and a Message's own, take precedence over them.
	Attributes map[string]string
	// IDAttribute, if set, gives every message a deterministic id under
	// this attribute: the alert_id of rows that have one, else a hash of the
	// payload (a Message keeps its own value, or uses its ID). A reader
	// with the same ReadOptions.IDAttribute (or Dataflow's id attribute)
	// drops the copies a retried bundle publishes again.
	IDAttribute string
	// A publish request holds at most MaxBatch messages, sent at the
	// latest MaxBatchWait after the first.
	MaxBatch     int
	MaxBatchWait time.Duration
}

// Validate reports what is wrong with topic and o, or nil: a topic
// ParseTopic refuses, invalid Attributes, an IDAttribute longer than a
// Pub/Sub attribute key, MaxBatch outside 0 to 1000 or a negative
// MaxBatchWait. It takes the topic, unlike the other options' Validate,
// because Write's checks are of both and callers check them together.
func (o WriteOptions) Validate(topic string) error {
	if _, _, err := ParseTopic(topic); err != nil {
		return fmt.Errorf("pubsubx.Write: %w", err)
	}
	if err := checkAttributes(o.Attributes); err != nil {
		return fmt.Errorf("pubsubx.Write: WriteOptions.Attributes: %w", err)
	}
	if len(o.IDAttribute) > maxAttrKey {
		return fmt.Errorf("pubsubx.Write: IDAttribute is %d bytes, Pub/Sub attribute keys have at most %d", len(o.IDAttribute), maxAttrKey)
	}
	return checkBatch("pubsubx.Write", o.MaxBatch, o.MaxBatchWait)
}

// checkBatch checks the batching options WriteOptions and PublisherOptions
// share; who prefixes the error.
func checkBatch(who string, maxBatch int, wait time.Duration) error {
	if maxBatch < 0 || maxBatch > pubsub.MaxPublishRequestCount {
		return fmt.Errorf("%s: MaxBatch must be 0 (default) to %d, got %d", who, pubsub.MaxPublishRequestCount, maxBatch)
	}
	if wait < 0 {
		return fmt.Errorf("%s: MaxBatchWait must be >= 0, got %v", who, wait)
	}
	return nil
}

// Write publishes each element of rows to topic ("projects/P/topics/T").
//
// A tickbeam.Message is published as it is: its payload and attributes.
// []byte and string rows are published as their bytes. Any other row
// (tickbeam.Alert, Tick, Bar, DeadLetter...) is published as its JSON
// encoding, with attributes from its string fields named (in JSON) symbol,
// rule, severity and source, whichever it has and are not empty.
//
// Messages are published in batches and the bundle finishes only when Pub/Sub
// has accepted all of them: a failed publish fails the bundle, which the
// runner retries (so a retried bundle may publish a message twice; see
// WriteOptions.IDAttribute). A row whose message would exceed Pub/Sub's
// 10 MB limit fails the bundle with an error naming the row. Write is a plain
// DoFn and runs on prism and Dataflow alike.
//
// Write returns an empty PCollection<string>: its watermark passes a time
// only once the rows before it are published, which is what
// Durable.AckWhenWritten waits for.
//
// Write panics if topic or opts are not valid; check them first with
// WriteOptions.Validate.
func Write(s beam.Scope, topic string, rows beam.PCollection, opts WriteOptions) beam.PCollection {
	s = s.Scope("pubsubx.Write")
	if err := opts.Validate(topic); err != nil {
		panic(err.Error())
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultWriteMaxBatch
	}
	if opts.MaxBatchWait == 0 {
		opts.MaxBatchWait = DefaultWriteMaxBatchWait
	}
	return beam.ParDo(s, &writeFn{
		Topic:        topic,
		Attributes:   maps.Clone(opts.Attributes),
		IDAttribute:  opts.IDAttribute,
		MaxBatch:     opts.MaxBatch,
		MaxBatchWait: opts.MaxBatchWait,
	}, rows)
}

// writeFn publishes rows; a bundle ends when all its messages are published.
type writeFn struct {
	Topic        string
	Attributes   map[string]string
	IDAttribute  string
	MaxBatch     int
	MaxBatchWait time.Duration

	pub     *pubsub.Publisher
	results []*pubsub.PublishResult
}

func (fn *writeFn) Setup(ctx context.Context) error {
	project, _, err := ParseTopic(fn.Topic)
	if err != nil {
		return fmt.Errorf("pubsubx.Write: %w", err)
	}
	c, err := client(ctx, project)
	if err != nil {
		return err
	}
	fn.pub = newPublisher(c, fn.Topic, fn.MaxBatch, fn.MaxBatchWait)
	return nil
}

func newPublisher(c *pubsub.Client, topic string, maxBatch int, maxWait time.Duration) *pubsub.Publisher {
	p := c.Publisher(topic)
	p.PublishSettings.CountThreshold = maxBatch
	p.PublishSettings.DelayThreshold = maxWait
	// Block rather than buffer without bound when Pub/Sub is slower than
	// the pipeline.
	p.PublishSettings.FlowControlSettings = pubsub.FlowControlSettings{
		MaxOutstandingMessages: 10_000,
		MaxOutstandingBytes:    100 << 20,
		LimitExceededBehavior:  pubsub.FlowControlBlock,
	}
	return p
}

func (fn *writeFn) StartBundle(context.Context, func(string)) {
	fn.results = fn.results[:0]
}

func (fn *writeFn) ProcessElement(ctx context.Context, row beam.T, _ func(string)) error {
	msg, err := encodeRow(row, fn.Attributes, fn.IDAttribute)
	if err != nil {
		return err
	}
	if err := checkSize(fn.Topic, msg); err != nil {
		return fmt.Errorf("pubsubx.Write to %s: %s: %w", fn.Topic, describeRow(row), err)
	}
	fn.results = append(fn.results, fn.pub.Publish(ctx, msg))
	if len(fn.results) >= maxInFlight {
		return fn.await(ctx, maxInFlight/2)
	}
	return nil
}

// FinishBundle waits for every message of the bundle to be published.
func (fn *writeFn) FinishBundle(ctx context.Context, _ func(string)) error {
	fn.pub.Flush()
	return fn.await(ctx, len(fn.results))
}

// await waits for the first n results and drops them.
func (fn *writeFn) await(ctx context.Context, n int) error {
	var ok int64
	var first error
	var failed int
	for _, r := range fn.results[:n] {
		if _, err := r.Get(ctx); err != nil {
			if first == nil {
				first = err
			}
			failed++
			continue
		}
		ok++
	}
	publishedCounter.Inc(ctx, ok)
	fn.results = slices.Delete(fn.results, 0, n)
	if first != nil {
		return fmt.Errorf("pubsubx.Write to %s: %d of %d messages failed to publish: %w", fn.Topic, failed, n, first)
	}
	return nil
}

func (fn *writeFn) Teardown() {
	if fn.pub != nil {
		fn.pub.Stop()
	}
}

// Pub/Sub's limits on attributes.
const (
	maxAttrs     = 100
	maxAttrKey   = 256
	maxAttrValue = 1024
)

// encodeRow turns a row into the message Write publishes.
func encodeRow(row any, static map[string]string, idAttr string) (*pubsub.Message, error) {
	attrs := maps.Clone(static)
	if attrs == nil {
		attrs = map[string]string{}
	}
	var data []byte
	var id string
	switch v := row.(type) {
	case tickbeam.Message:
		data = v.Payload
		maps.Copy(attrs, v.Attributes)
		id = v.ID
		if idAttr != "" && v.Attributes[idAttr] != "" {
			id = v.Attributes[idAttr]
		}
	case []byte:
		data = v
	case string:
		data = []byte(v)
	default:
		var err error
		if data, err = json.Marshal(row); err != nil {
			return nil, fmt.Errorf("pubsubx.Write: encode %s: %w", describeRow(row), err)
		}
		fields := rowFields(reflect.TypeOf(row))
		rv := reflect.ValueOf(row)
		for rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv = rv.Elem()
		}
		if rv.Kind() == reflect.Struct {
			for _, f := range fields.attrs {
				if v := rv.FieldByIndex(f.index).String(); v != "" {
					attrs[f.name] = v
				}
			}
			if fields.id != nil {
				id = rv.FieldByIndex(fields.id).String()
			}
		}
	}
	if idAttr != "" {
		if id == "" {
			sum := sha256.Sum256(data)
			id = hex.EncodeToString(sum[:16])
		}
		attrs[idAttr] = id
	}
	if err := checkAttributes(attrs); err != nil {
		return nil, fmt.Errorf("pubsubx.Write: %s: %w", describeRow(row), err)
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	return &pubsub.Message{Data: data, Attributes: attrs}, nil
}

// checkSize rejects a message Pub/Sub would refuse for its size, with the
// same arithmetic as the client's batching.
func checkSize(topic string, m *pubsub.Message) error {
	n := proto.Size(&pubsubpb.PubsubMessage{Data: m.Data, Attributes: m.Attributes})
	limit := MaxRequestBytes - proto.Size(&pubsubpb.PublishRequest{Topic: topic}) - 5 - 10
	if n > limit {
		return fmt.Errorf("the message is %d bytes encoded, over Pub/Sub's 10 MB limit (%d bytes for one message to this topic)", n, limit)
	}
	return nil
}

func checkAttributes(attrs map[string]string) error {
	if len(attrs) > maxAttrs {
		return fmt.Errorf("%d attributes, Pub/Sub allows %d", len(attrs), maxAttrs)
	}
	for k, v := range attrs {
		switch {
		case k == "":
			return fmt.Errorf("an attribute has an empty key")
		case len(k) > maxAttrKey:
			return fmt.Errorf("attribute key %.40q... is %d bytes, Pub/Sub allows %d", k, len(k), maxAttrKey)
		case len(v) > maxAttrValue:
			return fmt.Errorf("attribute %s is %d bytes, Pub/Sub allows %d", k, len(v), maxAttrValue)
		case strings.HasPrefix(k, "goog"):
			return fmt.Errorf("attribute key %q: keys starting with goog are reserved", k)
		}
	}
	return nil
}

// attrFields are the JSON field names that become attributes.
var attrFields = []string{"symbol", "rule", "severity", "source"}

type fieldRef struct {
	name  string
	index []int
}

type rowInfo struct {
	attrs []fieldRef
	id    []int // the alert_id field, if any
}

var rowInfos sync.Map // reflect.Type -> *rowInfo

// rowFields finds, once per type, the string fields that become attributes.
func rowFields(t reflect.Type) *rowInfo {
	if v, ok := rowInfos.Load(t); ok {
		return v.(*rowInfo)
	}
	info := &rowInfo{}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(st) {
			if !f.IsExported() || f.Type.Kind() != reflect.String {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			switch {
			case slices.Contains(attrFields, name):
				info.attrs = append(info.attrs, fieldRef{name, f.Index})
			case name == "alert_id":
				info.id = f.Index
			}
		}
	}
	v, _ := rowInfos.LoadOrStore(t, info)
	return v.(*rowInfo)
}

// describeRow names a row in errors: its type and identifying fields,
// never its whole content.
func describeRow(row any) string {
	switch v := row.(type) {
	case tickbeam.Message:
		return fmt.Sprintf("tickbeam.Message %q (%d bytes)", v.ID, len(v.Payload))
	case []byte:
		return fmt.Sprintf("a %d-byte payload", len(v))
	case string:
		return fmt.Sprintf("a %d-byte string", len(v))
	}
	t := reflect.TypeOf(row)
	rv := reflect.ValueOf(row)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	var parts []string
	if rv.Kind() == reflect.Struct {
		info := rowFields(t)
		if info.id != nil {
			parts = append(parts, "alert_id="+rv.FieldByIndex(info.id).String())
		}
		for _, f := range info.attrs {
			if v := rv.FieldByIndex(f.index).String(); v != "" {
				parts = append(parts, f.name+"="+v)
			}
		}
		if f := rv.FieldByName("WindowStart"); f.IsValid() && f.Type() == reflect.TypeOf(time.Time{}) {
			parts = append(parts, "window_start="+f.Interface().(time.Time).UTC().Format(time.RFC3339))
		}
		if f := rv.FieldByName("TradeID"); f.IsValid() && f.Kind() == reflect.String && f.String() != "" {
			parts = append(parts, "trade_id="+f.String())
		}
	}
	if len(parts) == 0 {
		return t.String()
	}
	return t.String() + " (" + strings.Join(parts, " ") + ")"
}
