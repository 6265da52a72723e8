package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// End to end on real emulators: a Binance capture with a malformed line and
// a redelivered trade is published to the Pub/Sub emulator by `tickbeam
// feed`, then `tickbeam monitor` streams it on the local runner into the
// BigQuery emulator (bars, dead letters) and fake GCS (raw archive), and is
// stopped after --duration. Every published message is accounted for.
func TestEndToEndPubSubToBigQuery(t *testing.T) {
	testenv.PubSub(t)
	testenv.BigQuery(t)
	gcs := testenv.FakeGCS(t)
	gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "lake"})
	ctx := context.Background()
	topic := "projects/" + testenv.Project + "/topics/e2e-trades"
	sub := "projects/" + testenv.Project + "/subscriptions/e2e-monitor"

	// Historical trades (2026-01-15, minutes 00:00 and 00:01), already
	// waiting in the subscription when the pipeline starts.
	base := int64(1768435200000)
	trade := func(sym string, id int, ms int64, price, qty string, sellerAggressor bool) string {
		return fmt.Sprintf(`{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%s","q":"%s","T":%d,"m":%v,"M":true}`,
			ms+1, sym, id, price, qty, ms, sellerAggressor)
	}
	lines := []string{
		trade("BTCUSDT", 1, base+1000, "100.00", "1.5", false),
		trade("BTCUSDT", 2, base+2000, "101.00", "0.5", true),
		trade("BTCUSDT", 2, base+2000, "101.00", "0.5", true), // redelivered
		trade("BTCUSDT", 3, base+59999, "99.50", "2", false),
		`{"e":"trade","s":"BTCUSDT","t":4,"p":"abc","q":"1","T":1768435203000,"m":false}`, // malformed price
		trade("BTCUSDT", 5, base+60000, "102.00", "1", true),
		trade("ETHUSDT", 10, base+30000, "3000.25", "2", false),
	}
	capture := filepath.Join(t.TempDir(), "capture.jsonl")
	if err := os.WriteFile(capture, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"feed", "--input=" + capture, "--format=binance", "--to=pubsub:" + topic, "--create_subscription=" + sub}, &out, &errb); code != 0 {
		t.Fatalf("feed: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "published 7 messages") {
		t.Fatalf("feed output %q, want 7 published", out.String())
	}

	// --early_tick_rules: the tick rules read dedupe's batches before its
	// window closes, the redelivered trade among them.
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(`rules:
  - {name: btc-below-100, kind: price_cross, input: ticks, symbols: [BTCUSDT], direction: below, threshold: 100, severity: WARNING}
  - {name: btc-at-101, kind: price_level, input: ticks, symbols: [BTCUSDT], direction: above, threshold: 101, cooldown: 24h, severity: INFO}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	alertsDir := filepath.Join(dir, "alerts")

	barsTable := testenv.Project + ".market.bars"
	deadTable := testenv.Project + ".market.deadletters"
	out.Reset()
	errb.Reset()
	start := time.Now()
	code := run(ctx, []string{"monitor", "--input=pubsub:" + sub, "--bar=1m",
		"--bars_out=bq:" + barsTable, "--deadletter_out=bq:" + deadTable, "--raw_out=gs://lake/raw",
		"--rules=" + rules, "--alerts_out=" + alertsDir, "--notify=false", "--early_tick_rules",
		"--watermark_delay=2s", "--duration=25s"}, &out, &errb)
	if code != 0 {
		t.Fatalf("monitor: exit %d: %s", code, errb.String())
	}
	t.Logf("monitor ran %s:\n%s", time.Since(start).Round(time.Second), out.String())

	// Bars by value, computed by hand as in TestMonitorFileBarsByValue.
	opts := bigqueryx.Options{}
	bq, err := bigqueryx.ParseTable(barsTable)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bigqueryx.ReadRows[tickbeam.Bar](ctx, bq, opts)
	if err != nil {
		t.Fatal(err)
	}
	bar := func(sym string, minute int, o, h, l, c, vol, notional float64, trades int64, buy, sell float64) tickbeam.Bar {
		s := time.UnixMilli(base).UTC().Add(time.Duration(minute) * time.Minute)
		return tickbeam.Bar{Symbol: sym, Resolution: "1m", WindowStart: s, WindowEnd: s.Add(time.Minute), Open: o, High: h, Low: l, Close: c,
			Volume: vol, Notional: notional, VWAP: notional / vol, Trades: trades, BuyVolume: buy, SellVolume: sell, Timing: tickbeam.OnTime}
	}
	want := []tickbeam.Bar{
		bar("BTCUSDT", 0, 100, 101, 99.5, 99.5, 4, 399.5, 3, 3.5, 0.5),
		bar("BTCUSDT", 1, 102, 102, 102, 102, 1, 102, 1, 0, 1),
		bar("ETHUSDT", 0, 3000.25, 3000.25, 3000.25, 3000.25, 2, 6000.5, 1, 2, 0),
	}
	// A window may fire LATE panes after its ON_TIME one (--allowed_lateness):
	// its newest pane is the whole truth, as bigqueryx.FinalBarsSQL selects.
	final := map[string]tickbeam.Bar{}
	for _, b := range got {
		k := b.Symbol + b.WindowStart.String()
		if f, ok := final[k]; !ok || b.PaneIndex > f.PaneIndex {
			final[k] = b
		}
	}
	got = got[:0]
	for _, b := range final {
		got = append(got, b)
	}
	key := func(a, b tickbeam.Bar) bool { return a.Symbol+a.WindowStart.String() < b.Symbol+b.WindowStart.String() }
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(key), cmpopts.IgnoreFields(tickbeam.Bar{}, "Timing", "PaneIndex")); diff != "" {
		t.Errorf("bars in BigQuery (-want +got):\n%s", diff)
	}

	dt, _ := bigqueryx.ParseTable(deadTable)
	dead, err := bigqueryx.ReadRows[tickbeam.DeadLetter](ctx, dt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Stage != "parse" || !strings.Contains(dead[0].ErrorMessage, `"p"`) || dead[0].PayloadString != lines[4] {
		t.Errorf("dead letters = %+v, want the malformed line, stage parse", dead)
	}
	var attrs []string
	for _, a := range dead[0].Attributes {
		attrs = append(attrs, a.Key+"="+a.Value)
	}
	sort.Strings(attrs)
	if len(dead) == 1 && !strings.Contains(strings.Join(attrs, ","), "format=binance") {
		t.Errorf("dead letter attributes %v lack the message's format", attrs)
	}

	// Each rule fires once: trade 2 (101) and its copy reach btc-at-101,
	// whose cooldown holds a day; trade 3 (99.5) crosses below 100.
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	alerts := readRows[tickbeam.Alert](t, alertsDir, "alerts")
	wantAlerts := []tickbeam.Alert{
		{Rule: "btc-at-101", Symbol: "BTCUSDT", Severity: tickbeam.Info, EventTime: at(base + 2000), Value: 101, Threshold: 101,
			Message: "BTCUSDT price 101 is at or above 101"},
		{Rule: "btc-below-100", Symbol: "BTCUSDT", Severity: tickbeam.Warning, EventTime: at(base + 59999), Value: 99.5, Threshold: 100,
			Message: "BTCUSDT price 99.5 crossed below 100"},
	}
	if diff := cmp.Diff(wantAlerts, alerts, cmpopts.SortSlices(func(a, b tickbeam.Alert) bool { return a.Rule < b.Rule }),
		cmpopts.IgnoreFields(tickbeam.Alert{}, "AlertID", "DetectedAt", "Labels")); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}

	// published = ticks + dead letters + duplicates: 7 = 5 + 1 + 1.
	for _, c := range []string{"parse.messages  *7\n", "parse.ticks  *6\n", "parse.dead_letters  *1\n", "dedupe.duplicates  *1\n"} {
		if !matches(out.String(), c) {
			t.Errorf("summary lacks %q:\n%s", c, out.String())
		}
	}

	objs, _, err := gcs.ListObjectsWithOptions("lake", fakestorage.ListOptions{Prefix: "raw/"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	if len(names) == 0 || !strings.HasPrefix(names[0], "raw/dt=2026-01-15/hour=00/ticks-") {
		t.Errorf("raw archive objects %v, want raw/dt=2026-01-15/hour=00/ticks-*", names)
	}
}
