package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tickbeam/tickbeam/internal/testenv"
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
