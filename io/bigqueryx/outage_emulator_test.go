package bigqueryx

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/internal/outage"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/synthetic"
)

// These tests take a BigQuery emulator of their own down in the middle of a
// streaming write (SIGKILL, as a crash) and bring it back on the same ports
// with its data (testenv.RestartableBigQuery).

// outageRun is a streaming write of a paced synthetic feed to a fresh table
// of srv, with an outage of the emulator injected once rows have landed.
type outageRun struct {
	srv    *testenv.BigQueryServer
	o      Options
	table  Table
	sent   int64 // ticks the feed emits
	opts   WriteOptions
	outage time.Duration // how long the emulator stays down; 0: until the run ends

	mu        sync.Mutex
	downAt    time.Time
	upAt      time.Time
	maxHeld   int64
	recovered time.Duration // from restart to the rows waiting back at their level before the outage
}

func newOutageRun(t *testing.T, rate float64, seconds int, opts WriteOptions, down time.Duration) *outageRun {
	srv := testenv.RestartableBigQuery(t)
	r := &outageRun{
		srv:    srv,
		o:      Options{Endpoint: "http://" + srv.HTTP, StorageEndpoint: srv.GRPC, Project: testenv.Project},
		table:  freshTable(t, "ticks"),
		sent:   int64(rate) * int64(seconds),
		outage: down,
	}
	opts.TableOptions = TableOptions{Options: r.o}
	opts.Window = time.Second
	r.opts = opts
	return r
}

func (r *outageRun) count(ctx context.Context) (rows, distinct int64, err error) {
	res, err := Query(ctx, "SELECT COUNT(*) AS n, COUNT(DISTINCT CONCAT(symbol, '|', trade_id)) AS d FROM "+r.table.SQL(), r.o)
	if err != nil {
		return 0, 0, err
	}
	return res[0]["n"].(int64), res[0]["d"].(int64), nil
}

// run runs the pipeline; meanwhile it kills the emulator once the first
// rows have landed and, after r.outage, starts it again.
func (r *outageRun) run(t *testing.T, rate float64) (beam.PipelineResult, error) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	ticks := synthetic.Ticks(s, synthetic.Config{Symbols: []string{"AAA", "BBB", "CCC"}, Rate: rate, Count: r.sent, Seed: 7, Paced: true})
	Write(s, r.table.String(), ticks, r.opts)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { r.inject(t, done) })
	res, err := ptest.RunWithMetrics(p)
	close(done)
	wg.Wait()
	r.mu.Lock()
	if r.recovered == 0 && !r.upAt.IsZero() {
		// The run ended (every row written) before the rows held fell
		// back: the end is when they did.
		r.recovered = time.Since(r.upAt)
	}
	r.mu.Unlock()
	if err := r.srv.Start(); err != nil { // for the checks, if the run ended first
		t.Fatal(err)
	}
	return res, err
}

func (r *outageRun) inject(t *testing.T, done <-chan struct{}) {
	ctx := context.Background()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	wait := func() bool {
		select {
		case <-done:
			return false
		case <-tick.C:
			return true
		}
	}
	for wait() {
		if n, _, err := r.count(ctx); err == nil && n > 0 {
			break
		}
	}
	name := "bigqueryx: table " + r.table.String()
	sink := outage.Lookup(name)
	held := func() int64 {
		if sink == nil {
			sink = outage.Lookup(name)
		}
		if sink == nil {
			return 0
		}
		return sink.Held()
	}
	before := held()
	r.srv.Kill()
	r.mu.Lock()
	r.downAt = time.Now()
	r.mu.Unlock()
	t.Logf("emulator killed; %d rows waiting for the sink", before)
	deadline := time.After(r.outage)
	if r.outage == 0 {
		deadline = nil
	}
	for up := false; !up; {
		select {
		case <-done:
			return
		case <-deadline:
			up = true
		case <-tick.C:
			r.mu.Lock()
			r.maxHeld = max(r.maxHeld, held())
			r.mu.Unlock()
		}
	}
	if err := r.srv.Start(); err != nil {
		t.Error(err)
		return
	}
	r.mu.Lock()
	r.upAt = time.Now()
	r.mu.Unlock()
	// Recovered: the rows waiting are back to what a healthy sink holds
	// (the current window's).
	for wait() {
		if h := held(); h <= max(before, int64(r.opts.Shards)*2) {
			r.mu.Lock()
			r.recovered = time.Since(r.upAt)
			r.mu.Unlock()
			return
		}
	}
}

// BigQuery down for 60 s in the middle of a stream: the sink holds the rows
// that keep coming (counted), retries with backoff, and once the emulator is
// back every row sent is in the table.
func TestWriteOutageEmulator(t *testing.T) {
	const rate, seconds = 50, 90
	r := newOutageRun(t, rate, seconds, WriteOptions{MaxHeldRows: 100_000}, 60*time.Second)
	start := time.Now()
	res, err := r.run(t, rate)
	if err != nil {
		t.Fatalf("the run failed: %v", err)
	}
	rows, distinct, err := r.count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	written := beamtest.Counter(t, res, counterNamespace, "rows_written")
	t.Logf("sent %d, table holds %d rows (%d distinct); rows_written %d, retries %d, rows_failed %d; down %v, most rows held %d, recovered %v after the restart; run %v",
		r.sent, rows, distinct, written, beamtest.Counter(t, res, counterNamespace, "retries"), beamtest.Counter(t, res, counterNamespace, "rows_failed"),
		r.upAt.Sub(r.downAt).Round(time.Millisecond), r.maxHeld, r.recovered.Round(time.Millisecond), time.Since(start).Round(time.Second))
	if distinct != r.sent {
		t.Errorf("table holds %d distinct ticks, want the %d sent", distinct, r.sent)
	}
	// At least once: an append whose answer died with the emulator is sent
	// again. Anything more than that would be a bug.
	if rows != written || rows-distinct > int64(r.opts.MaxBatchRows) {
		t.Errorf("table holds %d rows for %d distinct, rows_written %d: duplicates beyond one lost append", rows, distinct, written)
	}
	if n := beamtest.Counter(t, res, counterNamespace, "rows_failed"); n != 0 {
		t.Errorf("rows_failed = %d: rows went to the error table during the outage", n)
	}
	if n := beamtest.Counter(t, res, counterNamespace, "retries"); n < 3 {
		t.Errorf("retries = %d, want several over the outage", n)
	}
	if r.upAt.Sub(r.downAt) < 60*time.Second {
		t.Errorf("the emulator was down %v, want 60s", r.upAt.Sub(r.downAt))
	}
	// Prism stops feeding a stage whose bundles do not finish, so the rows
	// held grow by a few windows' worth, not by the feed's 60 s.
	if r.maxHeld <= 2*rate {
		t.Errorf("at most %d rows held during the outage, want more than the %d of two windows: they were not counted", r.maxHeld, 2*rate)
	}
}

// Past MaxOutage the run fails with an error that says which bound, instead
// of waiting for ever.
func TestWriteOutageBoundsEmulator(t *testing.T) {
	for _, c := range []struct {
		name string
		opts WriteOptions
		want string
	}{
		{"max outage", WriteOptions{MaxOutage: 5 * time.Second}, "(bound: max outage 5s)"},
		// No "max held rows" case here: prism stops feeding a stage whose
		// bundles do not finish, so the rows held stop growing (at ~900
		// for 100 ticks/s) and the bound is met only by a runner that
		// keeps feeding; TestAppendRowsOutageBounds checks it.
	} {
		t.Run(c.name, func(t *testing.T) {
			const rate, seconds = 100, 60
			r := newOutageRun(t, rate, seconds, c.opts, 0)
			start := time.Now()
			_, err := r.run(t, rate)
			var failedAfter time.Duration
			r.mu.Lock()
			if !r.downAt.IsZero() {
				failedAfter = time.Since(r.downAt)
			}
			r.mu.Unlock()
			if err == nil {
				t.Fatalf("the run succeeded with BigQuery down from %v on", r.downAt.Sub(start))
			}
			msg := err.Error()
			if !strings.Contains(msg, "bigqueryx: table "+r.table.String()+": giving up after") || !strings.Contains(msg, c.want) {
				t.Errorf("error does not say which sink gave up and why (%q):\n%s", c.want, lastLines(msg, 3))
			}
			t.Logf("failed %v after the emulator went down, most rows held %d: %s", failedAfter.Round(time.Millisecond), r.maxHeld, lastLines(msg, 1))
			// A bound is checked when an attempt fails; one that hangs
			// fails after 30 s (appendTimeout).
			if failedAfter > 50*time.Second {
				t.Errorf("the run failed %v after the outage began, want within the bound plus a backoff", failedAfter)
			}
			if errors.Is(err, context.Canceled) {
				t.Errorf("the run was cancelled, not failed: %v", err)
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
