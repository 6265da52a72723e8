package pubsubx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/runners"
)

func init() {
	register.DoFn4x0[beam.Window, int, func(*tickbeam.Message) bool, func(string)](&ackProbeSink{})
	register.Emitter1[string]()
}

// ackProbeSink "writes" a window's messages: it records how many there
// were and how many messages the reader of Sub had acked before, and
// returns the window's start, as a sink returns what it wrote.
type ackProbeSink struct{ Tag, Sub string }

func (fn *ackProbeSink) ProcessElement(w beam.Window, _ int, msgs func(*tickbeam.Message) bool, emit func(string)) {
	n := 0
	var m tickbeam.Message
	for msgs(&m) {
		n++
	}
	rd, _ := getReader(context.Background(), fn.Sub, "", DefaultDedupeWindow, true)
	start := w.(window.IntervalWindow).Start.ToTime().UTC()
	recordValue(fn.Tag, fmt.Sprintf("%s %d %d", start.Format(time.RFC3339), n, rd.acked.Load()))
	emit(start.String())
}

// TestReadDurable reads a backlog of 300 messages spread over 3 s of event
// time with ReadDurable into 1 s windows that a probe sink writes, and acks
// through AckWhenWritten: no message is acked before the sink has written
// its window (when a window is written, the acks so far are at most the
// messages of the windows written before it), and all are acked in the end.
func TestReadDurable(t *testing.T) {
	defer func(r, h time.Duration) { restartWait, holdFor = r, h }(restartWait, holdFor)
	restartWait, holdFor = time.Second, 0
	const n = 300
	topic, sub := newSubscription(t)
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	publishAll(t, topic, numbered(n, func(i int) map[string]string {
		return map[string]string{"ts": strconv.FormatInt(base.Add(time.Duration(i)*10*time.Millisecond).UnixMilli(), 10)}
	}))
	tag := t.Name()
	p := pipeline(t, func(s beam.Scope) {
		d := ReadDurable(s, ReadOptions{Subscription: sub, TimestampAttribute: "ts", IdleTimeout: time.Second, MaxBatch: 50,
			AckWindow: time.Second})
		keyed := beam.AddFixedKey(s, beam.WindowInto(s, window.NewFixedWindows(time.Second), d.Messages))
		written := beam.ParDo(s, &ackProbeSink{Tag: tag, Sub: sub}, beam.GroupByKey(s, keyed))
		d.AckWhenWritten(s, written)
	})
	rd, err := getReader(context.Background(), sub, "", DefaultDedupeWindow, true)
	if err != nil {
		t.Fatal(err)
	}
	// Gauge held, read live as a Prometheus scrape would: up while windows
	// wait for the sink, 0 once all are acked.
	var maxHeld, lastHeld int64 = 0, -1
	res, err, ok := runUntil(t, p, time.Minute, func() bool {
		if m, err := runners.LiveMetrics(context.Background()); err == nil {
			if g, ok := metrics.Summarize(m).Gauges["pubsub.held"]; ok {
				maxHeld, lastHeld = max(maxHeld, g), g
			}
		}
		return rd.acked.Load() >= n && lastHeld == 0
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !ok {
		t.Errorf("stopped after a minute: %d acked, windows %v", rd.acked.Load(), values(tag))
	}
	written := 0
	for _, v := range values(tag) {
		var start string
		var count, acked int
		if _, err := fmt.Sscanf(v, "%s %d %d", &start, &count, &acked); err != nil {
			t.Fatal(err)
		}
		if acked > written {
			t.Errorf("window %s written with %d messages acked, more than the %d of the windows written before it", start, acked, written)
		}
		written += count
	}
	if written != n || rd.acked.Load() != n {
		t.Errorf("windows hold %d messages, %d acked; want %d: %v", written, rd.acked.Load(), n, values(tag))
	}
	if got := beamtest.Counter(t, res, Namespace, "acked"); got != n {
		t.Errorf("counter acked = %d, want %d", got, n)
	}
	if maxHeld <= 0 || maxHeld > n || lastHeld != 0 {
		t.Errorf("gauge pubsub.held: at most %d during the run and %d at its end; want between 1 and %d, then 0", maxHeld, lastHeld, n)
	}
	if left := pullLeftovers(t, sub, 2*time.Second); len(left) > 0 {
		t.Errorf("%d messages still in the subscription after the run, want 0", len(left))
	}
	t.Logf("windows (start, messages, acked before): %v", values(tag))
}

// AckHorizon may be 0 with an AckWindow (the window's end is past its
// messages), not without one, and never below the allowed lateness.
func TestReadDurableAckHorizon(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   ReadOptions
		panics bool
	}{
		{"window, no horizon", ReadOptions{AckWindow: time.Minute}, false},
		{"no window, a horizon", ReadOptions{AckHorizon: time.Millisecond}, false},
		{"no window, no horizon", ReadOptions{}, true},
		{"a window under the ack times' millisecond, no horizon", ReadOptions{AckWindow: time.Microsecond}, true},
		{"horizon below the lateness", ReadOptions{AckWindow: time.Minute, AllowedLateness: time.Second}, true},
		{"negative horizon", ReadOptions{AckWindow: time.Minute, AckHorizon: -time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Subscription = "projects/tickbeam-test/subscriptions/ticks-sub"
			var got any
			func() {
				defer func() { got = recover() }()
				ReadDurable(beam.NewPipeline().Root(), tc.opts)
			}()
			if got != nil && !strings.Contains(fmt.Sprint(got), "AckHorizon") {
				t.Fatalf("panic %v, not about AckHorizon", got)
			}
			if (got != nil) != tc.panics {
				t.Errorf("ReadDurable with AckWindow %v, AckHorizon %v, AllowedLateness %v: panic %v, want a panic: %v", tc.opts.AckWindow, tc.opts.AckHorizon, tc.opts.AllowedLateness, got, tc.panics)
			}
		})
	}
}
