package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
