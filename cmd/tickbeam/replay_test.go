package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/pubsubx"
)

// capture is a Binance trade capture as a feed records it: trades of
// several symbols in arrival order, up to maxDisorder out of event-time
// order, some trades redelivered (the same line again, a little later), and
// malformed lines among them.
type capture struct {
	lines     []string
	malformed []string // the malformed lines, each once
	copies    int      // redelivered lines
	// late are trades published after the capture, stamped before its
	// first window closed: the stream files them as late dead letters.
	late []string
}

// newCapture makes n trades over span from base, 1% of them redelivered,
// with the malformed lines of malformedLines spread over it.
func newCapture(seed uint64, base time.Time, span time.Duration, n int, maxDisorder time.Duration) capture {
	rng := rand.New(rand.NewPCG(seed, 1))
	symbols := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}
	price := map[string]float64{"BTCUSDT": 97000, "ETHUSDT": 3300, "SOLUSDT": 190}
	ids := map[string]int{"BTCUSDT": 4_000_000, "ETHUSDT": 2_000_000, "SOLUSDT": 900_000}
	type line struct {
		arrival time.Time
		text    string
	}
	var ls []line
	add := func(event time.Time, text string) time.Time {
		at := event.Add(time.Duration(rng.Int64N(int64(maxDisorder) + 1)))
		ls = append(ls, line{at, text})
		return at
	}
	var c capture
	for i := range n {
		event := base.Add(span * time.Duration(i) / time.Duration(n)).Truncate(time.Millisecond)
		sym := symbols[rng.IntN(len(symbols))]
		price[sym] *= 1 + (rng.Float64()-0.5)*0.002
		ids[sym]++
		text := fmt.Sprintf(`{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%.2f","q":"%.4f","T":%d,"m":%v,"M":true}`,
			event.UnixMilli()+3, sym, ids[sym], price[sym], 0.0001+rng.Float64()*2, event.UnixMilli(), rng.IntN(2) == 0)
		at := add(event, text)
		if rng.IntN(100) == 0 { // redelivered a little later
			ls = append(ls, line{at.Add(time.Duration(rng.Int64N(int64(maxDisorder) + 1))), text})
			c.copies++
		}
	}
	for i, text := range malformedLines {
		event := base.Add(span * time.Duration(2*i+1) / time.Duration(2*len(malformedLines))).Truncate(time.Millisecond)
		text = strings.ReplaceAll(text, "MS", fmt.Sprint(event.UnixMilli()))
		add(event, text)
		c.malformed = append(c.malformed, text)
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].arrival.Before(ls[j].arrival) })
	for _, l := range ls {
		c.lines = append(c.lines, l.text)
	}
	return c
}

// malformedLines fail to parse (no timestamp attribute then: stamped with
// their publish time) or to validate (stamped with their old trade time).
// MS stands for the trade time.
var malformedLines = []string{
	`{"e":"trade","E":MS,"s":"","t":1,"p":"100.00","q":"1.0000","T":MS,"m":false,"M":true}`,
	`{"e":"trade","E":MS,"s":"BTCUSDT","t":2,"p":"0","q":"1.0000","T":MS,"m":false,"M":true}`,
	`{"e":"trade","E":MS,"s":"ETHUSDT","t":3,"p":"3300.00","q":"-2.5000","T":MS,"m":true,"M":true}`,
	`{"e":"trade","E":MS,"s":"SOLUSDT","t":4,"p":"0.00","q":"1.0000","T":MS,"m":true,"M":true}`,
	`{"e":"trade","E":MS,"s":"BTCUSDT","t":5,"p":"97000.00","q":"-0.1000","T":MS,"m":false,"M":true}`,
	`{"e":"trade","E":MS,"s":"BTCUSDT","t":6,"p":"abc","q":"1","T":MS,"m":false,"M":true}`,
	`{"e":"trade","s":"ETHUSDT","t":7,"p":"1","q":"1","T":MS`,
	`{"stream":"btcusdt@trade","data":null}`,
	`{"e":"trade","E":MS,"s":"SOLUSDT","t":8,"p":"190.00","q":"1","T":MS}`,
	`{}`,
}

var replaySeq atomic.Int64

// TestBacklogReplayExactBars is the replay of a backlog, the normal
// situation after a restart or an outage: a capture (12 minutes of three
// symbols' trades, 1% redelivered, up to 4 s out of order, 10 malformed
// lines) is published at full speed by `tickbeam feed` to the Pub/Sub
// emulator first; then `tickbeam monitor` streams it. Each run must give the
// bars a batch run of the same file gives, and dead letters for the
// malformed lines only: the reader's watermark may not pass event times
// still waiting in the subscription, nor jump to the wall clock before the
// subscription is drained. Several runs, since a loss shows in some runs
// only.
func TestBacklogReplayExactBars(t *testing.T) {
	testenv.PubSub(t)
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	c := newCapture(15, base, 12*time.Minute, 11_500, 4*time.Second)
	path, want, wantDead := replayTruth(t, c, "1m", 3*12)
	for i := range 5 {
		t.Run(fmt.Sprintf("run-%d", i+1), func(t *testing.T) {
			replayOnce(t, path, c, want, wantDead, false, nil, "--bar=1m")
		})
	}
}

// TestLiveReplayExactBars starts the monitor first, then publishes a
// capture of trades stamped from now on at their recorded pace (20 s, up to
// 4 s out of order, 1% redelivered, 10 malformed lines), as a live feed
// would, and after it two trades of its first seconds: with
// --watermark_delay above the feed's disorder, the bars equal a batch run's
// of the capture, the malformed lines are parse or validate dead letters
// and the two latecomers late ones. The stream's raw archive (--raw_out)
// replayed in batch (--format=tick, the backfill path of `tickbeam daily`)
// gives the stream's bars again: what was late is in the dead letters, not
// in the archive.
func TestLiveReplayExactBars(t *testing.T) {
	testenv.PubSub(t)
	base := time.Now().Truncate(time.Millisecond)
	c := newCapture(12, base, 20*time.Second, 400, 4*time.Second)
	for i, sym := range []string{"BTCUSDT", "ETHUSDT"} {
		at := base.Add(time.Duration(i) * time.Second).UnixMilli()
		c.late = append(c.late, fmt.Sprintf(`{"e":"trade","E":%d,"s":"%s","t":%d,"p":"100.00","q":"5.0000","T":%d,"m":false,"M":true}`,
			at, sym, 9_000_000+i, at))
	}
	path, want, wantDead := replayTruth(t, c, "10s", 0)
	raw := t.TempDir()
	var trades int64
	for _, b := range want {
		trades += b.Trades
	}
	// The archive's minute windows close after the bars: the run goes on
	// until it holds every trade.
	archived := func() (n int64, files int) {
		paths, _ := filepath.Glob(filepath.Join(raw, "dt=*", "hour=*", "*"))
		for _, f := range paths {
			if data, err := os.ReadFile(f); err == nil {
				n += int64(bytes.Count(data, []byte("\n")))
			}
		}
		return n, len(paths)
	}
	replayOnce(t, path, c, want, wantDead, true, func() bool { n, _ := archived(); return n >= trades },
		"--bar=10s", "--watermark_delay=5s", "--raw_out="+raw)
	if n, files := archived(); n != trades {
		t.Fatalf("the raw archive holds %d ticks in %d files, want the %d distinct trades of the bars", n, files, trades)
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"monitor", "--input=" + filepath.Join(raw, "dt=*", "hour=*", "*"), "--format=tick",
		"--bar=10s", "--bars_out=" + dir}, &out, &errb); code != 0 {
		t.Fatalf("monitor over the raw archive: exit %d: %s", code, errb.String())
	}
	if diff := cmp.Diff(want, finalBars(t, dir, true), barsCmp...); diff != "" {
		t.Errorf("bars (-stream and batch run +raw archive replayed):\n%s", diff)
	}
}

// replayTruth writes the capture to a file and runs the monitor on it in
// batch: the bars (nBars of them, unless 0) and dead letters a stream of it
// must give.
func replayTruth(t *testing.T, c capture, bar string, nBars int) (path string, want []tickbeam.Bar, wantDead []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "capture.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(c.lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("capture: %d lines, %d redelivered, %d malformed", len(c.lines), c.copies, len(c.malformed))
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"monitor", "--input=" + path, "--format=binance", "--bar=" + bar,
		"--bars_out=" + dir}, &out, &errb); code != 0 {
		t.Fatalf("batch monitor: exit %d: %s", code, errb.String())
	}
	want = finalBars(t, dir, true)
	if nBars > 0 && len(want) != nBars {
		t.Fatalf("the batch run gave %d bars, want %d", len(want), nBars)
	}
	wantDead = append([]string(nil), c.malformed...)
	sort.Strings(wantDead)
	if got := deadPayloads(t, dir, true); !cmp.Equal(wantDead, got) {
		t.Fatalf("the batch run's dead letters (-want +got):\n%s", cmp.Diff(wantDead, got))
	}
	return path, want, wantDead
}

// replayOnce publishes the capture with `tickbeam feed` before the monitor
// starts, or (live) at its recorded pace once it runs, and checks what the
// monitor wrote against the batch run's bars and dead letters.
//
// The run stops once bars and dead letters are complete and, if done is not
// nil, done says so too.
func replayOnce(t *testing.T, capturePath string, c capture, want []tickbeam.Bar, wantDead []string, live bool, done func() bool, monitorArgs ...string) {
	topic, sub := newStream(t, "replay")
	if !live {
		publishCapture(t, capturePath, topic, "max")
	}

	dir := t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var mout, merr bytes.Buffer
	exited := make(chan int, 1)
	start := time.Now()
	go func() {
		exited <- run(ctx, append([]string{"monitor", "--input=pubsub:" + sub, "--bars_out=" + dir,
			"--deadletter_out=" + filepath.Join(dir, "dead"), "--duration=3m"}, monitorArgs...), &mout, &merr)
	}()
	if live {
		publishCapture(t, capturePath, topic, "1") // while the monitor starts and reads
	}
	if len(c.late) > 0 {
		latePath := filepath.Join(t.TempDir(), "late.jsonl")
		if err := os.WriteFile(latePath, []byte(strings.Join(c.late, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		publishCapture(t, latePath, topic, "max")
	}
	// Stop once the bars and the dead letters are complete, or after 170 s (a raw archive minute closes up to a minute after the bars).
	complete := false
	for deadline := time.Now().Add(170 * time.Second); time.Now().Before(deadline) && !complete; {
		select {
		case code := <-exited:
			t.Fatalf("monitor exited early (%d): %s", code, merr.String())
		case <-time.After(500 * time.Millisecond):
		}
		complete = cmp.Equal(want, finalBars(t, dir, false), barsCmp...) && len(deadPayloads(t, filepath.Join(dir, "dead"), false)) >= len(wantDead)+len(c.late) &&
			(done == nil || done())
	}
	took := time.Since(start)
	stop()
	if code := <-exited; code != 0 {
		t.Fatalf("monitor: exit %d: %s", code, merr.String())
	}
	t.Logf("monitor complete %v after it started (%v)", took.Round(100*time.Millisecond), complete)

	if diff := cmp.Diff(want, finalBars(t, dir, true), barsCmp...); diff != "" {
		t.Errorf("bars (-batch run +stream):\n%s", diff)
	}
	dead := readRows[tickbeam.DeadLetter](t, filepath.Join(dir, "dead"), "deadletters")
	var late []string
	dead = slices.DeleteFunc(dead, func(d tickbeam.DeadLetter) bool {
		if d.Stage == tickbeam.StageLate {
			late = append(late, d.PayloadString)
		}
		return d.Stage == tickbeam.StageLate
	})
	if diff := cmp.Diff(c.late, late, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("late dead letters: want the trades published late (-want +got):\n%s", diff)
	}
	checkDeadLetters(t, dead, wantDead, true)
	checkReplayCounters(t, mout.String(), c)
}

// newStream creates a topic and a subscription to it, named after prefix
// and a sequence number.
func newStream(t *testing.T, prefix string) (topic, sub string) {
	t.Helper()
	n := replaySeq.Add(1)
	topic = fmt.Sprintf("projects/%s/topics/%s-%d", testenv.Project, prefix, n)
	sub = fmt.Sprintf("projects/%s/subscriptions/%s-%d", testenv.Project, prefix, n)
	if err := pubsubx.CreateTopic(context.Background(), topic); err != nil {
		t.Fatal(err)
	}
	if err := pubsubx.CreateSubscription(context.Background(), sub, topic); err != nil {
		t.Fatal(err)
	}
	return topic, sub
}

// publishCapture publishes the capture file to topic with `tickbeam feed`
// at speed (max: as fast as it can; 1: at its recorded pace).
func publishCapture(t *testing.T, capturePath, topic, speed string) {
	t.Helper()
	if err := feedCapture(context.Background(), capturePath, topic, speed, t.Logf); err != nil {
		t.Error(err)
	}
}

// feedCapture runs `tickbeam feed` on the capture file and logs its count.
func feedCapture(ctx context.Context, capturePath, topic, speed string, logf func(string, ...any)) error {
	var out, errb bytes.Buffer
	start := time.Now()
	if code := run(ctx, []string{"feed", "--input=" + capturePath, "--format=binance", "--to=pubsub:" + topic,
		"--speed=" + speed}, &out, &errb); code != 0 {
		return fmt.Errorf("feed: exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	logf("%s in %s", strings.TrimSpace(out.String()), time.Since(start).Round(time.Millisecond))
	return nil
}

// checkDeadLetters wants the malformed lines as parse or validate dead
// letters: each exactly once, or (not exact: a run restarted after a crash
// may write a dead letter again) each at least once and nothing else.
func checkDeadLetters(t *testing.T, dead []tickbeam.DeadLetter, wantDead []string, exact bool) {
	t.Helper()
	var got []string
	for _, d := range dead {
		got = append(got, d.PayloadString)
		if d.Stage != tickbeam.StageParse && d.Stage != tickbeam.StageValidate {
			t.Errorf("dead letter of stage %s (%s): %s", d.Stage, d.ErrorMessage, d.PayloadString)
		}
	}
	sort.Strings(got)
	if !exact {
		got = slices.Compact(got)
	}
	if diff := cmp.Diff(wantDead, got); diff != "" {
		t.Errorf("dead letters: want the malformed lines only (-want +got):\n%s", diff)
	}
}

// checkReplayCounters checks a run's summary: every line published is a
// message parsed (the late ones too, by parse.Late) or a late copy dropped;
// every redelivered line is a duplicate, in dedupe or (late) in the reader;
// only c.late is late.
func checkReplayCounters(t *testing.T, summary string, c capture) {
	t.Helper()
	messages, lateDups := summaryCounter(summary, "parse.messages"), max(summaryCounter(summary, "pubsub.late_duplicates"), 0)
	dups, late := max(summaryCounter(summary, "dedupe.duplicates"), 0), max(summaryCounter(summary, "pubsub.late"), 0)
	if messages+lateDups != int64(len(c.lines)+len(c.late)) || dups+lateDups != int64(c.copies) || late != int64(len(c.late)) {
		t.Errorf("counters: parse.messages %d + pubsub.late_duplicates %d, want %d lines; dedupe.duplicates %d + late duplicates, want %d copies; pubsub.late %d, want %d:\n%s",
			messages, lateDups, len(c.lines)+len(c.late), dups, c.copies, late, len(c.late), summary)
	}
}

var barsCmp = []cmp.Option{cmpopts.IgnoreFields(tickbeam.Bar{}, "Timing", "PaneIndex"), cmpopts.EquateApprox(0, 1e-9)}

// finalBars reads the bars in dir, the newest pane of each window, sorted.
// Unless strict, unreadable files (being written) are skipped.
func finalBars(t *testing.T, dir string, strict bool) []tickbeam.Bar {
	t.Helper()
	final := map[string]tickbeam.Bar{}
	for _, b := range readRowsMaybe[tickbeam.Bar](t, dir, "bars", strict) {
		k := b.Symbol + b.WindowStart.String()
		if f, ok := final[k]; !ok || b.PaneIndex > f.PaneIndex {
			final[k] = b
		}
	}
	out := make([]tickbeam.Bar, 0, len(final))
	for _, b := range final {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Symbol < out[j].Symbol || out[i].Symbol == out[j].Symbol && out[i].WindowStart.Before(out[j].WindowStart)
	})
	return out
}

func deadPayloads(t *testing.T, dir string, strict bool) []string {
	t.Helper()
	var out []string
	for _, d := range readRowsMaybe[tickbeam.DeadLetter](t, dir, "deadletters", strict) {
		out = append(out, d.PayloadString)
	}
	sort.Strings(out)
	return out
}

// readRowsMaybe is readRows that, unless strict, skips what it cannot read.
func readRowsMaybe[T any](t *testing.T, dir, prefix string, strict bool) []T {
	t.Helper()
	if strict {
		return readRows[T](t, dir, prefix)
	}
	files, _ := filepath.Glob(filepath.Join(dir, prefix+"*.jsonl"))
	var rows []T
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var r T
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				rows = append(rows, r)
			}
		}
	}
	return rows
}
