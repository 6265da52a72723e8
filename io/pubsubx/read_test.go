package pubsubx

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func init() {
	register.DoFn4x0[beam.PaneInfo, beam.Window, int, func(*tickbeam.Message) bool](&recordWindowGroup{})
	register.Iter1[tickbeam.Message]()
	register.DoFn3x0[beam.BundleFinalization, tickbeam.Message, func(tickbeam.Message)](&finalizeProbe{})
}

// recordWindowGroup records "start count timing" for each firing of a
// grouped window, and when it fired.
type recordWindowGroup struct{ Tag string }

func (fn *recordWindowGroup) ProcessElement(pane beam.PaneInfo, w beam.Window, _ int, msgs func(*tickbeam.Message) bool) {
	n := 0
	var m tickbeam.Message
	for msgs(&m) {
		n++
	}
	iw := w.(window.IntervalWindow)
	recordValue(fn.Tag, fmt.Sprintf("%s %d %s", iw.Start.ToTime().UTC().Format(time.RFC3339), n, timingName(pane.Timing)))
	recordValue(fn.Tag+"/at", time.Now().Format(time.RFC3339Nano))
}

func timingName(t typex.PaneTiming) string {
	switch t {
	case typex.PaneEarly:
		return "EARLY"
	case typex.PaneOnTime:
		return "ON_TIME"
	case typex.PaneLate:
		return "LATE"
	}
	return "UNKNOWN"
}

func sumCounts(firings []string) int {
	total := 0
	for _, f := range firings {
		n, _ := strconv.Atoi(strings.Fields(f)[1])
		total += n
	}
	return total
}

// occurrences counts each id in ids.
func occurrences(ids []string) map[string]int {
	m := map[string]int{}
	for _, id := range ids {
		m[id]++
	}
	return m
}

func once(ids []string) map[string]int {
	m := map[string]int{}
	for _, id := range ids {
		m[id] = 1
	}
	return m
}

func numbered(n int, attrs func(i int) map[string]string) []tickbeam.Message {
	var msgs []tickbeam.Message
	for i := range n {
		a := map[string]string{"i": strconv.Itoa(i)}
		if attrs != nil {
			for k, v := range attrs(i) {
				a[k] = v
			}
		}
		msgs = append(msgs, tickbeam.Message{Payload: []byte("m" + strconv.Itoa(i)), Attributes: a})
	}
	return msgs
}

// TestReadExactlyOnce publishes N messages, reads them on prism into 1s
// windows, and checks that each arrived once, each was acked after its
// bundle committed, the windows counted all of them (the idle watermark
// closed the last), and nothing is left in the subscription.
func TestReadExactlyOnce(t *testing.T) {
	const n = 300
	topic, sub := newSubscription(t)
	ids := publishAll(t, topic, numbered(n, nil))
	tag := t.Name()

	p := pipeline(t, func(s beam.Scope) {
		read := Read(s, ReadOptions{Subscription: sub, IdleTimeout: time.Second, MaxBatch: 50})
		read = beam.ParDo(s, &deliveryRecorder{Tag: tag + "/delivered"}, read)
		keyed := beam.AddFixedKey(s, beam.WindowInto(s, window.NewFixedWindows(time.Second), read))
		beam.ParDo0(s, &recordWindowGroup{Tag: tag + "/windows"}, beam.GroupByKey(s, keyed))
	})
	rd, err := getReader(context.Background(), sub, "", DefaultDedupeWindow, false)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	res, err, ok := runUntil(t, p, time.Minute, func() bool {
		return len(committed(sub)) >= n && sumCounts(values(tag+"/windows")) >= n && rd.outstanding() == 0
	})
	t.Logf("ran %v", time.Since(begin).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !ok {
		t.Errorf("stopped after a minute: %d committed, window counts sum to %d, %d outstanding",
			len(committed(sub)), sumCounts(values(tag+"/windows")), rd.outstanding())
	}

	want := once(ids)
	if diff := cmp.Diff(want, occurrences(values(tag+"/delivered"))); diff != "" {
		t.Errorf("deliveries per message id (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, occurrences(committed(sub))); diff != "" {
		t.Errorf("acks after commit per message id (-want +got):\n%s", diff)
	}
	if got := sumCounts(values(tag + "/windows")); got != n {
		t.Errorf("window counts sum to %d, want %d: %v", got, n, values(tag+"/windows"))
	}
	for _, f := range values(tag + "/windows") {
		if !strings.HasSuffix(f, " ON_TIME") {
			t.Errorf("window firing %q, want ON_TIME", f)
		}
	}
	if left := pullLeftovers(t, sub, 2*time.Second); len(left) > 0 {
		t.Errorf("%d messages still in the subscription after the run, want 0", len(left))
	}
	for name, want := range map[string]int64{"received": n, "duplicates": 0, "nacked": 0} {
		if got := beamtest.Counter(t, res, Namespace, name); got != want {
			t.Errorf("counter %s = %d, want %d", name, got, want)
		}
	}
	if got := beamtest.Counter(t, res, Namespace, "acked"); got < n-50 || got > n {
		// The last batch is acked by the bundle after it, which the stop
		// may cut short.
		t.Errorf("counter acked = %d, want %d (or one batch less)", got, n)
	}
}

// TestReadRedelivery fails the bundle holding one message, on its first
// delivery only. Prism does not retry a failed bundle: it fails the job. So
// the test checks the "never lost" property across runs: after the failed
// run, the messages of the failed bundle are still in the subscription (the
// reader nacks them after CommitTimeout), a second run receives them, and in
// the end every message was acked after commit exactly once, and none acked
// in the first run came back.
func TestReadRedelivery(t *testing.T) {
	const n, poison = 60, 35
	topic, sub := newSubscription(t)
	ids := publishAll(t, topic, numbered(n, func(i int) map[string]string {
		if i == poison {
			return map[string]string{"poison": "1"}
		}
		return nil
	}))
	tag := t.Name()
	build := func(run string) *beam.Pipeline {
		return pipeline(t, func(s beam.Scope) {
			read := Read(s, ReadOptions{Subscription: sub, IdleTimeout: time.Second, MaxBatch: 10, CommitTimeout: 3 * time.Second})
			read = beam.ParDo(s, &deliveryRecorder{Tag: tag + run}, read)
			beam.ParDo(s, &failOnce{Tag: tag}, read)
		})
	}
	rd, err := getReader(context.Background(), sub, "", DefaultDedupeWindow, false)
	if err != nil {
		t.Fatal(err)
	}

	_, err, _ = runUntil(t, build("/1"), time.Minute, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "first sight of poison message "+ids[poison]) {
		t.Fatalf("first run: got error %v, want the job to fail on the poison message", err)
	}
	first := committed(sub)
	t.Logf("run 1 failed as expected; %d messages acked before it failed, %d delivered", len(first), len(values(tag+"/1")))
	if slices.Contains(first, ids[poison]) {
		t.Fatalf("the poison message was acked although its bundle failed")
	}
	// The failed bundle's batch (and any batch pulled while the job failed)
	// is nacked once CommitTimeout passes.
	deadline := time.Now().Add(30 * time.Second)
	for rd.outstanding() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := rd.outstanding(); got > 0 {
		t.Fatalf("%d messages still leased 30s after the failed run", got)
	}

	_, err, ok := runUntil(t, build("/2"), time.Minute, func() bool {
		return len(committed(sub)) >= n && rd.outstanding() == 0
	})
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !ok {
		t.Errorf("second run stopped after a minute with %d of %d committed", len(committed(sub)), n)
	}
	second := committed(sub)[len(first):]
	if diff := cmp.Diff(once(ids), occurrences(committed(sub))); diff != "" {
		t.Errorf("acks after commit per message id over both runs (-want +got):\n%s", diff)
	}
	if !slices.Contains(second, ids[poison]) {
		t.Errorf("the poison message was not redelivered and committed in the second run")
	}
	delivered2 := occurrences(values(tag + "/2"))
	for _, id := range first {
		if delivered2[id] > 0 {
			t.Errorf("message %s was acked in the first run but delivered again in the second", id)
		}
	}
	for id, k := range delivered2 {
		if k > 1 {
			t.Errorf("message %s delivered %d times in the second run", id, k)
		}
	}
	if got, want := len(first)+len(delivered2), n; got != want {
		t.Errorf("%d acked in run 1 + %d delivered in run 2 = %d, want %d", len(first), len(delivered2), got, want)
	}
	t.Logf("run 2 received the %d messages run 1 had not acked; %d nacks in all", len(delivered2), rd.nacked.Load())
}

// TestReadBacklog publishes messages timestamped an hour ago, then reads
// them into 1-minute windows: each window fires once, on time, with all its
// messages. The watermark followed the backlog (so nothing was late) and the
// idle timeout closed the last window.
func TestReadBacklog(t *testing.T) {
	// This backlog is read within holdFor: let the watermark follow each
	// batch, so it follows the backlog visibly.
	defer func(d time.Duration) { holdFor = d }(holdFor)
	holdFor = 0
	const perMinute, minutes = 30, 4
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	topic, sub := newSubscription(t)
	publishAll(t, topic, numbered(perMinute*minutes, func(i int) map[string]string {
		ts := base.Add(time.Duration(i) * time.Minute / perMinute)
		if i%2 == 0 {
			return map[string]string{"ts": ts.Format(time.RFC3339Nano)}
		}
		return map[string]string{"ts": strconv.FormatInt(ts.UnixMilli(), 10)}
	}))
	tag := t.Name()
	p := pipeline(t, func(s beam.Scope) {
		read := Read(s, ReadOptions{Subscription: sub, TimestampAttribute: "ts", IdleTimeout: 2 * time.Second, MaxBatch: 25})
		keyed := beam.AddFixedKey(s, beam.WindowInto(s, window.NewFixedWindows(time.Minute), read))
		beam.ParDo0(s, &recordWindowGroup{Tag: tag}, beam.GroupByKey(s, keyed))
	})
	res, err, ok := runUntil(t, p, time.Minute, func() bool { return len(values(tag)) >= minutes })
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !ok {
		t.Errorf("stopped after a minute with %d window firings: %v", len(values(tag)), values(tag))
	}
	var want []string
	for m := range minutes {
		want = append(want, fmt.Sprintf("%s %d ON_TIME", base.Add(time.Duration(m)*time.Minute).Format(time.RFC3339), perMinute))
	}
	got := values(tag)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("window firings (-want +got):\n%s", diff)
	}
	if got := beamtest.Counter(t, res, Namespace, "bad_timestamps"); got != 0 {
		t.Errorf("counter bad_timestamps = %d, want 0", got)
	}
	// The backlog is read in batches of 25 within a fraction of a second:
	// the first windows close as the watermark follows it, the last one only
	// when the idle timeout (2s) moves the watermark to the wall clock.
	var at []time.Time
	for _, v := range values(tag + "/at") {
		ts, _ := time.Parse(time.RFC3339Nano, v)
		at = append(at, ts)
	}
	slices.SortFunc(at, time.Time.Compare)
	if len(at) == minutes {
		t.Logf("windows fired at +%v (relative to the first)", func() (d []time.Duration) {
			for _, a := range at {
				d = append(d, a.Sub(at[0]).Round(time.Millisecond))
			}
			return d
		}())
		if gap := at[len(at)-1].Sub(at[0]); gap < time.Second {
			t.Errorf("the first and last windows fired %v apart, want >= 1s: the watermark did not follow the backlog", gap)
		}
	}
}

// finalizeProbe registers a bundle finalization callback in each bundle
// that has elements, and counts the callbacks registered and run.
type finalizeProbe struct {
	Tag   string
	armed bool
}

func (fn *finalizeProbe) StartBundle(func(tickbeam.Message)) { fn.armed = false }

func (fn *finalizeProbe) ProcessElement(bf beam.BundleFinalization, m tickbeam.Message, emit func(tickbeam.Message)) {
	if !fn.armed {
		fn.armed = true
		recordValue(fn.Tag+"/registered", "")
		tag := fn.Tag
		bf.RegisterCallback(time.Minute, func() error { recordValue(tag+"/run", ""); return nil })
	}
	emit(m)
}

// TestBeamBundleFinalizationCanary documents why Read acks when the
// checkpoint of a bundle is resumed rather than in a bundle finalization
// callback. With Beam v2.77.0, callbacks are lost two ways: prism sends
// FinalizeBundle only for stages whose first transform requests
// finalization (so a fused DoFn like finalizeProbe never sees one), and the
// Go harness runs the callbacks of only the first bundle of each execution
// plan (Plan.Finalize swaps in a new finalizer that the plan's DoFns never
// see). If this test fails, both were fixed, and Read could ack in a
// callback instead.
func TestBeamBundleFinalizationCanary(t *testing.T) {
	const n = 60
	topic, sub := newSubscription(t)
	publishAll(t, topic, numbered(n, nil))
	tag := t.Name()
	p := pipeline(t, func(s beam.Scope) {
		read := Read(s, ReadOptions{Subscription: sub, MaxBatch: 10})
		beam.ParDo(s, &finalizeProbe{Tag: tag}, read)
	})
	rd, err := getReader(context.Background(), sub, "", DefaultDedupeWindow, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err, ok := runUntil(t, p, time.Minute, func() bool { return len(committed(sub)) >= n && rd.outstanding() == 0 }); err != nil || !ok {
		t.Fatalf("run: %v (all committed: %v)", err, ok)
	}
	registered, ran := len(values(tag+"/registered")), len(values(tag+"/run"))
	t.Logf("%d bundles registered a finalization callback, %d callbacks ran", registered, ran)
	if registered < 3 {
		t.Fatalf("only %d bundles with data, want several", registered)
	}
	if ran == registered {
		t.Errorf("all %d finalization callbacks ran: Beam's bundle finalization works now; consider acking in a callback", ran)
	}
}
