package pubsubx

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fake starts an in-process pstest server with a topic and subscription,
// and points this package's clients at it.
func fake(t *testing.T) (srv *pstest.Server, topic, sub string) {
	t.Helper()
	srv = pstest.NewServer()
	t.Cleanup(func() { srv.Close() })
	t.Setenv("PUBSUB_EMULATOR_HOST", srv.Addr)
	topic = "projects/fake-project/topics/ticks"
	sub = "projects/fake-project/subscriptions/ticks-sub"
	ctx := context.Background()
	if err := CreateTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := CreateSubscription(ctx, sub, topic); err != nil {
		t.Fatal(err)
	}
	return srv, topic, sub
}

// newTestReader returns a reader of sub not shared with other tests.
func newTestReader(t *testing.T, sub, idAttr string) *reader {
	t.Helper()
	c, err := client(context.Background(), "fake-project")
	if err != nil {
		t.Fatal(err)
	}
	return newReader(c.SubscriptionAdminClient, sub, idAttr, time.Minute)
}

var testLimits = pullLimits{
	maxBatch:        100,
	maxWait:         time.Second, // pstest answers an empty Pull after 500ms
	maxOutstanding:  1000,
	maxOutstandingB: 1 << 20,
	commitTimeout:   time.Minute,
}

func payloads(b batch) []string {
	var out []string
	for _, m := range b.msgs {
		out = append(out, string(m.GetMessage().GetData()))
	}
	slices.Sort(out)
	return out
}

// acks returns how many times pstest saw each payload acked.
func acks(srv *pstest.Server) map[string]int {
	out := map[string]int{}
	for _, m := range srv.Messages() {
		out[string(m.Data)] = m.Acks
	}
	return out
}

func TestReaderDedupe(t *testing.T) {
	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "eid")
	tl := new(runState)
	ctx := context.Background()

	srv.Publish(topic, []byte("a"), map[string]string{"eid": "1"})
	srv.Publish(topic, []byte("b"), map[string]string{"eid": "2"})
	srv.Publish(topic, []byte("a again"), map[string]string{"eid": "1"}) // same batch
	srv.Publish(topic, []byte("no eid"), nil)                            // keyed by message id
	b, err := rd.pull(ctx, testLimits, tl)
	if err != nil {
		t.Fatal(err)
	}
	// pstest delivers in no particular order: either "a" is kept.
	got := payloads(b)
	got = slices.DeleteFunc(got, func(p string) bool { return p == "a again" || p == "a" })
	if diff := cmp.Diff([]string{"b", "no eid"}, got); diff != "" || len(b.msgs) != 3 {
		t.Errorf("first batch: %v, want one of a and a again, b, no eid", payloads(b))
	}
	if b.received != 4 || b.duplicates != 1 {
		t.Errorf("first batch: received %d, duplicates %d; want 4 and 1", b.received, b.duplicates)
	}
	if got := rd.commit(b.lease); got != 4 {
		t.Errorf("commit acked %d, want 4 (the duplicate too)", got)
	}

	// A later message with a committed id is dropped and acked.
	srv.Publish(topic, []byte("b again"), map[string]string{"eid": "2"})
	b, err = rd.pull(ctx, testLimits, tl)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.msgs) != 0 || b.duplicates != 1 || b.lease == nil {
		t.Fatalf("second batch: %d messages, %d duplicates, lease %v; want 0, 1 and a lease to ack it", len(b.msgs), b.duplicates, b.lease)
	}
	rd.commit(b.lease)
	want := map[string]int{"a": 1, "b": 1, "a again": 1, "no eid": 1, "b again": 1}
	if diff := cmp.Diff(want, acks(srv)); diff != "" {
		t.Errorf("acks per message (-want +got):\n%s", diff)
	}
}

// TestReaderDefersPendingID: a message whose id is held by a batch not yet
// committed is neither emitted nor dropped, but put back: if that batch
// fails, it must still be delivered.
func TestReaderDefersPendingID(t *testing.T) {
	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "eid")
	tl := new(runState)
	ctx := context.Background()

	srv.Publish(topic, []byte("x"), map[string]string{"eid": "9"})
	first, err := rd.pull(ctx, testLimits, tl)
	if err != nil {
		t.Fatal(err)
	}
	srv.Publish(topic, []byte("y"), map[string]string{"eid": "9"})
	second, err := rd.pull(ctx, testLimits, tl)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.msgs) != 0 || second.deferred != 1 || second.duplicates != 0 {
		t.Fatalf("second batch: %d messages, %d deferred, %d duplicates; want 0, 1, 0", len(second.msgs), second.deferred, second.duplicates)
	}
	// The first batch's bundle failed: both come back, one is emitted.
	rd.abandon(first.lease)
	var got []string
	dups := 0
	for deadline := time.Now().Add(10 * time.Second); len(got)+dups < 2 && time.Now().Before(deadline); {
		b, err := rd.pull(ctx, testLimits, tl)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, payloads(b)...)
		dups += b.duplicates
		if b.lease != nil {
			rd.commit(b.lease)
		}
	}
	if len(got) != 1 || dups != 1 {
		t.Errorf("after the failure: emitted %v and dropped %d duplicates; want one of x, y emitted and the other dropped", got, dups)
	}
}

// TestReaderCommitTimeout: a batch whose bundle never commits is nacked
// after the commit timeout and redelivered.
func TestReaderCommitTimeout(t *testing.T) {
	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "")
	tl := new(runState)
	ctx := context.Background()
	id := srv.Publish(topic, []byte("lost?"), nil)

	lim := testLimits
	lim.commitTimeout = 200 * time.Millisecond
	b, err := rd.pull(ctx, lim, tl)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.msgs) != 1 {
		t.Fatalf("pulled %d messages, want 1", len(b.msgs))
	}
	var again batch
	for deadline := time.Now().Add(10 * time.Second); len(again.msgs) == 0 && time.Now().Before(deadline); {
		if again, err = rd.pull(ctx, testLimits, tl); err != nil {
			t.Fatal(err)
		}
	}
	if len(again.msgs) != 1 || again.msgs[0].GetMessage().GetMessageId() != id {
		t.Fatalf("after the commit timeout pulled %d messages, want message %s again", len(again.msgs), id)
	}
	if got := tl.nacked.Load(); got != 1 {
		t.Errorf("nacked %d, want 1", got)
	}
	rd.commit(again.lease)
	// The late commit of the first batch acks as well, and is harmless.
	rd.commitID(b.lease.id)
	if b, _ := rd.pull(ctx, testLimits, tl); b.received != 0 {
		t.Errorf("after the commit pulled %d messages, want 0", b.received)
	}
}

// TestReaderExtendsLeases: while a batch waits for its bundle to commit,
// its ack deadline keeps being extended, so it is not redelivered.
func TestReaderExtendsLeases(t *testing.T) {
	defer func(a, b, c time.Duration) { firstExtension, extendEvery, leaseDeadline = a, b, c }(firstExtension, extendEvery, leaseDeadline)
	firstExtension, extendEvery, leaseDeadline = 100*time.Millisecond, 300*time.Millisecond, time.Second

	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "")
	other := newTestReader(t, sub, "") // another consumer of the subscription
	tl := new(runState)
	ctx := context.Background()
	srv.Publish(topic, []byte("slow"), nil)
	b, err := rd.pull(ctx, testLimits, tl)
	if err != nil || len(b.msgs) != 1 {
		t.Fatalf("pull: %d messages, %v", len(b.msgs), err)
	}
	// Three times the lease deadline: if the keeper stopped extending after
	// its first extension (to leaseDeadline), the message would come back.
	lim := testLimits
	lim.maxWait = 3 * leaseDeadline
	if got, _ := other.pull(ctx, lim, tl); got.received != 0 {
		t.Fatalf("the leased message was redelivered to another consumer")
	}
	rd.commit(b.lease)
	if got := acks(srv)["slow"]; got != 1 {
		t.Errorf("acked %d times, want 1", got)
	}
}

func TestReaderFlowControl(t *testing.T) {
	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "")
	tl := new(runState)
	ctx := context.Background()
	for i := range 10 {
		srv.Publish(topic, []byte(fmt.Sprint(i)), nil)
	}
	lim := testLimits
	lim.maxOutstanding = 4
	b1, err := rd.pull(ctx, lim, tl)
	if err != nil {
		t.Fatal(err)
	}
	if len(b1.msgs) != 4 {
		t.Fatalf("first pull: %d messages, want 4", len(b1.msgs))
	}
	b2, _ := rd.pull(ctx, lim, tl)
	if b2.received != 0 || b2.sub.quiet != 0 {
		t.Fatalf("second pull before the commit: %d messages, quiet %v; want 0 and not quiet (held by flow control, not drained)", b2.received, b2.sub.quiet)
	}
	rd.commit(b1.lease)
	b3, _ := rd.pull(ctx, lim, tl)
	if len(b3.msgs) != 4 {
		t.Errorf("pull after the commit: %d messages, want 4", len(b3.msgs))
	}
	if got := rd.outstanding(); got != 4 {
		t.Errorf("outstanding %d, want 4", got)
	}
}

func TestSeenSet(t *testing.T) {
	s := seenSet{at: map[uint64]int64{}}
	s.add(1, 10)
	s.add(2, 20)
	s.add(1, 30) // seen again: kept until its newer entry expires
	s.expire(25)
	if !s.has(1) || s.has(2) {
		t.Errorf("after expire(25): has(1)=%v has(2)=%v, want true, false", s.has(1), s.has(2))
	}
	s.expire(31)
	if s.has(1) {
		t.Errorf("after expire(31): has(1) = true, want false")
	}
}

// TestReadFnProcessElement drives the splittable DoFn by hand, as a runner
// would: each call emits one batch and checkpoints with the batch's lease in
// the residual; the call that resumes the residual acks it. The watermark
// follows the oldest event time of each batch (minus WatermarkDelay), never
// goes back, and moves to the wall clock once idle.
func TestReadFnProcessElement(t *testing.T) {
	// The watermark follows each batch at once (see hold).
	defer func(d time.Duration) { holdFor = d }(holdFor)
	holdFor = 0
	srv, topic, sub := fake(t)
	ctx := context.Background()
	fn := &readFn{Subscription: sub, TimestampAttribute: "ts", IdleTimeout: 300 * time.Millisecond,
		MaxBatch: 10, MaxBatchWait: time.Second, MaxOutstandingMessages: 100, MaxOutstandingBytes: 1 << 20,
		CommitTimeout: time.Minute, DedupeWindow: time.Minute, WatermarkDelay: time.Second,
		DivertLate: true, AllowedLateness: 3 * time.Second}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	stamp := func(d time.Duration) map[string]string {
		return map[string]string{"ts": base.Add(d).Format(time.RFC3339Nano)}
	}
	we := fn.CreateWatermarkEstimator(fn.InitialWatermarkEstimatorState(0, restriction{}, nil))
	rest := fn.CreateInitialRestriction(nil)

	// step runs one call and returns what it emitted and the residual.
	var late []string
	step := func() (got []string, residual restriction) {
		t.Helper()
		rt := fn.CreateTracker(rest)
		cont, err := fn.ProcessElement(ctx, we, rt, nil, func(ts beam.EventTime, m tickbeam.Message) {
			got = append(got, fmt.Sprintf("%s@%s", m.Payload, ts.ToTime().UTC().Format("15:04:05")))
		}, func(ts beam.EventTime, d tickbeam.DeadLetter) {
			late = append(late, fmt.Sprintf("%s@%s %s: %s", d.PayloadString, ts.ToTime().UTC().Format("15:04:05"), d.Stage, d.ErrorMessage))
		}, func(beam.EventTime, string, int64) { t.Error("a mark from a read that is not durable") })
		if err != nil || !cont.ShouldResume() {
			t.Fatalf("ProcessElement = %v, %v; want resume", cont, err)
		}
		_, res, err := rt.TrySplit(0)
		if err != nil || res == nil {
			t.Fatalf("checkpoint: %v, %v", res, err)
		}
		slices.Sort(got)
		return got, res.(restriction)
	}

	srv.Publish(topic, []byte("b"), stamp(20*time.Second))
	srv.Publish(topic, []byte("a"), stamp(10*time.Second))
	got, res := step()
	if diff := cmp.Diff([]string{"a@10:00:10", "b@10:00:20"}, got); diff != "" {
		t.Errorf("first batch (-want +got):\n%s", diff)
	}
	if want := base.Add(9 * time.Second); !we.CurrentWatermark().Equal(want) {
		t.Errorf("watermark after the first batch = %v, want %v (oldest minus WatermarkDelay)", we.CurrentWatermark(), want)
	}
	if res.Lease == 0 || len(acks(srv)) != 2 || acks(srv)["a"] != 0 {
		t.Fatalf("residual lease %d, acks %v: want a lease and nothing acked before the bundle commits", res.Lease, acks(srv))
	}

	// Resuming the residual acks the first batch. An older message does
	// not move the watermark back; one more than AllowedLateness behind it
	// leaves as a late dead letter, stamped at the watermark.
	rest = res
	srv.Publish(topic, []byte("c"), stamp(7*time.Second))
	srv.Publish(topic, []byte("d"), stamp(5*time.Second))
	got, res = step()
	if diff := cmp.Diff([]string{"c@10:00:07"}, got); diff != "" {
		t.Errorf("second batch (-want +got):\n%s", diff)
	}
	wantLate := []string{"d@10:00:09 late: event time 2024-01-01T10:00:05Z arrived 4s behind the watermark 2024-01-01T10:00:09Z, past the allowed lateness 3s"}
	if diff := cmp.Diff(wantLate, late); diff != "" {
		t.Errorf("late output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 1, "c": 0, "d": 0}, acks(srv)); diff != "" {
		t.Errorf("acks after resuming (-want +got):\n%s", diff)
	}
	if want := base.Add(9 * time.Second); !we.CurrentWatermark().Equal(want) {
		t.Errorf("watermark after an older batch = %v, want it kept at %v", we.CurrentWatermark(), want)
	}

	// A late copy of a message already emitted (d, as a late dead letter) is
	// a duplicate; a late message never seen (e) is late. A copy still on
	// time (c) is emitted: downstream dedupe drops it, counted.
	rest = res
	srv.Publish(topic, []byte("c"), stamp(7*time.Second))
	srv.Publish(topic, []byte("d"), stamp(5*time.Second))
	srv.Publish(topic, []byte("e"), stamp(4*time.Second))
	srv.Publish(topic, []byte("e"), stamp(4*time.Second)) // twice in one batch
	late = nil
	got, res = step()
	if diff := cmp.Diff([]string{"c@10:00:07"}, got); diff != "" || res.Lease == 0 {
		t.Errorf("third batch, lease %d (-want +got):\n%s", res.Lease, diff)
	}
	wantLate = []string{"e@10:00:09 late: event time 2024-01-01T10:00:04Z arrived 5s behind the watermark 2024-01-01T10:00:09Z, past the allowed lateness 3s"}
	if diff := cmp.Diff(wantLate, late); diff != "" {
		t.Errorf("late output of the third batch (-want +got):\n%s", diff)
	}

	// Idle: empty batches until IdleTimeout, then the wall clock.
	rest = res
	deadline := time.Now().Add(5 * time.Second)
	for we.CurrentWatermark().Before(base.Add(time.Hour)) && time.Now().Before(deadline) {
		got, res = step()
		if len(got) != 0 || res.Lease != 0 {
			t.Fatalf("idle batch emitted %v with lease %d", got, res.Lease)
		}
		rest = res
	}
	if acks(srv)["c"] != 1 || acks(srv)["d"] != 1 {
		t.Errorf("the second batch was not acked when its residual resumed")
	}
	if wm := we.CurrentWatermark(); time.Since(wm) < fn.WatermarkDelay || time.Since(wm) > fn.WatermarkDelay+2*time.Second {
		t.Errorf("idle watermark %v, want about the wall clock minus %v", wm, fn.WatermarkDelay)
	}
}

// TestReaderOutage: a subscription deleted and recreated while it is read
// is an outage, not a failure: pulls fail quietly (no error to the bundle,
// the subscription never drained), and once it is back the reader hands
// out its new messages although their ids were seen before the outage.
// A subscription missing from the start fails the read.
func TestReaderOutage(t *testing.T) {
	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "")
	rd.retryFirst, rd.retryMax = 10*time.Millisecond, 50*time.Millisecond
	tl := new(runState)
	ctx := context.Background()
	admin := rd.sub

	srv.Publish(topic, []byte("before"), nil)
	b, err := rd.pull(ctx, testLimits, tl)
	if err != nil || len(b.msgs) != 1 {
		t.Fatalf("before the outage: %v, %v; want one message", payloads(b), err)
	}
	rd.commit(b.lease)
	if err := admin.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: sub}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !rd.isDown(); {
		// Until the pump's first pull fails, the subscription may still
		// read as quiet (it was, before it went): only errors and
		// messages are wrong here.
		b, err := rd.pull(ctx, testLimits, tl)
		if err != nil || len(b.msgs) > 0 {
			t.Fatalf("subscription gone: %v, %v; want no error, no message", payloads(b), err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no outage 5 s after the subscription was deleted")
		}
	}
	// Down, the pump's retries never pass for a quiet subscription, so the
	// watermark cannot move on a subscription that is not there.
	for range 20 {
		b, err := rd.pull(ctx, testLimits, tl)
		if err != nil || len(b.msgs) > 0 || b.sub.quiet > 0 {
			t.Fatalf("during the outage: %v, %v, quiet %v; want no error, no message, not quiet", payloads(b), err, b.sub.quiet)
		}
	}
	if err := CreateSubscription(ctx, sub, topic); err != nil {
		t.Fatal(err)
	}
	id := srv.Publish(topic, []byte("after"), nil)
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		b, err := rd.pull(ctx, testLimits, tl)
		if err != nil {
			t.Fatalf("after the outage: %v", err)
		}
		got = payloads(b)
	}
	if !cmp.Equal([]string{"after"}, got) || rd.isDown() {
		t.Errorf("after the outage: got %v (message %s), down %v; want the new message, not down", got, id, rd.isDown())
	}

	missing := newTestReader(t, "projects/fake-project/subscriptions/missing", "")
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, err := missing.pull(ctx, testLimits, tl)
		if err != nil {
			if status.Code(err) != codes.NotFound {
				t.Errorf("missing subscription: %v, want NotFound", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a missing subscription did not fail the read within 5 s")
		}
	}
}

// An ack or deadline change of many messages goes out in chunks of ackChunk
// ids, several at once but at most chunksInFlight, each id once; none while
// Pub/Sub is down.
func TestReaderEachChunk(t *testing.T) {
	_, _, sub := fake(t)
	rd := newTestReader(t, sub, "")
	ids := make([]string, 4*ackChunk+500)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	var mu sync.Mutex
	var got []string
	var inFlight, most atomic.Int32
	rd.eachChunk(ids, func(c []string) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if len(c) > ackChunk {
			t.Errorf("a chunk of %d ids, want at most %d", len(c), ackChunk)
		}
		time.Sleep(50 * time.Millisecond) // so the others start meanwhile
		mu.Lock()
		got = append(got, c...)
		mu.Unlock()
	})
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids sent (-want +got):\n%s", diff)
	}
	if m := most.Load(); m < 2 || m > chunksInFlight {
		t.Errorf("%d chunks in flight at most, want 2 to %d", m, chunksInFlight)
	}

	rd.mu.Lock()
	rd.down = outage{since: time.Now()}
	rd.mu.Unlock()
	calls := 0
	rd.eachChunk(ids, func([]string) { calls++ })
	if calls != 0 {
		t.Errorf("%d chunks sent while Pub/Sub is down", calls)
	}
}

// A batch of more messages than one ack request takes is acked whole,
// each message once.
func TestReaderAcksManyMessages(t *testing.T) {
	srv, topic, sub := fake(t)
	rd := newTestReader(t, sub, "")
	const n = 2*ackChunk + 300
	for i := range n {
		srv.Publish(topic, []byte(fmt.Sprint(i)), nil)
	}
	lim := testLimits
	lim.maxBatch, lim.maxOutstanding, lim.maxOutstandingB = n, 2*n, 1<<24
	tl := new(runState)
	var leases []*lease
	for received := 0; received < n; {
		b, err := rd.pull(context.Background(), lim, tl)
		if err != nil {
			t.Fatal(err)
		}
		received += len(b.msgs)
		leases = append(leases, b.lease)
	}
	for _, l := range leases {
		rd.commit(l)
	}
	for payload, k := range acks(srv) {
		if k != 1 {
			t.Errorf("message %s acked %d times, want 1", payload, k)
		}
	}
	if got := len(acks(srv)); got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
}
