package feed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tickbeam/tickbeam/cmd/tickbeam/internal/feed"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/live/livetest"
	"github.com/tickbeam/tickbeam/io/pubsubx"
)

// BenchmarkFeedLive measures, per websocket vendor, what `tickbeam feed`
// runs (feed.Run into a Pub/Sub publisher) against the Pub/Sub emulator: a
// fake vendor sends generated trades as fast as the socket takes them and
// drops the connection every perConn frames. It reports the frames/s
// sustained until the last frame was handed to the publisher and until the
// emulator acknowledged it, the connector's resume latency (its dial to the
// first trade after it) and the outage as a user sees it (from the
// publish of a connection's last trade to that of the next one's first,
// the reconnect backoff included: a
// connection younger than 5 s does not reset the backoff, so the second
// drop waits about twice the first).
//
//	go test -run '^$' -bench FeedLive -benchtime 1x ./cmd/tickbeam/internal/feed/
func BenchmarkFeedLive(b *testing.B) {
	testenv.PubSub(b)
	const perConn, conns = 20_000, 3
	total := perConn * conns
	for _, v := range livetest.Vendors() {
		b.Run(v.Name, func(b *testing.B) {
			srv := livetest.NewServer(b, func(ctx context.Context, n int, c *websocket.Conn) {
				if !v.Handshake(ctx, c, n, "") || n > conns {
					livetest.Drain(ctx, c)
					return
				}
				for i := (n - 1) * perConn; i < n*perConn; i++ {
					if !livetest.Send(ctx, c, v.Trade(i)) {
						return
					}
				}
				c.Close(websocket.StatusGoingAway, "")
			})
			if v.Setup != nil {
				v.Setup(srv)
			}
			ctx := context.Background()
			topic := fmt.Sprintf("projects/%s/topics/live-bench-%s-%d", testenv.Project, v.Name, time.Now().UnixNano())
			if err := pubsubx.CreateTopic(ctx, topic); err != nil {
				b.Fatal(err)
			}
			// Each connection's first and last trade, as the sink sees them
			// published.
			marks := map[string]int{}
			for n := 1; n <= conns; n++ {
				marks[v.Trade((n-1)*perConn)] = 2 * n
				marks[v.Trade(n*perConn-1)] = 2*n + 1
			}
			last := v.Trade(total - 1)
			for range b.N {
				pub, err := pubsubx.NewPublisher(ctx, topic, pubsubx.PublisherOptions{})
				if err != nil {
					b.Fatal(err)
				}
				rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				sink := &watchSink{Sink: pub, marks: marks, last: last, done: cancel, at: map[int]time.Time{}}
				var prog feed.Progress
				start := time.Now()
				in, err := endpoint.ParseInput(v.URI(srv))
				if err != nil {
					b.Fatal(err)
				}
				n, err := feed.Run(rctx, sink, feed.Options{Input: in, Live: live.Options{Getenv: v.Getenv},
					Progress: func(p feed.Progress) { prog = p }})
				handed := sink.lastAt
				if cerr := pub.Close(ctx); cerr != nil {
					b.Fatal(cerr)
				}
				acked := time.Now()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if sink.lastAt.IsZero() {
					b.Fatalf("published %d messages in 2 min without the last trade", n)
				}
				var outages []string
				var outage time.Duration
				for c := 2; c <= conns; c++ {
					d := sink.at[2*c].Sub(sink.at[2*(c-1)+1])
					outage = max(outage, d)
					outages = append(outages, d.Round(time.Millisecond).String())
				}
				rate, ackRate := float64(total)/handed.Sub(start).Seconds(), float64(total)/acked.Sub(start).Seconds()
				b.ReportMetric(rate, "frames/s")
				b.ReportMetric(ackRate, "acked_frames/s")
				b.ReportMetric(float64(prog.Live.ResumeLatency.Microseconds())/1000, "resume_ms")
				b.ReportMetric(float64(outage.Microseconds())/1000, "outage_ms")
				fmt.Printf("%s feed -> Pub/Sub emulator: %d frames, %d reconnects: %.0f frames/s handed to the publisher, %.0f acked; "+
					"dial to first new trade %s (last reconnect), last trade of a connection to the first of the next, as published: %s\n",
					v.Name, total, prog.Live.Reconnects, rate, ackRate, prog.Live.ResumeLatency.Round(time.Microsecond), strings.Join(outages, ", "))
			}
		})
	}
}

// watchSink publishes and notes when the marked payloads were handed to the
// publisher; the last one ends the run.
type watchSink struct {
	feed.Sink
	marks  map[string]int
	last   string
	done   context.CancelFunc
	at     map[int]time.Time // mark -> when first published
	lastAt time.Time
}

func (s *watchSink) Publish(ctx context.Context, payload []byte, attrs map[string]string) error {
	err := s.Sink.Publish(ctx, payload, attrs)
	if m, ok := s.marks[string(payload)]; ok && s.at[m].IsZero() {
		s.at[m] = time.Now()
	}
	if string(payload) == s.last {
		s.lastAt = time.Now()
		s.done()
	}
	return err
}
