package pubsubx

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/runners"
)

// TestMain does what ptest.Main would (flags, beam.Init) and lets testenv
// stop the emulator it started. Pipelines run through runners.Run on prism,
// in this process (loopback), so DoFns can report to the test directly.
func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(testenv.Main(m))
}

func init() {
	register.DoFn2x0[tickbeam.Message, func(tickbeam.Message)](&deliveryRecorder{})
	register.DoFn1x2[tickbeam.Message, tickbeam.Message, error](&failOnce{})
	register.Emitter1[tickbeam.Message]()
}

var testSeq atomic.Int64

// newSubscription creates a fresh topic and subscription on the emulator.
func newSubscription(t testing.TB) (topic, sub string) {
	t.Helper()
	testenv.PubSub(t)
	n := testSeq.Add(1)
	topic = fmt.Sprintf("projects/%s/topics/t%d-%d", testenv.Project, time.Now().UnixNano(), n)
	sub = fmt.Sprintf("projects/%s/subscriptions/s%d-%d", testenv.Project, time.Now().UnixNano(), n)
	ctx := context.Background()
	if err := CreateTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := CreateSubscription(ctx, sub, topic); err != nil {
		t.Fatal(err)
	}
	return topic, sub
}

// publishAll publishes msgs and returns their message ids in order.
func publishAll(t *testing.T, topic string, msgs []tickbeam.Message) []string {
	t.Helper()
	ctx := context.Background()
	project, _, _ := ParseTopic(topic)
	c, err := client(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(c, topic, 100, 10*time.Millisecond)
	defer pub.Stop()
	var ids []string
	for _, m := range msgs {
		r := pub.Publish(ctx, mustEncode(t, m))
		id, err := r.Get(ctx)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		ids = append(ids, id)
	}
	return ids
}

func mustEncode(t *testing.T, m tickbeam.Message) *pubsub.Message {
	t.Helper()
	msg, err := encodeRow(m, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// pullLeftovers pulls what the subscription still delivers within wait
// (and leaves it unacked).
func pullLeftovers(t *testing.T, sub string, wait time.Duration) []*pubsubpb.ReceivedMessage {
	t.Helper()
	ctx := context.Background()
	project, _, _ := ParseSubscription(sub)
	c, err := client(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	var got []*pubsubpb.ReceivedMessage
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		resp, err := c.SubscriptionAdminClient.Pull(cctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100})
		cancel()
		if err == nil {
			got = append(got, resp.GetReceivedMessages()...)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return got
}

// pipeline builds a pipeline, failing the test rather than panicking (a
// panic would end the test binary before testenv stops the emulator).
func pipeline(t *testing.T, build func(s beam.Scope)) (p *beam.Pipeline) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("building the pipeline: %v", r)
		}
	}()
	p, s := beam.NewPipelineWithRoot()
	build(s)
	return p
}

// runUntil runs p on prism until done reports true (checked every 100ms) or
// limit passes, and stops it through the job service.
func runUntil(t *testing.T, p *beam.Pipeline, limit time.Duration, done func() bool) (beam.PipelineResult, error, bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reached := make(chan bool, 1)
	go func() {
		deadline := time.After(limit)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				reached <- false
				return
			case <-deadline:
				reached <- false
				cancel()
				return
			case <-tick.C:
				if done() {
					reached <- true
					cancel()
					return
				}
			}
		}
	}()
	res, err := runners.Run(ctx, p, runners.Options{})
	cancel()
	return res, err, <-reached
}

// records collects what test DoFns see, by tag (DoFns run in this
// process), and the message ids of the batches readers acked, by
// subscription.
var records struct {
	sync.Mutex
	values    map[string][]string  // tag -> strings
	seen      map[string]*sync.Map // tag -> message ids failOnce has seen
	committed map[string][]string  // subscription -> message ids acked after commit
}

func init() {
	testHookCommitted = func(sub string, ids []string) {
		records.Lock()
		defer records.Unlock()
		if records.committed == nil {
			records.committed = map[string][]string{}
		}
		records.committed[sub] = append(records.committed[sub], ids...)
	}
}

// committed returns the ids of the messages of sub that were acked because
// the bundle that emitted them had been committed.
func committed(sub string) []string {
	records.Lock()
	defer records.Unlock()
	return append([]string(nil), records.committed[sub]...)
}

func values(tag string) []string {
	records.Lock()
	defer records.Unlock()
	return append([]string(nil), records.values[tag]...)
}

func recordValue(tag, v string) {
	records.Lock()
	defer records.Unlock()
	if records.values == nil {
		records.values = map[string][]string{}
	}
	records.values[tag] = append(records.values[tag], v)
}

// deliveryRecorder records the id of every message it sees, in bundles
// that commit or not, and passes it on.
type deliveryRecorder struct{ Tag string }

func (fn *deliveryRecorder) ProcessElement(m tickbeam.Message, emit func(tickbeam.Message)) {
	recordValue(fn.Tag, m.ID)
	emit(m)
}

// failOnce fails the bundle the first time it sees a message whose "poison"
// attribute is set.
type failOnce struct{ Tag string }

func (fn *failOnce) ProcessElement(m tickbeam.Message) (tickbeam.Message, error) {
	if m.Attributes["poison"] == "" {
		return m, nil
	}
	records.Lock()
	if records.seen == nil {
		records.seen = map[string]*sync.Map{}
	}
	seen := records.seen[fn.Tag]
	if seen == nil {
		seen = new(sync.Map)
		records.seen[fn.Tag] = seen
	}
	records.Unlock()
	if _, loaded := seen.LoadOrStore(m.ID, true); !loaded {
		return m, fmt.Errorf("failOnce: first sight of poison message %s", m.ID)
	}
	return m, nil
}
