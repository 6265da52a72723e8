// Package testenv starts the real emulators tickbeam's tests talk to, once
// per test binary, on loopback ports: the Pub/Sub emulator from gcloud and
// the BigQuery emulator (goccy/bigquery-emulator) that scripts/emulators.sh
// builds into its cache. A missing emulator fails the test with the command
// that installs it; nothing is skipped.
//
// Use it from TestMain so emulators stop when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Project is the Google Cloud project id the emulators serve.
const Project = "tickbeam-test"

// BigQueryEmulatorVersion is the version scripts/emulators.sh builds.
const BigQueryEmulatorVersion = "v0.6.6"

type emulator struct {
	once  sync.Once
	cmd   *exec.Cmd
	log   *bytes.Buffer
	hosts []string
	err   error
}

var (
	pubsub   emulator
	bigquery emulator
)

// Main runs the tests and stops the emulators they started.
func Main(m *testing.M) int {
	code := m.Run()
	for _, e := range []*emulator{&pubsub, &bigquery} {
		e.stop()
	}
	return code
}

// PubSub returns the host:port of a running Pub/Sub emulator and sets
// PUBSUB_EMULATOR_HOST for the test, as Google's clients expect.
func PubSub(t testing.TB) string {
	t.Helper()
	pubsub.once.Do(func() {
		port, err := freePort()
		if err != nil {
			pubsub.err = err
			return
		}
		if _, err := exec.LookPath("gcloud"); err != nil {
			pubsub.err = fmt.Errorf("gcloud not found: install the Google Cloud CLI with its pubsub-emulator component")
			return
		}
		host := fmt.Sprintf("127.0.0.1:%d", port)
		pubsub.start("gcloud", "beta", "emulators", "pubsub", "start", "--host-port="+host, "--project="+Project)
		pubsub.hosts = []string{host}
		pubsub.wait(90 * time.Second)
	})
	if pubsub.err != nil {
		t.Fatalf("Pub/Sub emulator: %v", pubsub.err)
	}
	t.Setenv("PUBSUB_EMULATOR_HOST", pubsub.hosts[0])
	return pubsub.hosts[0]
}

// BigQuery returns the HTTP and gRPC host:port of a running BigQuery
// emulator and sets BIGQUERY_EMULATOR_HOST and BIGQUERY_STORAGE_EMULATOR_HOST.
func BigQuery(t testing.TB) (httpHost, grpcHost string) {
	t.Helper()
	bigquery.once.Do(func() {
		bin := BigQueryEmulatorPath()
		if _, err := os.Stat(bin); err != nil {
			bigquery.err = fmt.Errorf("%s is missing: run scripts/emulators.sh install (make test does)", bin)
			return
		}
		hp, err := freePort()
		if err != nil {
			bigquery.err = err
			return
		}
		gp, err := freePort()
		if err != nil {
			bigquery.err = err
			return
		}
		bigquery.start(bin, "--project="+Project, "--host=127.0.0.1", fmt.Sprintf("--port=%d", hp), fmt.Sprintf("--grpc-port=%d", gp))
		bigquery.hosts = []string{fmt.Sprintf("127.0.0.1:%d", hp), fmt.Sprintf("127.0.0.1:%d", gp)}
		bigquery.wait(60 * time.Second)
	})
	if bigquery.err != nil {
		t.Fatalf("BigQuery emulator: %v", bigquery.err)
	}
	t.Setenv("BIGQUERY_EMULATOR_HOST", bigquery.hosts[0])
	t.Setenv("BIGQUERY_STORAGE_EMULATOR_HOST", bigquery.hosts[1])
	return bigquery.hosts[0], bigquery.hosts[1]
}

// BigQueryEmulatorPath is where scripts/emulators.sh caches the emulator.
func BigQueryEmulatorPath() string {
	dir := os.Getenv("TICKBEAM_CACHE")
	if dir == "" {
		if c := os.Getenv("XDG_CACHE_HOME"); c != "" {
			dir = filepath.Join(c, "tickbeam")
		} else {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".cache", "tickbeam")
		}
	}
	return filepath.Join(dir, "bin", "bigquery-emulator-"+BigQueryEmulatorVersion)
}

func (e *emulator) start(name string, args ...string) {
	e.log = &bytes.Buffer{}
	e.cmd = exec.Command(name, args...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	// Its own process group: gcloud's wrapper starts a Java process that
	// outlives it, and stop must end both.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		e.err = fmt.Errorf("start %s: %w", name, err)
	}
}

func (e *emulator) wait(limit time.Duration) {
	if e.err != nil {
		return
	}
	deadline := time.Now().Add(limit)
	for _, h := range e.hosts {
		for {
			c, err := net.DialTimeout("tcp", h, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				e.err = fmt.Errorf("not listening on %s after %s; its output:\n%s", h, limit, e.log.String())
				e.stop()
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (e *emulator) stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	}
	e.cmd = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
