package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BigQueryServer is a BigQuery emulator of one test's own that the test can
// stop and start again, as an outage: it keeps its data in a database file,
// so tables and rows survive a restart, and it comes back on the same ports.
// Unlike BigQuery, it does not set the emulator environment variables:
// point the code under test at HTTP and GRPC explicitly.
//
// The emulator (v0.6.6) rewrites the project named by --project at every
// start with an empty dataset list, so datasets vanish from it on a restart
// although their rows stay in the file. The server therefore boots with a
// project of its own (bootProject) and creates Project once, from a YAML
// file at the first start; later starts leave Project as it is.
type BigQueryServer struct {
	HTTP string // host:port of the REST API
	GRPC string // host:port of the Storage API

	mu      sync.Mutex
	e       emulator
	args    []string
	seed    string // --data-from-yaml of the first start
	started bool
}

const bootProject = "tickbeam-boot"

// RestartableBigQuery starts a BigQuery emulator with its database in a
// temporary directory of t, stopped when t ends.
func RestartableBigQuery(t testing.TB) *BigQueryServer {
	t.Helper()
	bin := BigQueryEmulatorPath()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("BigQuery emulator: %s is missing: run scripts/emulators.sh install (make test does)", bin)
	}
	hp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	gp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seed := filepath.Join(dir, "project.yaml")
	if err := os.WriteFile(seed, []byte("projects:\n  - id: "+Project+"\n    datasets: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &BigQueryServer{
		HTTP: fmt.Sprintf("127.0.0.1:%d", hp),
		GRPC: fmt.Sprintf("127.0.0.1:%d", gp),
		args: []string{bin, "--project=" + bootProject, "--host=127.0.0.1", fmt.Sprintf("--port=%d", hp),
			fmt.Sprintf("--grpc-port=%d", gp), "--database=" + filepath.Join(dir, "bigquery.db")},
		seed: seed,
	}
	t.Cleanup(b.Stop)
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return b
}

// Start starts the emulator (again) and waits until both ports listen.
func (b *BigQueryServer) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.e.cmd != nil {
		return nil
	}
	b.e.err = nil
	b.e.hosts = []string{b.HTTP, b.GRPC}
	args := b.args[1:]
	if !b.started {
		args = append(args[:len(args):len(args)], "--data-from-yaml="+b.seed)
	}
	b.e.start(b.args[0], args...)
	// Ports just released can take a moment to bind again.
	b.e.wait(60 * time.Second)
	if b.e.err != nil {
		return fmt.Errorf("BigQuery emulator: %w", b.e.err)
	}
	b.started = true
	return nil
}

// Stop ends the emulator (SIGTERM, then SIGKILL) and returns once it is gone.
func (b *BigQueryServer) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.e.stop()
}

// Kill ends the emulator at once with SIGKILL, as a crash would.
func (b *BigQueryServer) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.e.cmd == nil || b.e.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-b.e.cmd.Process.Pid, syscall.SIGKILL)
	_ = b.e.cmd.Wait()
	b.e.cmd = nil
}
