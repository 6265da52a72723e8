package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/feed"
	"github.com/tickbeam/tickbeam/io/live/livetest"
	"github.com/tickbeam/tickbeam/io/pubsubx"
)

// `tickbeam feed` of a live Binance connection to the Pub/Sub emulator: the
// connection drops and comes back with a hole; every recorded trade is
// published once or (the overlap) twice, with format, source and ts
// attributes, and the gap is a row in --gaps_out.
func TestFeedLiveBinanceToPubSub(t *testing.T) {
	testenv.PubSub(t)
	srv, _, _ := binanceOutage(t)
	topic := "projects/" + testenv.Project + "/topics/live-feed"
	sub := "projects/" + testenv.Project + "/subscriptions/live-feed"
	gaps := t.TempDir() + "/gaps.jsonl"
	var stdout, stderr bytes.Buffer
	uri := "binance:?symbols=BTCUSDT,ETHUSDT&endpoint=" + srv.WS() + "&rest=" + srv.HTTP()
	code := run(context.Background(), []string{"feed", "--input=" + uri, "--to=pubsub:" + topic, "--create_subscription=" + sub,
		"--duration=4s", "--gaps_out=" + gaps}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("feed: exit %d: %s", code, stderr.String())
	}
	// 50 frames + 3 replayed - 2 skipped + 2 backfilled.
	if !strings.Contains(stdout.String(), "published 53 messages") || !strings.Contains(stdout.String(), "1 gaps (2 missing, 2 lines backfilled)") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	data, err := os.ReadFile(gaps)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"from_id":"1019","to_id":"1020","missing":2,"unit":"trades","filled":true`) {
		t.Errorf("--gaps_out holds %s", data)
	}
}

// BenchmarkFeedLive measures `tickbeam feed` of a live Binance connection
// into the Pub/Sub emulator: frames/s sustained (a fake Binance sending the
// recorded trades as fast as the socket takes them, with fresh ids) and the
// time from a reconnect to the first new trade (the server drops the
// connection every 20,000 frames).
//
//	go test -run '^$' -bench FeedLive -benchtime 1x ./cmd/tickbeam/
func BenchmarkFeedLive(b *testing.B) {
	testenv.PubSub(b)
	const perConn, conns = 20_000, 3
	srv := livetest.NewServer(b, func(ctx context.Context, n int, c *websocket.Conn) {
		if n > conns {
			<-ctx.Done()
			return
		}
		ms := time.Now().UnixMilli()
		for i := range perConn {
			id := (n-1)*perConn + i + 1
			f := fmt.Sprintf(`{"stream":"btcusdt@trade","data":{"e":"trade","E":%d,"s":"BTCUSDT","t":%d,"p":"97000.%02d","q":"0.001","T":%d,"m":%v,"M":true}}`,
				ms, id, i%100, ms, i%2 == 0)
			if !livetest.Send(ctx, c, f) {
				return
			}
		}
		c.Close(websocket.StatusGoingAway, "")
	})
	topic := "projects/" + testenv.Project + "/topics/live-bench"
	ctx := context.Background()
	if err := pubsubx.CreateTopic(ctx, topic); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		pub, err := pubsubx.NewPublisher(ctx, topic, pubsubx.PublisherOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var last feed.Progress
		ts := &timedSink{Sink: pub}
		start := time.Now()
		n, err := feed.Run(ctx, ts, feed.Options{Input: "binance:?symbols=BTCUSDT&endpoint=" + srv.WS(), Duration: 60 * time.Second,
			Progress: func(p feed.Progress) { last = p }})
		done := ts.last
		pub.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n < perConn*conns {
			b.Fatalf("published %d of %d frames in 60 s", n, perConn*conns)
		}
		rate := float64(perConn*conns) / done.Sub(start).Seconds()
		b.ReportMetric(rate, "frames/s")
		b.ReportMetric(float64(last.Live.ResumeLatency.Microseconds())/1000, "resume_ms")
		fmt.Printf("binance feed -> Pub/Sub emulator: %d frames in %s = %.0f frames/s; %d reconnects, reconnect to first new trade %s\n",
			perConn*conns, done.Sub(start).Round(time.Millisecond), rate, last.Live.Reconnects, last.Live.ResumeLatency)
	}
}

// timedSink notes when the last message was published.
type timedSink struct {
	feed.Sink
	last time.Time
}

func (s *timedSink) Publish(ctx context.Context, payload []byte, attrs map[string]string) error {
	err := s.Sink.Publish(ctx, payload, attrs)
	s.last = time.Now()
	return err
}
