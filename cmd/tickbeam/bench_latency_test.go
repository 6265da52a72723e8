package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/feed"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// Streaming latency benchmark settings, read from the environment (flags
// would not do: `tickbeam monitor` resets the process's flag set to its
// defaults when it starts).
const (
	// envRate: ticks published per second, all symbols together (default 5000).
	envRate = "TICKBEAM_BENCH_RATE"
	// envDuration: how long to publish, a Go duration (default 2m).
	envDuration = "TICKBEAM_BENCH_DURATION"
	// envSymbols: comma-separated symbols (default 10 of them).
	envSymbols = "TICKBEAM_BENCH_SYMBOLS"
	// envGrace: how much longer than duration+60s the monitor runs (default
	// 30s), see BenchmarkStreamingLatency.
	envGrace = "TICKBEAM_BENCH_GRACE"
)

const (
	benchPollEvery  = 250 * time.Millisecond
	benchCountEvery = 5 * time.Second
	warmupSymbol    = "WARMUP"
)

var benchRuns atomic.Int64

// BenchmarkStreamingLatency measures the streaming monitor end to end on the
// emulators: live synthetic ticks are published to the Pub/Sub emulator at
// $TICKBEAM_BENCH_RATE ticks/s (default 5000) for $TICKBEAM_BENCH_DURATION
// (default 2m), one message per tick carrying format=tick, source=synthetic
// and ts=<event time ms>, with event time = the wall clock. `tickbeam
// monitor` streams them on prism into 1s and 1m bars and the raw ticks, all
// to the BigQuery emulator, while the benchmark polls the 1s bars every
// 250ms. The latency of a 1s bar window is the wall time its row first
// shows in a query minus the wall time its last tick was published
// (ms-p50, ms-p99, ms-max), and minus its window end (ms-end-p50,
// ms-end-p99). rows/s is the raw ticks table's row count over the publish
// duration. The benchmark fails unless the ticks table ends up with exactly
// the ticks published.
//
// Before measuring, one warm-up tick (symbol WARMUP) is published and the
// benchmark waits until its bar is queryable, so pipeline start-up (prism,
// workers, BigQuery clients) is not counted. It is included in the counts.
//
// The monitor runs for duration + 60s + $TICKBEAM_BENCH_GRACE (default 30s)
// from its start: raw ticks are written per 1-minute window, and the monitor
// is cancelled, not drained, at --duration, so the last minute window must
// close (5s idle timeout, 2s watermark delay) and be appended before then.
//
//	go test -run '^$' -bench StreamingLatency -benchtime 1x -timeout 20m ./cmd/tickbeam/
//	TICKBEAM_BENCH_DURATION=30s go test -run '^$' -bench StreamingLatency -benchtime 1x ./cmd/tickbeam/
func BenchmarkStreamingLatency(b *testing.B) {
	rate := envFloat(b, envRate, 5000)
	dur := envDur(b, envDuration, 2*time.Minute)
	grace := envDur(b, envGrace, 30*time.Second)
	symbols := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AVGO", "JPM", "V"}
	if s := os.Getenv(envSymbols); s != "" {
		symbols = strings.Split(s, ",")
	}
	if rate <= 0 || rate > synthetic.MaxRate || dur <= 0 || grace < 0 {
		b.Fatalf("bad settings: rate %v, duration %v, grace %v", rate, dur, grace)
	}

	testenv.PubSub(b)
	testenv.BigQuery(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	n := benchRuns.Add(1)
	topic := fmt.Sprintf("projects/%s/topics/bench-ticks-%d", testenv.Project, n)
	sub := fmt.Sprintf("projects/%s/subscriptions/bench-monitor-%d", testenv.Project, n)
	dataset := "bench"
	if n > 1 {
		dataset = fmt.Sprintf("bench_%d", n)
	}
	table := func(name string) bigqueryx.Table {
		return bigqueryx.Table{Project: testenv.Project, Dataset: dataset, Table: name}
	}
	barsT, deadT, ticksT := table("bars"), table("dead"), table("ticks")
	if err := pubsubx.CreateTopic(ctx, topic); err != nil {
		b.Fatal(err)
	}
	if err := pubsubx.CreateSubscription(ctx, sub, topic); err != nil {
		b.Fatal(err)
	}
	pub, err := pubsubx.NewPublisher(ctx, topic, pubsubx.PublisherOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close(context.Background())
	bq := bigqueryx.Options{Project: testenv.Project}
	// Create the tables one after another before the monitor starts: its
	// three writers would otherwise race to create the dataset, and the
	// emulator answers the losers 500 "already created" (not 409), which
	// fails the job.
	for _, t := range []struct {
		table bigqueryx.Table
		row   any
	}{{barsT, tickbeam.Bar{}}, {deadT, tickbeam.DeadLetter{}}, {ticksT, tickbeam.Tick{}}} {
		schema, err := bigqueryx.SchemaOf(t.row)
		if err != nil {
			b.Fatal(err)
		}
		if err := bigqueryx.EnsureTable(ctx, t.table, schema, bigqueryx.TableOptions{Options: bq}); err != nil {
			b.Fatal(err)
		}
	}

	// The monitor, in this process as `tickbeam monitor`.
	monitorDur := dur + time.Minute + grace
	verbose := os.Getenv("TICKBEAM_BENCH_VERBOSE") != ""
	var extra []string
	if v := os.Getenv("TICKBEAM_BENCH_MONITOR_ARGS"); v != "" {
		extra = strings.Fields(v)
	}
	var mout, merr bytes.Buffer
	monitorDone := make(chan int, 1)
	monitorStart := time.Now()
	go func() {
		monitorDone <- run(ctx, append([]string{"monitor", "--input=pubsub:" + sub, "--bar=1s,1m",
			"--bars_out=bq:" + barsT.String(), "--deadletter_out=bq:" + deadT.String(), "--raw_out=bq:" + ticksT.String(),
			"--duration=" + monitorDur.String()}, extra...), &mout, &merr)
	}()
	monitorCode := -1
	exited := func() bool {
		if monitorCode >= 0 {
			return true
		}
		select {
		case monitorCode = <-monitorDone:
			return true
		default:
			return false
		}
	}
	defer func() {
		// On an early return, stop the monitor (its context) and wait.
		cancel()
		if !exited() {
			select {
			case monitorCode = <-monitorDone:
			case <-time.After(time.Minute):
			}
		}
	}()

	// Pollers: the 1s bars every 250ms, the ticks table's count every 5s.
	pollCtx, stopPolling := context.WithCancel(ctx)
	var pollWG sync.WaitGroup
	var mu sync.Mutex
	seen := map[winKey]time.Time{}
	var polls, pollErrs int
	var pollTime time.Duration
	var lastPollErr error
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		q := "SELECT symbol, window_start FROM " + barsT.SQL() + " WHERE resolution = '1s'"
		t := time.NewTicker(benchPollEvery)
		defer t.Stop()
		for {
			start := time.Now()
			rows, err := bigqueryx.Query(pollCtx, q, bq)
			at := time.Now()
			if pollCtx.Err() != nil {
				return
			}
			mu.Lock()
			polls++
			pollTime += at.Sub(start)
			if err != nil {
				pollErrs++ // the table does not exist until the first bars are written
				lastPollErr = err
			}
			for _, r := range rows {
				sym, _ := r["symbol"].(string)
				ws, ok := r["window_start"].(time.Time)
				if !ok {
					continue
				}
				k := winKey{sym, ws.UnixMilli()}
				if _, dup := seen[k]; !dup {
					seen[k] = at
				}
			}
			mu.Unlock()
			select {
			case <-pollCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	type sample struct {
		at time.Time
		n  int64
	}
	var counts []sample
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		t := time.NewTicker(benchCountEvery)
		defer t.Stop()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-t.C:
			}
			c, err := countRows(pollCtx, ticksT, "", bq)
			if err != nil {
				continue
			}
			mu.Lock()
			counts = append(counts, sample{time.Now(), c})
			if verbose {
				var newest int64
				for k := range seen {
					newest = max(newest, k.startMs)
				}
				b.Logf("%s: ticks table %d rows, %d 1s bars queryable, newest window end %s ago",
					time.Since(monitorStart).Round(time.Second), c, len(seen), time.Since(time.UnixMilli(newest).Add(time.Second)).Round(time.Millisecond))
			}
			mu.Unlock()
		}
	}()
	stopPollers := func() {
		stopPolling()
		pollWG.Wait()
	}
	defer stopPollers()

	// Warm-up: one tick, then wait for its bar.
	warmAt := time.Now()
	if err := publishTick(ctx, pub, synthetic.Config{Symbols: []string{warmupSymbol}, Rate: 1, Count: 1, Start: warmAt}); err != nil {
		b.Fatal(err)
	}
	warmKey := winKey{warmupSymbol, warmAt.Truncate(time.Second).UnixMilli()}
	for {
		mu.Lock()
		at, ok := seen[warmKey]
		mu.Unlock()
		if ok {
			b.Logf("warm-up: monitor started %s before, warm-up bar queryable %s after its tick",
				warmAt.Sub(monitorStart).Round(time.Millisecond), at.Sub(warmAt).Round(time.Millisecond))
			break
		}
		if exited() {
			b.Fatalf("monitor exited (%d) before the warm-up bar was queryable:\n%s\n%s", monitorCode, mout.String(), merr.String())
		}
		if time.Since(warmAt) > 3*time.Minute {
			mu.Lock()
			perr := lastPollErr
			mu.Unlock()
			b.Fatalf("warm-up bar not queryable after 3 minutes (last poll error: %v)", perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := monitorDur - time.Since(monitorStart); left < dur+time.Minute {
		b.Logf("warning: the monitor stops in %s, less than the publish duration + 60s: raise %s", left.Round(time.Second), envGrace)
	}

	// Publish live ticks: tick i at start + i/rate, event time = that.
	b.ResetTimer()
	start := time.Now()
	gen, err := synthetic.NewGenerator(synthetic.Config{Symbols: symbols, Rate: rate, Duration: dur, Start: start, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	last := map[winKey]time.Time{} // wall time each 1s window's last tick was published
	var published int64
	var maxBehind time.Duration
	for {
		t, ok := gen.Next()
		if !ok {
			break
		}
		now := time.Now()
		if wait := t.EventTime.Sub(now); wait > time.Millisecond {
			time.Sleep(wait)
		} else if behind := -wait; behind > maxBehind {
			maxBehind = behind
		}
		payload, err := json.Marshal(t)
		if err != nil {
			b.Fatal(err)
		}
		if err := pub.Publish(ctx, payload, tickAttributes(t.EventTime)); err != nil {
			b.Fatal(err)
		}
		published++
		last[winKey{t.Symbol, t.EventTime.Truncate(time.Second).UnixMilli()}] = time.Now()
	}
	lastCall := time.Now()
	if err := pub.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	pubEnd := time.Now()
	pubElapsed := lastCall.Sub(start)
	achieved := float64(published) / pubElapsed.Seconds()
	if got := pub.Published(); got != published+1 {
		b.Errorf("Pub/Sub accepted %d messages, want %d (+1 warm-up)", got, published)
	}

	// Wait for the monitor to stop by itself after --duration.
	select {
	case monitorCode = <-monitorDone:
	case <-time.After(time.Until(monitorStart.Add(monitorDur + 2*time.Minute))):
		b.Fatalf("monitor still running %s after its start (--duration=%s)", time.Since(monitorStart).Round(time.Second), monitorDur)
	}
	b.StopTimer()
	stopPollers()
	if monitorCode != 0 {
		b.Fatalf("monitor: exit %d: %s", monitorCode, merr.String())
	}

	// Count in == count out.
	fctx := context.Background()
	ticksOut, err := countRows(fctx, ticksT, "", bq)
	if err != nil {
		b.Fatal(err)
	}
	benchOut, err := countRows(fctx, ticksT, "symbol != '"+warmupSymbol+"'", bq)
	if err != nil {
		b.Fatal(err)
	}
	distinct, err := queryInt(fctx, "SELECT COUNT(DISTINCT CONCAT(symbol, '/', trade_id)) AS n FROM "+ticksT.SQL(), bq)
	if err != nil {
		b.Fatal(err)
	}
	barTrades, err := queryInt(fctx, "SELECT SUM(trades) AS n FROM "+barsT.SQL()+" WHERE resolution = '1s' AND symbol != '"+warmupSymbol+"'", bq)
	if err != nil {
		b.Logf("sum of 1s bar trades: %v", err)
	}
	deadOut, err := countRows(fctx, deadT, "", bq)
	if err != nil {
		deadOut = 0 // no dead letter, no table
	}
	rowsWritten := summaryCounter(mout.String(), "bigquery.rows_written")

	// Latencies of the benchmark's 1s windows.
	var fromPub, fromEnd []time.Duration
	var unseen []winKey
	var lastWin int64
	for k := range last {
		lastWin = max(lastWin, k.startMs)
	}
	var tailLat []time.Duration // windows closed by the idle timeout
	for k, p := range last {
		v, ok := seen[k]
		if !ok {
			unseen = append(unseen, k)
			continue
		}
		fromPub = append(fromPub, v.Sub(p))
		fromEnd = append(fromEnd, v.Sub(time.UnixMilli(k.startMs).Add(time.Second)))
		if k.startMs == lastWin {
			tailLat = append(tailLat, v.Sub(p))
		}
	}
	sort.Slice(unseen, func(i, j int) bool { return unseen[i].startMs < unseen[j].startMs })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rowsPerSec := float64(ticksOut) / pubElapsed.Seconds()
	var peak float64
	var allInAt time.Time
	for i, c := range counts {
		if i > 0 {
			peak = max(peak, float64(c.n-counts[i-1].n)/c.at.Sub(counts[i-1].at).Seconds())
		}
		if allInAt.IsZero() && c.n >= published+1 {
			allInAt = c.at
		}
	}

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(percentile(fromPub, 0.50)), "ms-p50")
	b.ReportMetric(ms(percentile(fromPub, 0.99)), "ms-p99")
	b.ReportMetric(ms(percentile(fromPub, 1)), "ms-max")
	b.ReportMetric(ms(percentile(fromEnd, 0.50)), "ms-end-p50")
	b.ReportMetric(ms(percentile(fromEnd, 0.99)), "ms-end-p99")
	b.ReportMetric(float64(len(last)), "windows")
	b.ReportMetric(float64(len(unseen)), "windows-unseen")
	b.ReportMetric(rowsPerSec, "rows/s")
	b.ReportMetric(achieved, "ticks/s-published")

	mu.Lock()
	meanPoll := time.Duration(0)
	if polls > 0 {
		meanPoll = pollTime / time.Duration(polls)
	}
	mu.Unlock()
	var s strings.Builder
	fmt.Fprintf(&s, "\nstreaming latency, %d symbols, target %.0f ticks/s for %s (GOMAXPROCS %d, %d CPUs):\n", len(symbols), rate, dur, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(&s, "  published     %d ticks in %s: %.0f ticks/s achieved (%.0f%% of target); publisher at most %s behind schedule; flush took %s\n",
		published, pubElapsed.Round(time.Millisecond), achieved, 100*achieved/rate, maxBehind.Round(time.Millisecond), pubEnd.Sub(lastCall).Round(time.Millisecond))
	fmt.Fprintf(&s, "  1s windows    %d, %d never queryable", len(last), len(unseen))
	if len(unseen) > 0 {
		fmt.Fprintf(&s, " (first %s %s)", unseen[0].symbol, time.UnixMilli(unseen[0].startMs).UTC().Format("15:04:05"))
	}
	fmt.Fprintln(&s)
	fmt.Fprintf(&s, "  latency       last tick published -> 1s bar queryable: p50 %s, p99 %s, max %s\n",
		percentile(fromPub, .5).Round(time.Millisecond), percentile(fromPub, .99).Round(time.Millisecond), percentile(fromPub, 1).Round(time.Millisecond))
	fmt.Fprintf(&s, "                window end -> queryable: p50 %s, p99 %s; the last second's windows (closed by the idle timeout): max %s\n",
		percentile(fromEnd, .5).Round(time.Millisecond), percentile(fromEnd, .99).Round(time.Millisecond), percentile(tailLat, 1).Round(time.Millisecond))
	fmt.Fprintf(&s, "                polled every %s, a poll took %s on average (%d polls, %d errors)\n", benchPollEvery, meanPoll.Round(time.Millisecond), polls, pollErrs)
	fmt.Fprintf(&s, "  BigQuery      ticks table %d rows = %.0f rows/s over the publish time; peak %.0f rows/s over %s samples", ticksOut, rowsPerSec, peak, benchCountEvery)
	if !allInAt.IsZero() {
		fmt.Fprintf(&s, "; all rows in %s after publishing ended", allInAt.Sub(pubEnd).Round(time.Second))
	}
	fmt.Fprintf(&s, "\n                bigquery.rows_written %d (bars + ticks + dead letters), dead letters %d, 1s bars sum(trades) %d\n", rowsWritten, deadOut, barTrades)
	fmt.Fprintf(&s, "  count in/out  published %d (+1 warm-up), ticks table %d (%d benchmark, %d distinct): ", published, ticksOut, benchOut, distinct)
	ok := ticksOut == published+1 && benchOut == published && distinct == ticksOut
	if ok {
		fmt.Fprintln(&s, "equal")
	} else {
		fmt.Fprintln(&s, "NOT EQUAL")
	}
	fmt.Fprintf(&s, "  monitor       ran %s (--duration=%s):\n%s", time.Since(monitorStart).Round(time.Second), monitorDur, mout.String())
	b.Log(s.String())
	if !ok {
		b.Errorf("count in != count out: published %d ticks (+1 warm-up), the ticks table holds %d (%d benchmark, %d distinct)", published, ticksOut, benchOut, distinct)
	}
	if len(unseen) > 0 {
		b.Errorf("%d of %d 1s bar windows never became queryable", len(unseen), len(last))
	}
}

type winKey struct {
	symbol  string
	startMs int64
}

// tickAttributes are the attributes `tickbeam feed` puts on a synthetic tick.
func tickAttributes(eventTime time.Time) map[string]string {
	return map[string]string{
		parse.FormatAttribute:   "tick",
		parse.SourceAttribute:   synthetic.Source,
		feed.TimestampAttribute: strconv.FormatInt(eventTime.UnixMilli(), 10),
	}
}

func publishTick(ctx context.Context, pub *pubsubx.Publisher, cfg synthetic.Config) error {
	g, err := synthetic.NewGenerator(cfg)
	if err != nil {
		return err
	}
	t, _ := g.Next()
	payload, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return pub.PublishRaw(ctx, payload, tickAttributes(t.EventTime))
}

func countRows(ctx context.Context, t bigqueryx.Table, where string, o bigqueryx.Options) (int64, error) {
	q := "SELECT COUNT(*) AS n FROM " + t.SQL()
	if where != "" {
		q += " WHERE " + where
	}
	return queryInt(ctx, q, o)
}

func queryInt(ctx context.Context, q string, o bigqueryx.Options) (int64, error) {
	rows, err := bigqueryx.Query(ctx, q, o)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("%s: %d rows", q, len(rows))
	}
	switch n := rows[0]["n"].(type) {
	case int64:
		return n, nil
	case nil:
		return 0, nil
	default:
		return 0, fmt.Errorf("%s: n is %T", q, n)
	}
}

// summaryCounter reads a counter from the monitor's summary, -1 if absent.
func summaryCounter(summary, name string) int64 {
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s+(\d+)\s*$`).FindStringSubmatch(summary)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// percentile is the nearest-rank q-quantile of ds (q=1: the maximum).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func envFloat(b *testing.B, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return f
}

func envDur(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}
