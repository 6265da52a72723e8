package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/cmd/tickbeam/internal/feed"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/runners"
)

// Settings of BenchmarkStreamingLatency, read from the environment (not
// flags: `tickbeam monitor` resets the process's flag set to its defaults
// when it starts).
const (
	envRate     = "TICKBEAM_BENCH_RATE"              // ticks/s published, all symbols together; default 5000
	envDuration = "TICKBEAM_BENCH_DURATION"          // how long to publish; default 2m
	envSymbols  = "TICKBEAM_BENCH_SYMBOLS"           // comma-separated; default 10 symbols
	envBars     = "TICKBEAM_BENCH_BARS"              // the monitor's --bar; default 1s,1m (must hold 1s)
	envGrace    = "TICKBEAM_BENCH_GRACE"             // --duration is duration + 60s + this; default 3m
	envArgs     = "TICKBEAM_BENCH_MONITOR_ARGS"      // more monitor flags, space-separated
	envVerbose  = "TICKBEAM_BENCH_VERBOSE"           // non-empty: log progress every 5s
	envAlerts   = "TICKBEAM_BENCH_ALERTS"            // "0": no rules; default price_cross rules delivered to a local webhook
	envRaw      = "TICKBEAM_BENCH_RAW"               // "0": no raw ticks table; the count is the 1s bars' trades
	envPack     = "TICKBEAM_BENCH_TICKS_PER_MESSAGE" // ticks per Pub/Sub message (a JSON array); default 1
)

const (
	benchPollEvery  = 250 * time.Millisecond
	benchCountEvery = 5 * time.Second
	// benchSteadyAfter is when the reader's watermark hold has adapted
	// (io/pubsubx: calmFor after its first pull).
	benchSteadyAfter = time.Minute
	warmupSymbol     = "WARMUP"
	// benchQueryTimeout only guards against a hung emulator: the BigQuery
	// emulator (v0.6.6) can answer every later request with 500 "sql:
	// connection is already closed" after a client abandons a request
	// (goccy/bigquery-emulator#322, #478), so polls are never cancelled.
	benchQueryTimeout = 2 * time.Minute
)

var benchRuns atomic.Int64

// BenchmarkStreamingLatency measures the streaming monitor end to end on the
// emulators. Live synthetic ticks are published to the Pub/Sub emulator at
// $TICKBEAM_BENCH_RATE ticks/s (default 5000) for $TICKBEAM_BENCH_DURATION
// (default 2m), one message per tick with the attributes `tickbeam feed`
// sets (format=tick, source=synthetic, ts=<event time ms>) and event time =
// the wall clock. `tickbeam monitor --bar=1s,1m` streams them on prism into
// bars and the raw ticks, all to the BigQuery emulator, while the benchmark
// queries the 1s bars every 250ms.
//
// The latency of a 1s bar window is the wall time its row first shows in a
// query minus the wall time its last tick was published (ms-p50, ms-p99,
// ms-max), and minus the window's end (ms-end-p50, ms-end-p99);
// ms-live-end-p99 and alert-live-p99 count only what arrived before
// publishing ended (the last windows then wait for the reader's idle
// timeout, which a live feed never reaches). rows/s is
// the raw ticks table's row count over the publish time. The benchmark fails
// unless the ticks table ends up with exactly the ticks published and every
// 1s window shows up.
//
// Unless $TICKBEAM_BENCH_ALERTS is "0", the monitor also runs price_cross
// rules on the ticks (levels 0.02%, 0.04% and 0.06% above and below each
// symbol's first price, re-armed 0.01% back) that notify a webhook served
// by the benchmark: the latency of an alert is the wall time its POST
// arrives minus its tick's event time, which is when the tick was due to be
// published (alert-p50, alert-p95, alert-p99).
//
// $TICKBEAM_BENCH_TICKS_PER_MESSAGE packs that many ticks into each message
// (a JSON array, timestamped with its first tick), as a feed publishing in
// batches does: at 20000 ticks/s one message per tick is more than the
// Pub/Sub emulator and the pipeline take together on two cores.
//
// Alerts are also split into their legs (tick -> the rule's evaluation,
// DetectedAt; evaluation -> POST), and windows and alerts a minute after the
// warm-up tick are reported apart as steady (ms-steady-end-p99,
// alert-steady-p99): the reader holds its watermark 2 s back for its first
// minute, then as much as the disorder it has seen needs (io/pubsubx).
//
// With $TICKBEAM_BENCH_RAW set to "0" the monitor writes no raw ticks: the
// BigQuery emulator appends ~4-9k rows/s, so at 5000 ticks/s and more the
// ticks table, not the pipeline, sets the bars' latency (they share the
// emulator). The count is then the 1s bars' trades: published = sum of the
// trades of each window's newest pane + dead letters.
//
// The CPU line (cores-process, cores-pubsub-emulator,
// cores-bigquery-emulator) says where the machine's cores went while
// publishing: with 1m bars the Pub/Sub emulator's share grows with the
// messages the durable reader holds (BenchmarkEmulatorPullCost in
// io/pubsubx).
//
// First one warm-up tick (symbol WARMUP, counted as published) is published
// and the benchmark waits for its bar, so the pipeline's start (prism,
// workers, BigQuery clients) is not measured.
//
// The monitor gets --duration=duration + 60s + $TICKBEAM_BENCH_GRACE
// (default 3m) as an upper bound, and is stopped (cancelled, as at
// --duration) as soon as every tick is in the ticks table and every 1s bar
// is queryable. Publish duration + 60s alone is not enough: the raw ticks
// are written per 1-minute window, which closes up to 60s + the idle
// timeout and watermark delay after the last tick, and then takes the
// emulator tens of seconds to append (~7-9k rows/s); a monitor cancelled
// before that loses those rows. The warm-up also counts against it.
//
//	go test -run '^$' -bench StreamingLatency -benchtime 1x -timeout 20m ./cmd/tickbeam/
//	TICKBEAM_BENCH_DURATION=30s go test -run '^$' -bench StreamingLatency -benchtime 1x ./cmd/tickbeam/
func BenchmarkStreamingLatency(b *testing.B) {
	rate := envFloat(b, envRate, 5000)
	dur := envDur(b, envDuration, 2*time.Minute)
	grace := envDur(b, envGrace, 3*time.Minute)
	perMessage := int(envFloat(b, envPack, 1))
	symbols := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AVGO", "JPM", "V"}
	if s := os.Getenv(envSymbols); s != "" {
		symbols = strings.Split(s, ",")
	}
	barFlag := "1s,1m"
	if s := os.Getenv(envBars); s != "" {
		barFlag = s
	}
	if rate <= 0 || rate > synthetic.MaxRate || dur <= 0 || grace < 0 || !strings.Contains(","+barFlag+",", ",1s,") || perMessage < 1 {
		b.Fatalf("bad settings: rate %v, duration %v, grace %v, bars %q (must hold 1s), ticks per message %d", rate, dur, grace, barFlag, perMessage)
	}
	var extra []string
	if v := os.Getenv(envArgs); v != "" {
		extra = strings.Fields(v)
	}
	verbose := os.Getenv(envVerbose) != ""
	raw := os.Getenv(envRaw) != "0"

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
	// EnsureTable does not take for success, failing the job.
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

	// The monitor, in this process, as `tickbeam monitor`.
	monitorDur := dur + time.Minute + grace
	var mout, merr bytes.Buffer
	monitorDone := make(chan int, 1)
	args := []string{"monitor", "--input=pubsub:" + sub, "--bar=" + barFlag,
		"--bars_out=bq:" + barsT.String(), "--deadletter_out=bq:" + deadT.String(), "--duration=" + monitorDur.String()}
	if raw {
		args = append(args, "--raw_out=bq:"+ticksT.String())
	}
	var hook *alertHook
	if os.Getenv(envAlerts) != "0" {
		hook = newAlertHook(b)
		rules, err := benchCrossRules(symbols, rate, hook.URL())
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		path := filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(path, rules, 0o644); err != nil {
			b.Fatal(err)
		}
		args = append(args, "--rules="+path, "--alerts_out="+filepath.Join(dir, "alerts"))
	}
	args = append(args, extra...)
	monitorStart := time.Now()
	// Its own context: cancelling it stops the monitor as --duration does.
	monCtx, stopMonitor := context.WithCancel(context.Background())
	defer stopMonitor()
	go func() { monitorDone <- run(monCtx, args, &mout, &merr) }()
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
		// On an early return, stop the monitor and wait.
		stopMonitor()
		if !exited() {
			select {
			case monitorCode = <-monitorDone:
			case <-time.After(time.Minute):
			}
		}
	}()

	// Pollers: the 1s bars every 250ms, the ticks table's count every 5s.
	// A poll in flight is never abandoned (see benchQueryTimeout).
	stop := make(chan struct{})
	var pollWG sync.WaitGroup
	var mu sync.Mutex
	seen := map[winKey]time.Time{}
	var polls, pollErrs int
	var pollTime time.Duration
	var lastPollErr error
	type sample struct {
		at time.Time
		n  int64
	}
	var counts []sample
	pollWG.Add(2)
	go func() {
		defer pollWG.Done()
		q := "SELECT symbol, window_start FROM " + barsT.SQL() + " WHERE resolution = '1s'"
		t := time.NewTicker(benchPollEvery)
		defer t.Stop()
		for {
			start := time.Now()
			qctx, qcancel := context.WithTimeout(context.Background(), benchQueryTimeout)
			rows, err := bigqueryx.Query(qctx, q, bq)
			qcancel()
			at := time.Now()
			mu.Lock()
			polls++
			pollTime += at.Sub(start)
			if err != nil {
				pollErrs++
				lastPollErr = err
			}
			for _, r := range rows {
				sym, _ := r["symbol"].(string)
				ws, ok := r["window_start"].(time.Time)
				if !ok {
					continue
				}
				if k := (winKey{sym, ws.UnixMilli()}); seen[k].IsZero() {
					seen[k] = at
				}
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer pollWG.Done()
		t := time.NewTicker(benchCountEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			qctx, qcancel := context.WithTimeout(context.Background(), benchQueryTimeout)
			var c int64
			var err error
			if raw {
				c, err = countRows(qctx, ticksT, "", bq)
			} else {
				c, err = queryInt(qctx, barTradesSQL(barsT), bq)
			}
			qcancel()
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
				b.Logf("%6s: ticks table (or 1s bars' trades) %d rows, %d 1s bars queryable, newest ended %s ago",
					time.Since(monitorStart).Round(time.Second), c, len(seen), time.Since(time.UnixMilli(newest).Add(time.Second)).Round(time.Millisecond))
			}
			mu.Unlock()
		}
	}()
	var stopOnce sync.Once
	stopPollers := func() {
		stopOnce.Do(func() { close(stop) })
		pollWG.Wait()
	}
	defer stopPollers()

	// Warm-up: one tick, then wait for its 1s bar.
	warmAt := time.Now()
	if err := publishTick(ctx, pub, synthetic.Config{Symbols: []string{warmupSymbol}, Rate: 1, Count: 1, Start: warmAt}); err != nil {
		b.Fatal(err)
	}
	warmKey := winKey{warmupSymbol, warmAt.Truncate(time.Second).UnixMilli()}
	for {
		mu.Lock()
		at := seen[warmKey]
		perr := lastPollErr
		mu.Unlock()
		if !at.IsZero() {
			b.Logf("warm-up: tick published %s after the monitor started, its 1s bar queryable %s later",
				warmAt.Sub(monitorStart).Round(time.Millisecond), at.Sub(warmAt).Round(time.Millisecond))
			break
		}
		if exited() {
			b.Fatalf("monitor exited (%d) before the warm-up bar was queryable:\n%s\n%s", monitorCode, mout.String(), merr.String())
		}
		if time.Since(warmAt) > 3*time.Minute {
			b.Fatalf("warm-up bar not queryable after 3 minutes (last poll error: %v)", perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := monitorDur - time.Since(monitorStart); left < dur+time.Minute+10*time.Second {
		b.Logf("warning: the monitor stops in %s at the latest, %s after publishing will end: raise %s if the last minute of ticks is missing",
			left.Round(time.Second), (left - dur).Round(time.Second), envGrace)
	}

	// Publish live: tick i at start + i/rate, its event time.
	b.ResetTimer()
	start := time.Now()
	cpuStart := takeCPU()
	heldPeak := watchHeld(ctx)
	gen, err := synthetic.NewGenerator(synthetic.Config{Symbols: symbols, Rate: rate, Duration: dur, Start: start, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	last := map[winKey]time.Time{} // wall time each 1s window's last tick was published
	perWin := map[winKey]int64{}   // ticks published per 1s window
	firstID := map[winKey]int64{}  // the first trade id of each 1s window
	var published, messages int64
	var maxBehind time.Duration
	var pack []tickbeam.Tick // the ticks of the next message
	send := func() {
		var payload []byte
		var err error
		if perMessage == 1 {
			payload, err = json.Marshal(pack[0])
		} else {
			payload, err = json.Marshal(pack)
		}
		if err != nil {
			b.Fatal(err)
		}
		// The ticks are generated in event-time order: the first is the
		// earliest, the message's timestamp.
		if err := pub.Publish(ctx, payload, tickAttributes(pack[0].EventTime)); err != nil {
			b.Fatal(err)
		}
		messages++
		now := time.Now()
		for _, t := range pack {
			published++
			k := winKey{t.Symbol, t.EventTime.Truncate(time.Second).UnixMilli()}
			last[k] = now
			if perWin[k]++; perWin[k] == 1 {
				firstID[k], _ = strconv.ParseInt(t.TradeID, 10, 64)
			}
		}
		pack = pack[:0]
	}
	for {
		t, ok := gen.Next()
		if !ok {
			break
		}
		if wait := time.Until(t.EventTime); wait > time.Millisecond {
			time.Sleep(wait)
		} else if -wait > maxBehind {
			maxBehind = -wait
		}
		if pack = append(pack, t); len(pack) == perMessage {
			send()
		}
	}
	if len(pack) > 0 {
		send()
	}
	lastCall := time.Now()
	if err := pub.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	pubEnd := time.Now()
	cpuUsed := takeCPU().since(cpuStart, pubEnd.Sub(start))
	maxHeld := heldPeak()
	pubElapsed := lastCall.Sub(start)
	achieved := float64(published) / pubElapsed.Seconds()
	if got := pub.Published(); got != messages+1 {
		b.Errorf("Pub/Sub accepted %d messages, want %d (+1 warm-up)", got, messages)
	}

	// Wait until every tick is in the ticks table and every 1s window is
	// queryable, or the monitor stops; read the counts while the monitor
	// still runs, as the emulator may not answer after it stops. Ticks that
	// became late dead letters never reach the ticks table: every window
	// queryable and the count still for 15 s is drained too.
	var drainedAt time.Time
	var lastCount int64 = -1
	lastGrowth := time.Now()
	for !exited() {
		mu.Lock()
		var c int64
		if len(counts) > 0 {
			c = counts[len(counts)-1].n
		}
		all := true
		for k := range last {
			if seen[k].IsZero() {
				all = false
				break
			}
		}
		mu.Unlock()
		if c != lastCount {
			lastCount, lastGrowth = c, time.Now()
		}
		want := published
		if raw {
			want++ // the warm-up tick
		}
		if all && (c >= want || time.Since(lastGrowth) > 15*time.Second) {
			drainedAt = time.Now()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var pre, post benchCounts
	var preErr, postErr error
	postTimeout := benchQueryTimeout
	if !drainedAt.IsZero() {
		// Nothing more to see: stop polling, count, stop the monitor.
		stopPollers()
		pre, preErr = readCounts(ticksT, barsT, deadT, bq, benchQueryTimeout)
		postTimeout = 30 * time.Second
		stopMonitor()
	}

	// Wait for the monitor to stop (or, not drained, stop by itself after --duration).
	if !exited() {
		select {
		case monitorCode = <-monitorDone:
		case <-time.After(time.Until(monitorStart.Add(monitorDur + 2*time.Minute))):
			b.Fatalf("monitor still running %s after its start (--duration=%s)", time.Since(monitorStart).Round(time.Second), monitorDur)
		}
	}
	b.StopTimer()
	stopPollers()
	if monitorCode != 0 {
		b.Fatalf("monitor: exit %d: %s", monitorCode, merr.String())
	}
	post, postErr = readCounts(ticksT, barsT, deadT, bq, postTimeout)
	final, note := post, "read after the monitor stopped"
	switch {
	case postErr == nil && preErr == nil && drainedAt.IsZero():
	case postErr == nil && preErr == nil && post != pre:
		note = fmt.Sprintf("read after the monitor stopped; before it stopped: %+v", pre)
	case postErr != nil && preErr == nil && !drainedAt.IsZero():
		final, note = pre, fmt.Sprintf("read before the monitor stopped; the emulator failed after: %v", postErr)
	case postErr != nil:
		b.Fatalf("final counts: %v (before the monitor stopped: %v)", postErr, preErr)
	}
	rowsWritten := summaryCounter(mout.String(), "bigquery.rows_written")

	// Latencies of the benchmark's 1s windows.
	// live: windows queryable while the feed was still publishing. The
	// rest closed only once the reader judged the drained subscription idle
	// (ReadOptions.IdleTimeout), an end-of-stream wait a live feed never has.
	// steady: of those, the windows starting a minute after the warm-up
	// tick, the reader's first pull: its watermark hold starts at 2 s and
	// adapts to the disorder it sees after a minute (io/pubsubx).
	steadyFrom := warmAt.Add(benchSteadyAfter)
	var fromPub, fromEnd, tail, live, steady []time.Duration
	var unseen []winKey
	var lastWin int64
	for k := range last {
		lastWin = max(lastWin, k.startMs)
	}
	for k, p := range last {
		v := seen[k]
		if v.IsZero() {
			unseen = append(unseen, k)
			continue
		}
		fromPub = append(fromPub, v.Sub(p))
		fromEnd = append(fromEnd, v.Sub(time.UnixMilli(k.startMs).Add(time.Second)))
		if v.Before(pubEnd) {
			live = append(live, v.Sub(time.UnixMilli(k.startMs).Add(time.Second)))
			if !time.UnixMilli(k.startMs).Before(steadyFrom) {
				steady = append(steady, v.Sub(time.UnixMilli(k.startMs).Add(time.Second)))
			}
		}
		if k.startMs == lastWin {
			tail = append(tail, v.Sub(p))
		}
	}
	sort.Slice(unseen, func(i, j int) bool { return unseen[i].startMs < unseen[j].startMs })
	rowsPerSec := float64(final.ticks) / pubElapsed.Seconds() // 0 without the raw ticks table
	var peak float64
	for i := 1; i < len(counts); i++ {
		peak = max(peak, float64(counts[i].n-counts[i-1].n)/counts[i].at.Sub(counts[i-1].at).Seconds())
	}

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op") // one run; the figures below are the result
	b.ReportMetric(ms(percentile(fromPub, .50)), "ms-p50")
	b.ReportMetric(ms(percentile(fromPub, .99)), "ms-p99")
	b.ReportMetric(ms(percentile(fromPub, 1)), "ms-max")
	b.ReportMetric(ms(percentile(fromEnd, .50)), "ms-end-p50")
	b.ReportMetric(ms(percentile(fromEnd, .99)), "ms-end-p99")
	b.ReportMetric(ms(percentile(live, .99)), "ms-live-end-p99")
	b.ReportMetric(ms(percentile(steady, .99)), "ms-steady-end-p99")
	b.ReportMetric(float64(len(last)), "windows")
	b.ReportMetric(float64(len(unseen)), "windows-unseen")
	b.ReportMetric(rowsPerSec, "rows/s")
	b.ReportMetric(achieved, "ticks/s-published")
	cpuUsed.report(b)
	b.ReportMetric(float64(maxHeld), "held-max")
	var alertLat, alertLive, alertDetect, alertDeliver, alertSteady []time.Duration
	if hook != nil {
		alertLat, alertLive, alertDetect, alertDeliver = hook.latencies(warmupSymbol, time.Time{}, pubEnd)
		_, alertSteady, _, _ = hook.latencies(warmupSymbol, steadyFrom, pubEnd)
		b.ReportMetric(ms(percentile(alertSteady, .99)), "alert-steady-p99")
		b.ReportMetric(ms(percentile(alertLat, .50)), "alert-p50")
		b.ReportMetric(ms(percentile(alertLat, .95)), "alert-p95")
		b.ReportMetric(ms(percentile(alertLat, .99)), "alert-p99")
		b.ReportMetric(ms(percentile(alertLive, .99)), "alert-live-p99")
	}

	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	var s strings.Builder
	fmt.Fprintf(&s, "\nstreaming latency: %d symbols, --bar=%s, target %.0f ticks/s for %s, GOMAXPROCS %d, %d CPUs\n",
		len(symbols), barFlag, rate, dur, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(&s, "  published   %d ticks in %d messages in %s: %.0f ticks/s achieved (%.1f%% of target), at most %s behind schedule, flush %s\n",
		published, messages, r(pubElapsed), achieved, 100*achieved/rate, r(maxBehind), r(pubEnd.Sub(lastCall)))
	fmt.Fprintf(&s, "  latency     last tick published -> 1s bar queryable: p50 %s, p99 %s, max %s\n",
		r(percentile(fromPub, .5)), r(percentile(fromPub, .99)), r(percentile(fromPub, 1)))
	fmt.Fprintf(&s, "              window end -> queryable: p50 %s, p99 %s; last second's windows (closed by the idle timeout): %s\n",
		r(percentile(fromEnd, .5)), r(percentile(fromEnd, .99)), r(percentile(tail, 1)))
	fmt.Fprintf(&s, "              while live (the %d windows queryable before publishing ended): window end -> queryable p50 %s, p95 %s, p99 %s, max %s\n",
		len(live), r(percentile(live, .5)), r(percentile(live, .95)), r(percentile(live, .99)), r(percentile(live, 1)))
	fmt.Fprintf(&s, "              steady (the %d of those starting %s after the warm-up tick, the reader's hold adapted): p50 %s, p95 %s, p99 %s, max %s\n",
		len(steady), benchSteadyAfter, r(percentile(steady, .5)), r(percentile(steady, .95)), r(percentile(steady, .99)), r(percentile(steady, 1)))
	fmt.Fprintf(&s, "              %d 1s windows, %d never queryable; polled every %s, %d polls of %s on average, %d failed\n",
		len(last), len(unseen), benchPollEvery, polls, r(pollTime/time.Duration(max(polls, 1))), pollErrs)
	if hook != nil {
		fmt.Fprintf(&s, "  alerts      %d delivered to the webhook; tick -> POST received: p50 %s, p95 %s, p99 %s, max %s\n",
			len(alertLat), r(percentile(alertLat, .5)), r(percentile(alertLat, .95)), r(percentile(alertLat, .99)), r(percentile(alertLat, 1)))
		fmt.Fprintf(&s, "              while live (the %d delivered before publishing ended): p50 %s, p95 %s, p99 %s, max %s\n",
			len(alertLive), r(percentile(alertLive, .5)), r(percentile(alertLive, .95)), r(percentile(alertLive, .99)), r(percentile(alertLive, 1)))
		fmt.Fprintf(&s, "              steady (the %d of ticks %s after the warm-up tick): p50 %s, p95 %s, p99 %s, max %s\n",
			len(alertSteady), benchSteadyAfter, r(percentile(alertSteady, .5)), r(percentile(alertSteady, .95)), r(percentile(alertSteady, .99)), r(percentile(alertSteady, 1)))
		fmt.Fprintf(&s, "              of the live ones, tick -> rule evaluated (detected_at): p50 %s, p99 %s; evaluated -> POST received: p50 %s, p99 %s\n",
			r(percentile(alertDetect, .5)), r(percentile(alertDetect, .99)), r(percentile(alertDeliver, .5)), r(percentile(alertDeliver, .99)))
	}
	fmt.Fprintf(&s, "  CPU         while publishing (%s, %d CPUs): %s; the reader held up to %d messages unacked for the outputs (gauge pubsub.held)\n",
		r(pubEnd.Sub(start)), runtime.NumCPU(), cpuUsed, maxHeld)
	fmt.Fprintf(&s, "  BigQuery    ticks table %d rows = %.0f rows/s over the publish time; peak %.0f rows/s (%s samples)\n",
		final.ticks, rowsPerSec, peak, benchCountEvery)
	if !drainedAt.IsZero() {
		fmt.Fprintf(&s, "              all ticks and 1s bars in BigQuery %s after publishing ended\n", drainedAt.Sub(pubEnd).Round(time.Second))
	}
	fmt.Fprintf(&s, "              monitor's bigquery.rows_written %d (bars + ticks + dead letters); dead letters %d; 1s bars sum(trades) %d\n",
		rowsWritten, final.dead, final.barTrades)
	// Ticks later than --allowed_lateness are dead letters (stage late).
	ok := final.ticks == final.bench+1 && final.bench+final.dead == published && final.distinct == final.ticks
	if !raw {
		ok = final.barTrades+final.dead == published
	}
	verdict := map[bool]string{true: "equal", false: "NOT EQUAL"}[ok]
	if raw {
		fmt.Fprintf(&s, "  count       published %d (+1 warm-up) = ticks table %d (%d benchmark, %d distinct) + %d dead letters?, %s: %s\n",
			published, final.ticks, final.bench, final.distinct, final.dead, note, verdict)
	} else {
		fmt.Fprintf(&s, "  count       published %d = 1s bars' trades %d + %d dead letters? (no raw ticks table), %s: %s\n",
			published, final.barTrades, final.dead, note, verdict)
	}
	stopped := "stopped by --duration"
	if !drainedAt.IsZero() {
		stopped = "stopped once drained"
	}
	fmt.Fprintf(&s, "  monitor     ran %s (--duration=%s, %s):\n%s", time.Since(monitorStart).Round(time.Second), monitorDur, stopped, mout.String())
	b.Log(s.String())
	if !ok && postErr == nil {
		b.Log(missingTicks(ticksT, barsT, bq, perWin, firstID, start))
	}
	if !ok {
		b.Errorf("count in != count out: published %d ticks (+1 warm-up), the ticks table holds %d (%d benchmark, %d distinct), the 1s bars %d trades, %d dead letters",
			published, final.ticks, final.bench, final.distinct, final.barTrades, final.dead)
	}
	if hook != nil && len(alertLat) == 0 {
		b.Errorf("no alert reached the webhook")
	}
	if len(unseen) > 0 {
		b.Errorf("%d of %d 1s bar windows never became queryable (first: %s %s)", len(unseen), len(last),
			unseen[0].symbol, time.UnixMilli(unseen[0].startMs).UTC().Format(time.TimeOnly))
	}
}

type winKey struct {
	symbol  string
	startMs int64
}

// benchCounts are the final row counts.
type benchCounts struct {
	ticks, bench, distinct, barTrades, dead int64
}

func readCounts(ticks, bars, dead bigqueryx.Table, o bigqueryx.Options, timeout time.Duration) (benchCounts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var c benchCounts
	for _, q := range []struct {
		dst *int64
		sql string
	}{
		{&c.ticks, "SELECT COUNT(*) AS n FROM " + ticks.SQL()},
		{&c.bench, "SELECT COUNT(*) AS n FROM " + ticks.SQL() + " WHERE symbol != '" + warmupSymbol + "'"},
		{&c.distinct, "SELECT COUNT(DISTINCT CONCAT(symbol, '/', trade_id)) AS n FROM " + ticks.SQL()},
		// Each window's newest pane holds all of its trades.
		{&c.barTrades, barTradesSQL(bars)},
		{&c.dead, "SELECT COUNT(*) AS n FROM " + dead.SQL()},
	} {
		n, err := queryInt(ctx, q.sql, o)
		if err != nil {
			return c, err
		}
		*q.dst = n
	}
	return c, nil
}

// missingTicks says where ticks went missing: the 1s bars whose trades
// differ from the ticks published in their window, and each symbol's range
// of trade ids in the ticks table.
func missingTicks(ticks, bars bigqueryx.Table, o bigqueryx.Options, perWin, firstID map[winKey]int64, start time.Time) string {
	ctx, cancel := context.WithTimeout(context.Background(), benchQueryTimeout)
	defer cancel()
	var s strings.Builder
	rows, err := bigqueryx.Query(ctx, "SELECT symbol, window_start, SUM(trades) AS n, COUNT(*) AS panes FROM "+bars.SQL()+
		" WHERE resolution = '1s' GROUP BY symbol, window_start", o)
	if err != nil {
		return err.Error()
	}
	got := map[winKey]int64{}
	for _, r := range rows {
		ws, _ := r["window_start"].(time.Time)
		sym, _ := r["symbol"].(string)
		n, _ := r["n"].(int64)
		got[winKey{sym, ws.UnixMilli()}] = n
	}
	var diff []winKey
	for k, n := range perWin {
		if got[k] != n {
			diff = append(diff, k)
		}
	}
	sort.Slice(diff, func(i, j int) bool {
		return diff[i].startMs < diff[j].startMs || diff[i].startMs == diff[j].startMs && diff[i].symbol < diff[j].symbol
	})
	fmt.Fprintf(&s, "%d 1s bars lack trades:", len(diff))
	for i, k := range diff {
		if i == 20 {
			fmt.Fprintf(&s, " ...")
			break
		}
		fmt.Fprintf(&s, " %s@+%s %d/%d", k.symbol, time.UnixMilli(k.startMs).Sub(start).Round(time.Millisecond), got[k], perWin[k])
	}
	if len(diff) > 0 {
		// The trade ids missing from the first such window's ticks.
		k := diff[0]
		lo, hi := firstID[k], firstID[k]+perWin[k]-1
		rows, err := bigqueryx.Query(ctx, fmt.Sprintf("SELECT CAST(trade_id AS INT64) AS id FROM %s WHERE symbol = '%s' AND CAST(trade_id AS INT64) BETWEEN %d AND %d",
			ticks.SQL(), k.symbol, lo, hi), o)
		if err == nil {
			have := map[int64]bool{}
			for _, r := range rows {
				id, _ := r["id"].(int64)
				have[id] = true
			}
			var miss []string
			for id := lo; id <= hi; id++ {
				if !have[id] {
					miss = append(miss, strconv.FormatInt(id, 10))
				}
			}
			fmt.Fprintf(&s, "\n%s trade ids %d..%d missing from the ticks table: %s", k.symbol, lo, hi, strings.Join(miss, ","))
		}
	}
	rows, err = bigqueryx.Query(ctx, "SELECT symbol, MIN(CAST(trade_id AS INT64)) AS lo, MAX(CAST(trade_id AS INT64)) AS hi, COUNT(*) AS n FROM "+
		ticks.SQL()+" GROUP BY symbol ORDER BY symbol", o)
	if err != nil {
		return s.String() + "; " + err.Error()
	}
	fmt.Fprintf(&s, "\nticks table trade ids per symbol:")
	for _, r := range rows {
		fmt.Fprintf(&s, " %v %v..%v (%v)", r["symbol"], r["lo"], r["hi"], r["n"])
	}
	return s.String()
}

// tickAttributes are the attributes `tickbeam feed` puts on a synthetic tick.
func tickAttributes(eventTime time.Time) map[string]string {
	return map[string]string{
		feedformat.FormatAttribute: "tick",
		feedformat.SourceAttribute: synthetic.Source,
		feed.TimestampAttribute:    strconv.FormatInt(eventTime.UnixMilli(), 10),
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

// barTradesSQL sums the trades of the benchmark's 1s bars: each window's
// newest pane holds all of its trades.
func barTradesSQL(bars bigqueryx.Table) string {
	return "SELECT SUM(n) AS n FROM (SELECT MAX(trades) AS n FROM " + bars.SQL() + " WHERE resolution = '1s' AND symbol != '" +
		warmupSymbol + "' GROUP BY symbol, window_start)"
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
	case nil: // SUM of no rows
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

// alertHook is the webhook the benchmark's rules notify: it notes when each
// alert arrives.
type alertHook struct {
	srv *httptest.Server

	mu      sync.Mutex
	arrived []tickbeam.Alert
	at      []time.Time
}

func newAlertHook(b *testing.B) *alertHook {
	h := &alertHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var a tickbeam.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.arrived, h.at = append(h.arrived, a), append(h.at, now)
		h.mu.Unlock()
	}))
	b.Cleanup(h.srv.Close)
	return h
}

func (h *alertHook) URL() string { return h.srv.URL + "/alerts" }

// latencies are arrival minus event time of every alert but skip's at or
// after from; of those that arrived before liveUntil, also the two legs:
// event time to detection (the rule's evaluation, DetectedAt) and detection
// to arrival.
func (h *alertHook) latencies(skip string, from, liveUntil time.Time) (all, live, detect, deliver []time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, a := range h.arrived {
		if a.Symbol != skip && !a.EventTime.Before(from) {
			all = append(all, h.at[i].Sub(a.EventTime))
			if h.at[i].Before(liveUntil) {
				live = append(live, h.at[i].Sub(a.EventTime))
				detect = append(detect, a.DetectedAt.Sub(a.EventTime))
				deliver = append(deliver, h.at[i].Sub(a.DetectedAt))
			}
		}
	}
	return all, live, detect, deliver
}

// benchCrossRules are price_cross rules around each symbol's first price
// (the synthetic feed with seed 1 starts the same whatever its start time),
// notifying url.
func benchCrossRules(symbols []string, rate float64, url string) ([]byte, error) {
	g, err := synthetic.NewGenerator(synthetic.Config{Symbols: symbols, Rate: rate, Seed: 1, Count: int64(len(symbols)), Start: time.Unix(0, 0)})
	if err != nil {
		return nil, err
	}
	var s strings.Builder
	fmt.Fprintf(&s, "notifiers:\n  webhooks:\n    - name: bench\n      url: %s\nrules:\n", url)
	for {
		t, ok := g.Next()
		if !ok {
			break
		}
		for k := 1; k <= 3; k++ {
			for _, dir := range []struct {
				name string
				sign float64
			}{{"above", 1}, {"below", -1}} {
				fmt.Fprintf(&s, "  - {name: cross-%s-%s-%d, kind: price_cross, symbols: [%q], input: ticks, direction: %s, threshold: %g, band: %g, severity: INFO, notify: [bench]}\n",
					strings.ToLower(t.Symbol), dir.name, k, t.Symbol, dir.name, t.Price*(1+dir.sign*0.0002*float64(k)), t.Price*0.0001)
			}
		}
	}
	return []byte(s.String()), nil
}

// cpuTimes is the processor time used so far by this process (the monitor,
// the publisher and the poller) and by each emulator; an emulator's is -1
// when it could not be read.
type cpuTimes struct{ self, pubsub, bigquery time.Duration }

func takeCPU() cpuTimes {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c := cpuTimes{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), pubsub: -1, bigquery: -1}
	if d, err := testenv.PubSubCPU(); err == nil {
		c.pubsub = d
	}
	if d, err := testenv.BigQueryCPU(); err == nil {
		c.bigquery = d
	}
	return c
}

// cpuUse is the cores each process used over a span of wall time.
type cpuUse struct{ self, pubsub, bigquery float64 }

func (c cpuTimes) since(start cpuTimes, wall time.Duration) cpuUse {
	cores := func(now, then time.Duration) float64 {
		if now < 0 || then < 0 {
			return -1
		}
		return (now - then).Seconds() / wall.Seconds()
	}
	return cpuUse{cores(c.self, start.self), cores(c.pubsub, start.pubsub), cores(c.bigquery, start.bigquery)}
}

// String says where the machine's cores went: on a 2-core machine the
// Pub/Sub emulator's share decides how much is left to the pipeline.
func (u cpuUse) String() string {
	f := func(x float64) string {
		if x < 0 {
			return "unknown"
		}
		return fmt.Sprintf("%.2f cores", x)
	}
	return fmt.Sprintf("this process (monitor, publisher, poller) %s, Pub/Sub emulator %s, BigQuery emulator %s",
		f(u.self), f(u.pubsub), f(u.bigquery))
}

func (u cpuUse) report(b *testing.B) {
	b.ReportMetric(u.self, "cores-process")
	b.ReportMetric(u.pubsub, "cores-pubsub-emulator")
	b.ReportMetric(u.bigquery, "cores-bigquery-emulator")
}

// watchHeld samples the monitor's gauge pubsub.held every second (the
// monitor runs in this process, so its live metrics are here) until the
// returned func is called, which returns the largest value seen.
func watchHeld(ctx context.Context) func() int64 {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- peak
				return
			case <-tick.C:
				if m, err := runners.LiveMetrics(ctx); err == nil {
					peak = max(peak, metrics.Summarize(m).Gauges["pubsub.held"])
				}
			}
		}
	}()
	return func() int64 {
		cancel()
		return <-done
	}
}
