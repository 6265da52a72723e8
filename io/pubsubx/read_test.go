package pubsubx

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func init() {
	register.Function1x1[tickbeam.Message, string](constKey)
	register.DoFn4x0[beam.Window, beam.PaneInfo, string, int](&recordWindowCount{})
}

func constKey(tickbeam.Message) string { return "all" }

// recordWindowCount records "start count timing" of each window firing.
type recordWindowCount struct{ Tag string }

func (fn *recordWindowCount) ProcessElement(w beam.Window, pane beam.PaneInfo, _ string, n int) {
	iw := w.(window.IntervalWindow)
	recordValue(fn.Tag, fmt.Sprintf("%s %d %s", iw.Start.ToTime().UTC().Format(time.RFC3339), n, pane.Timing))
}

func sumCounts(vals []string) int {
	total := 0
	for _, v := range vals {
		var start, timing string
		var n int
		fmt.Sscanf(v, "%s %d %s", &start, &n, &timing)
		total += n
	}
	return total
}

// TestReadExactlyOnce publishes N messages, reads them on prism, and checks
// each arrived once, every window fired with all of them, and nothing is
// left unacked in the subscription.
func TestReadExactlyOnce(t *testing.T) {
	const n = 300
	topic, sub := newSubscription(t)
	var msgs []tickbeam.Message
	for i := range n {
		msgs = append(msgs, tickbeam.Message{Payload: []byte("m" + strconv.Itoa(i)), Attributes: map[string]string{"i": strconv.Itoa(i)}})
	}
	ids := publishAll(t, topic, msgs)
	tag := t.Name()

	p, s := beam.NewPipelineWithRoot()
	read := Read(s, ReadOptions{Subscription: sub, IdleTimeout: time.Second, MaxBatch: 50})
	read = beam.ParDo(s, &commitRecorder{Tag: tag}, read)
	counts := stats.Count(s, beam.ParDo(s, constKey, beam.WindowInto(s, window.NewFixedWindows(time.Second), read)))
	beam.ParDo0(s, &recordWindowCount{Tag: tag}, counts)

	rd, err := getReader(context.Background(), sub, "", DefaultDedupeWindow)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	res, err, ok := runUntil(t, p, time.Minute, func() bool {
		return len(committed(tag)) >= n && sumCounts(values(tag)) >= n && rd.outstanding() == 0 && rd.acked.Load() >= n
	})
	t.Logf("ran %v", time.Since(begin))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !ok {
		t.Errorf("stopped after a minute: %d committed, window counts sum to %d, %d acked, %d outstanding",
			len(committed(tag)), sumCounts(values(tag)), rd.acked.Load(), rd.outstanding())
	}

	got := committed(tag)
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("committed message ids (-want +got):\n%s", diff)
	}
	if got := sumCounts(values(tag)); got != n {
		t.Errorf("window counts sum to %d, want %d: %v", got, n, values(tag))
	}
	if left := pullLeftovers(t, sub, 2*time.Second); len(left) > 0 {
		t.Errorf("%d messages still in the subscription after the run, want 0", len(left))
	}
	if got := beamtest.Counter(t, res, Namespace, "received"); got != n {
		t.Errorf("counter received = %d, want %d", got, n)
	}
	if got := beamtest.Counter(t, res, Namespace, "duplicates"); got != 0 {
		t.Errorf("counter duplicates = %d, want 0", got)
	}
	if got := rd.nacked.Load(); got != 0 {
		t.Errorf("%d messages nacked, want 0", got)
	}
	t.Logf("counters: acked %d (reported by the bundle after the ack), nacked %d",
		beamtest.Counter(t, res, Namespace, "acked"), beamtest.Counter(t, res, Namespace, "nacked"))
}

// TestReadFailedBundle explores what prism does when a bundle fails.
func TestReadFailedBundle(t *testing.T) {
	const n = 50
	topic, sub := newSubscription(t)
	var msgs []tickbeam.Message
	for i := range n {
		m := tickbeam.Message{Payload: []byte("m" + strconv.Itoa(i)), Attributes: map[string]string{"i": strconv.Itoa(i)}}
		if i == 25 {
			m.Attributes["poison"] = "1"
		}
		msgs = append(msgs, m)
	}
	ids := publishAll(t, topic, msgs)
	tag := t.Name()
	build := func(run string) *beam.Pipeline {
		p, s := beam.NewPipelineWithRoot()
		read := Read(s, ReadOptions{Subscription: sub, IdleTimeout: time.Second, MaxBatch: 10, FinalizeTimeout: 3 * time.Second})
		read = beam.ParDo(s, &failOnce{Tag: tag}, read)
		beam.ParDo(s, &commitRecorder{Tag: tag + run}, read)
		return p
	}
	rd, _ := getReader(context.Background(), sub, "", DefaultDedupeWindow)
	_, err, ok := runUntil(t, build("/1"), 30*time.Second, func() bool { return len(committed(tag+"/1")) >= n })
	t.Logf("run 1: err=%v reached=%v committed=%d acked=%d nacked=%d outstanding=%d", err, ok, len(committed(tag+"/1")), rd.acked.Load(), rd.nacked.Load(), rd.outstanding())
	_, err, ok = runUntil(t, build("/2"), 30*time.Second, func() bool {
		return len(committed(tag+"/1"))+len(committed(tag+"/2")) >= n && rd.outstanding() == 0
	})
	t.Logf("run 2: err=%v reached=%v committed=%d acked=%d nacked=%d outstanding=%d", err, ok, len(committed(tag+"/2")), rd.acked.Load(), rd.nacked.Load(), rd.outstanding())
	_ = ids
}
