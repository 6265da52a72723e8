package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/pubsubx"
)

// monitorProcessEnv carries the CLI arguments of a monitor that
// TestMonitorProcess runs in a process of its own, as JSON.
const monitorProcessEnv = "TICKBEAM_TEST_MONITOR_ARGS"

// TestMonitorProcess is the body of the monitor processes the fault tests
// start (and SIGKILL): the test binary run again with -test.run selecting
// this function and the CLI arguments in TICKBEAM_TEST_MONITOR_ARGS. Run
// without them it has nothing to do.
func TestMonitorProcess(t *testing.T) {
	env := os.Getenv(monitorProcessEnv)
	if env == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(env), &args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", monitorProcessEnv, err)
		os.Exit(2)
	}
	os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
}

// monitorProcess is `tickbeam monitor` running in a child process.
type monitorProcess struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	out, err bytes.Buffer
	done     chan struct{}
}

// lockedWriter appends to a buffer under the process's lock: the test
// reads its output while the child writes it.
type lockedWriter struct {
	p *monitorProcess
	b *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.b.Write(b)
}

// startMonitorProcess runs `tickbeam monitor args...` in a child process
// with this process's environment (the emulators' hosts).
func startMonitorProcess(t *testing.T, args ...string) *monitorProcess {
	t.Helper()
	js, err := json.Marshal(append([]string{"monitor"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	p := &monitorProcess{done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestMonitorProcess$", "-test.count=1")
	p.cmd.Env = append(os.Environ(), monitorProcessEnv+"="+string(js))
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{p, &p.out}, lockedWriter{p, &p.err}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill ends the process with SIGKILL: no bundle finishes, nothing is
// flushed, nothing is acknowledged any more.
func (p *monitorProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop ends the process with SIGTERM, as a user's Ctrl-C, and returns its
// exit code.
func (p *monitorProcess) stop(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Errorf("monitor did not stop within a minute of SIGTERM")
		p.kill()
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *monitorProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *monitorProcess) output() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String(), p.err.String()
}

// TestPubSubRestartMidStream kills the Pub/Sub emulator while `tickbeam
// feed` publishes a capture (6 minutes, 1% redelivered, up to 4 s out of
// order, 10 malformed lines) 20 times faster than recorded and the monitor
// (a process of its own) streams it, starts it again on the same port a few
// seconds later, recreates the topic and the subscription (the emulator
// keeps nothing) and re-publishes the capture at full speed, as a feed
// restarted from its start would. The monitor keeps running, logs the
// outage once and its end once, and its bars equal a batch run's: what it
// had read before the outage is not counted twice, what it had not read
// comes from the re-published copy. Malformed lines may be dead letters
// twice (once per copy), nothing else is.
func TestPubSubRestartMidStream(t *testing.T) {
	srv := testenv.RestartablePubSub(t)
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	c := newCapture(33, base, 6*time.Minute, 3_000, 4*time.Second)
	path, want, wantDead := replayTruth(t, c, "1m", 3*6)
	topic, sub := newStream(t, "outage")

	dir := t.TempDir()
	p := startMonitorProcess(t, "--input=pubsub:"+sub, "--bar=1m", "--bars_out="+dir,
		"--deadletter_out="+filepath.Join(dir, "dead"), "--duration=4m", "--log_level=info")
	fed := make(chan error, 1)
	feedCtx, cancelFeed := context.WithCancel(context.Background())
	defer cancelFeed()
	go func() { fed <- feedCapture(feedCtx, path, topic, "20", t.Logf) }()
	// Mid-stream: once the first bars are out.
	for deadline := time.Now().Add(90 * time.Second); len(finalBars(t, dir, false)) < 3; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) || p.exited() {
			_, stderr := p.output()
			t.Fatalf("no bars within 90 s:\n%s", stderr)
		}
	}
	before := len(finalBars(t, dir, false))
	srv.Kill()
	down := time.Now()
	cancelFeed() // the feed stops with the emulator; another publishes again
	t.Logf("feed, stopped by the outage: %v", <-fed)
	time.Sleep(3 * time.Second)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := pubsubx.CreateTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := pubsubx.CreateSubscription(ctx, sub, topic); err != nil {
		t.Fatal(err)
	}
	t.Logf("emulator killed with %d of %d bars out, back with the topic and subscription after %v", before, len(want), time.Since(down).Round(100*time.Millisecond))
	publishCapture(t, path, topic, "max")

	complete := false
	for deadline := time.Now().Add(2 * time.Minute); !complete && time.Now().Before(deadline); time.Sleep(time.Second) {
		if p.exited() {
			_, stderr := p.output()
			t.Fatalf("monitor exited (%d) after the outage: %s", p.cmd.ProcessState.ExitCode(), stderr)
		}
		complete = cmp.Equal(want, finalBars(t, dir, false), barsCmp...) &&
			len(slices.Compact(deadPayloads(t, filepath.Join(dir, "dead"), false))) >= len(wantDead)
	}
	recovered := time.Since(down)
	code := p.stop(t)
	stdout, stderr := p.output()
	t.Logf("complete %v %v after the kill; exit %d\n%s", complete, recovered.Round(100*time.Millisecond), code, stdout)
	if code != 0 {
		t.Fatalf("monitor: exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(want, finalBars(t, dir, true), barsCmp...); diff != "" {
		t.Errorf("bars (-batch run +stream):\n%s", diff)
	}
	checkDeadLetters(t, readRows[tickbeam.DeadLetter](t, filepath.Join(dir, "dead"), "deadletters"), wantDead, false)
	// One warning when the outage begins, one line (at info level) when it
	// ends, nothing else about it (no failed acks or lease extensions).
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "pubsubx:") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "retrying with backoff") || !strings.Contains(lines[1], "answers again") {
		t.Errorf("want one log line as the outage begins and one as it ends, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	t.Logf("log:\n%s", strings.Join(lines, "\n"))
}

// bqFinalBars reads the bars of table as the final-bars view does
// (bigqueryx.FinalBarsSQL: the newest pane of each window), sorted; nil
// and the error while the table does not exist. A query needs the project
// that runs it (Options.Project): without one, bigqueryx.Query fails before
// it asks the emulator, which read as "the view returns nothing".
func bqFinalBars(t *testing.T, table bigqueryx.Table) ([]tickbeam.Bar, error) {
	t.Helper()
	q, err := bigqueryx.FinalBarsSQL(table)
	if err != nil {
		t.Fatal(err)
	}
	return bigqueryx.QueryRows[tickbeam.Bar](context.Background(), q+" ORDER BY symbol, window_start", bigqueryx.Options{Project: testenv.Project})
}

// bqRows reads every row of table; nil while it does not exist.
func bqRows[T any](table bigqueryx.Table) []T {
	rows, err := bigqueryx.ReadRows[T](context.Background(), table, bigqueryx.Options{})
	if err != nil {
		return nil
	}
	return rows
}

// awaitBigQuery waits until the final bars of bars equal want and dead holds
// the nDead distinct dead letters, or limit passes, and reports whether they
// did. It fails the test if p exits.
func awaitBigQuery(t *testing.T, p *monitorProcess, bars, dead bigqueryx.Table, want []tickbeam.Bar, nDead int, limit time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(time.Second) {
		if p.exited() {
			_, stderr := p.output()
			t.Fatalf("monitor exited early (%d): %s", p.cmd.ProcessState.ExitCode(), stderr)
		}
		if got, _ := bqFinalBars(t, bars); cmp.Equal(want, got, barsCmp...) {
			var payloads []string
			for _, d := range bqRows[tickbeam.DeadLetter](dead) {
				payloads = append(payloads, d.PayloadString)
			}
			slices.Sort(payloads)
			if len(slices.Compact(payloads)) >= nDead {
				return true
			}
		}
	}
	return false
}

// crashTables names a run's BigQuery tables.
func crashTables(t *testing.T, name string) (bars, dead bigqueryx.Table) {
	t.Helper()
	var err error
	if bars, err = bigqueryx.ParseTable(testenv.Project + ".faults." + name + "_bars"); err != nil {
		t.Fatal(err)
	}
	if dead, err = bigqueryx.ParseTable(testenv.Project + ".faults." + name + "_dead"); err != nil {
		t.Fatal(err)
	}
	return bars, dead
}

// checkBarRows checks every bar row written, not only the final ones: a
// window written again after a restart must be written with the same row.
// A row with more trades than the batch run's bar counted a trade twice; one
// with as many but other values is wrong. A row with fewer trades is a
// window the restart read only part of (a kill cut its acks short): the
// final-bars view passes it over for the whole row, so it is only logged.
func checkBarRows(t *testing.T, rows, want []tickbeam.Bar) {
	t.Helper()
	truth := map[string]tickbeam.Bar{}
	for _, b := range want {
		truth[b.Symbol+b.Resolution+b.WindowStart.String()] = b
	}
	copies := map[string]int{}
	partial := 0
	for _, r := range rows {
		k := r.Symbol + r.Resolution + r.WindowStart.String()
		copies[k]++
		w, ok := truth[k]
		switch {
		case !ok:
			t.Errorf("bar row of a window the batch run has none of: %+v", r)
		case r.Trades > w.Trades:
			t.Errorf("bar row with %d trades, the batch run's has %d (double counted): %+v", r.Trades, w.Trades, r)
		case r.Trades < w.Trades:
			partial++
			t.Logf("bar row of part of a window (%d of %d trades): %s %s", r.Trades, w.Trades, r.Symbol, r.WindowStart)
		case !cmp.Equal(w, r, barsCmp...):
			t.Errorf("bar row differs from the batch run's (-batch +row):\n%s", cmp.Diff(w, r, barsCmp...))
		}
	}
	again := 0
	for _, n := range copies {
		if n > 1 {
			again++
		}
	}
	t.Logf("%d bar rows for %d windows: %d windows written more than once, %d rows of part of a window", len(rows), len(copies), again, partial)
}

// TestCrashRestartExactBars streams a capture (6 minutes of three
// symbols' trades, 1% redelivered, up to 4 s out of order, 10 malformed
// lines) from the Pub/Sub emulator into the BigQuery emulator with
// `tickbeam monitor` in a process of its own: first cleanly, from a backlog
// `tickbeam feed` published at full speed; then, on a second subscription
// and tables while the feed publishes at 10x, killed with SIGKILL three
// times (each at a random moment once that run has written bar rows) and
// started again each time. The final bars (bigqueryx.FinalBarsSQL) of both
// equal a batch run's: no trade lost, none counted twice
// (pubsubx.ReadDurable acks a message only once the bars and dead letters
// computed from it are in BigQuery). Windows written again after a restart
// are written with the same rows. The dead letters are the malformed lines
// only (a restarted run may write one again: dead letters are at least
// once).
func TestCrashRestartExactBars(t *testing.T) {
	testenv.PubSub(t)
	testenv.BigQuery(t)
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	c := newCapture(21, base, 6*time.Minute, 3_000, 4*time.Second)
	path, want, wantDead := replayTruth(t, c, "1m", 3*6)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 15))
	t.Logf("kill times seed %d", seed)
	args := func(sub string, bars, dead bigqueryx.Table) []string {
		return []string{"--input=pubsub:" + sub, "--bar=1m", "--bars_out=bq:" + bars.String(), "--deadletter_out=bq:" + dead.String(),
			"--duration=4m"}
	}
	// finish lets p run until the bars and dead letters are complete, and
	// for at least minRun (a restarted run's restartWait and its rewrite of
	// the windows the killed run had not acked), then stops it and checks.
	finish := func(t *testing.T, p *monitorProcess, bars, dead bigqueryx.Table, exact bool, minRun time.Duration) string {
		start := time.Now()
		complete := awaitBigQuery(t, p, bars, dead, want, len(wantDead), 2*time.Minute)
		time.Sleep(time.Until(start.Add(minRun)))
		code := p.stop(t)
		stdout, stderr := p.output()
		t.Logf("complete %v %v after the (re)start; exit %d\n%s", complete, time.Since(start).Round(100*time.Millisecond), code, stdout)
		if code != 0 {
			t.Fatalf("monitor: exit %d: %s", code, stderr)
		}
		got, err := bqFinalBars(t, bars)
		if err != nil {
			t.Errorf("final bars: %v", err)
		}
		if diff := cmp.Diff(want, got, barsCmp...); diff != "" {
			t.Errorf("final bars (-batch run +stream):\n%s", diff)
		}
		var wantTrades, gotTrades int64
		for _, b := range want {
			wantTrades += b.Trades
		}
		for _, b := range got {
			gotTrades += b.Trades
		}
		t.Logf("trades in the final bars: %d of %d", gotTrades, wantTrades)
		checkBarRows(t, bqRows[tickbeam.Bar](bars), want)
		checkDeadLetters(t, bqRows[tickbeam.DeadLetter](dead), wantDead, exact)
		return stdout
	}

	t.Run("clean", func(t *testing.T) {
		topic, sub := newStream(t, "crash")
		publishCapture(t, path, topic, "max")
		bars, dead := crashTables(t, "clean")
		stdout := finish(t, startMonitorProcess(t, args(sub, bars, dead)...), bars, dead, true, 0)
		checkReplayCounters(t, stdout, c)
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("killed", func(t *testing.T) {
		// The feed publishes at 10x its recorded pace (36 s) while the
		// monitor runs and is killed, so kills land mid-stream.
		topic, sub := newStream(t, "crash")
		bars, dead := crashTables(t, "killed")
		fed := make(chan error, 1)
		go func() { fed <- feedCapture(context.Background(), path, topic, "10", t.Logf) }()
		rows := 0
		for i := range 3 {
			p := startMonitorProcess(t, args(sub, bars, dead)...)
			start := time.Now()
			// Once this run has written bar rows (or 30 s have passed),
			// after 0-3 s more: while bars are being written and acked.
			for len(bqRows[tickbeam.Bar](bars)) <= rows && time.Since(start) < 30*time.Second && !p.exited() {
				time.Sleep(500 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
			if p.exited() {
				_, stderr := p.output()
				t.Fatalf("monitor exited by itself before the kill: %s", stderr)
			}
			p.kill()
			rows = len(bqRows[tickbeam.Bar](bars))
			final, _ := bqFinalBars(t, bars)
			t.Logf("kill %d after %v: %d bar rows, %d windows, %d dead letters written", i+1, time.Since(start).Round(100*time.Millisecond),
				rows, len(final), len(bqRows[tickbeam.DeadLetter](dead)))
		}
		if err := <-fed; err != nil {
			t.Fatal(err)
		}
		finish(t, startMonitorProcess(t, args(sub, bars, dead)...), bars, dead, false, 25*time.Second)
	})
}
