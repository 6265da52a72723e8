package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/metrics/promtest"
)

// `tickbeam feed --metrics_addr` is scraped by a real Prometheus while it
// publishes a capture at its recorded pace: 20 trades 100 ms apart, then
// the 21st 4 s later. During that pause Prometheus holds the exact count
// (20) and the 20th trade's event time; the count only grows.
func TestFeedMetricsScrapedByPrometheus(t *testing.T) {
	testenv.PubSub(t)
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	var lines []string
	at := func(i int) time.Time {
		if i == 20 {
			return base.Add(19*100*time.Millisecond + 4*time.Second)
		}
		return base.Add(time.Duration(i) * 100 * time.Millisecond)
	}
	for i := range 21 {
		ms := at(i).UnixMilli()
		lines = append(lines, fmt.Sprintf(`{"e":"trade","E":%d,"s":"BTCUSDT","t":%d,"p":"97000.00","q":"0.0100","T":%d,"m":false,"M":true}`, ms, 100+i, ms))
	}
	capture := filepath.Join(t.TempDir(), "capture.jsonl")
	if err := os.WriteFile(capture, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := promtest.FreeAddr(t)
	prom := promtest.Start(t, addr)
	topic := "projects/" + testenv.Project + "/topics/feed-metrics"
	var stdout, stderr bytes.Buffer
	start := time.Now()
	if code := run(context.Background(), []string{"feed", "--input=" + capture, "--format=binance", "--to=pubsub:" + topic,
		"--create_topic", "--speed=1", "--metrics_addr=" + addr}, &stdout, &stderr); code != 0 {
		t.Fatalf("feed: exit %d: %s", code, stderr.String())
	}
	end := time.Now()
	if !strings.Contains(stdout.String(), "published 21 messages") {
		t.Fatalf("stdout: %s", stdout.String())
	}
	rng := func(q string) []float64 {
		res := prom.Query(t, "/api/v1/query_range", url.Values{"query": {q}, "start": {strconv.FormatInt(start.Unix(), 10)},
			"end": {strconv.FormatInt(end.Unix()+1, 10)}, "step": {"0.25"}})
		if len(res) != 1 {
			t.Fatalf("%s: %d series, want 1", q, len(res))
		}
		var vs []float64
		for _, pt := range res[0].Values {
			vs = append(vs, promtest.Value(t, pt))
		}
		return vs
	}
	published := rng("tickbeam_feed_published_total")
	held := 0
	for i, v := range published {
		if i > 0 && v < published[i-1] {
			t.Errorf("published went down: %v", published)
			break
		}
		if v == 20 {
			held++
		}
		if v > 21 {
			t.Errorf("published %v, more than the 21 lines", v)
		}
	}
	// The pause is 4 s: at a 250 ms step, most of 16 points.
	if held < 8 {
		t.Errorf("Prometheus saw 20 published at %d of the points %v, want the 4 s pause (>= 8)", held, published)
	}
	wantTime := float64(at(19).UnixMilli()) / 1e3
	seen := false
	for _, v := range rng(`tickbeam_event_time_seconds{source="binance"}`) {
		seen = seen || v == wantTime
		if v > float64(at(20).UnixMilli())/1e3 || v < float64(base.Unix()) {
			t.Errorf("event time %v outside the capture", v)
		}
	}
	if !seen {
		t.Errorf("Prometheus never saw the 20th trade's event time %v", wantTime)
	}
	if fresh := rng(`tickbeam_freshness_seconds{source="binance"}`); fresh[len(fresh)-1] < time.Since(at(20)).Seconds()-60 {
		t.Errorf("freshness %v: want the clock minus the capture's 2026-01-15 event times", fresh)
	}
}

// A live feed's connection counts reach Prometheus too (the fake Binance of
// live_test.go: one reconnect, 53 messages).
func TestFeedLiveMetricsScrapedByPrometheus(t *testing.T) {
	testenv.PubSub(t)
	srv, _, _ := binanceOutage(t)
	addr := promtest.FreeAddr(t)
	prom := promtest.Start(t, addr)
	topic := "projects/" + testenv.Project + "/topics/live-feed-metrics"
	uri := "binance:?symbols=BTCUSDT,ETHUSDT&endpoint=" + srv.WS() + "&rest=" + srv.HTTP()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"feed", "--input=" + uri, "--to=pubsub:" + topic, "--create_topic",
		"--duration=4s", "--metrics_addr=" + addr}, &stdout, &stderr); code != 0 {
		t.Fatalf("feed: exit %d: %s", code, stderr.String())
	}
	// Up to now: the target is down, its last samples stay in range queries.
	for q, want := range map[string]float64{
		"max_over_time(tickbeam_feed_published_total[1m])": 53,
		"max_over_time(tickbeam_live_connects_total[1m])":  2,
	} {
		got, ok := prom.Instant(t, q)
		if !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v", q, got, ok, want)
		}
	}
}
