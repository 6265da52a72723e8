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
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/tickbeam/tickbeam/internal/nosplit"

	"github.com/tickbeam/tickbeam/internal/emuproc"
)

// Project is the Google Cloud project id the emulators serve.
const Project = "tickbeam-test"

// BigQueryEmulatorVersion is the version scripts/emulators.sh builds.
const BigQueryEmulatorVersion = emuproc.BigQueryEmulatorVersion

type emulator struct {
	once  sync.Once
	proc  *emuproc.Proc
	cmd   *exec.Cmd // proc's, nil when stopped
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
	nosplit.Apply()
	code := m.Run()
	for _, e := range []*emulator{&pubsub, &bigquery} {
		e.stop()
	}
	return code
}

// MainPrism runs a package's Beam tests on prism, as
// ptest.MainWithDefault(m, "prism") does, with bundle splitting off
// (internal/nosplit).
func MainPrism(m *testing.M) {
	nosplit.Apply()
	ptest.MainWithDefault(m, "prism")
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
		argv, err := emuproc.PubSubCommand("127.0.0.1", port, Project)
		if err != nil {
			pubsub.err = err
			return
		}
		host := fmt.Sprintf("127.0.0.1:%d", port)
		pubsub.start(argv[0], argv[1:]...)
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
		bin, err := emuproc.BigQueryBinary()
		if err != nil {
			bigquery.err = err
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

// PubSubCPU and BigQueryCPU are the processor time the emulators this test
// binary started have used so far (see emuproc.Proc.CPU): a benchmark on
// one machine reports it beside its own.
func PubSubCPU() (time.Duration, error)   { return pubsub.cpu("Pub/Sub") }
func BigQueryCPU() (time.Duration, error) { return bigquery.cpu("BigQuery") }

func (e *emulator) cpu(name string) (time.Duration, error) {
	if e.cmd == nil {
		return 0, fmt.Errorf("the %s emulator is not running", name)
	}
	return e.proc.CPU()
}

// BigQueryEmulatorPath is where scripts/emulators.sh caches the emulator.
func BigQueryEmulatorPath() string { return emuproc.BigQueryCachePath() }

// start starts the emulator in its own process group (gcloud's wrapper
// starts a Java process that outlives it, and stop must end both), killed
// with the test binary.
func (e *emulator) start(name string, args ...string) {
	p, err := emuproc.Start(append([]string{name}, args...)...)
	if err != nil {
		e.err = err
		return
	}
	e.proc, e.cmd, e.log = p, p.Cmd, p.Log
}

// wait waits for the emulator's hosts to listen; past limit it stops the
// emulator and sets e.err, quoting its output.
func (e *emulator) wait(limit time.Duration) {
	if e.err != nil {
		return
	}
	if e.err = e.proc.Wait(limit, e.hosts...); e.err != nil {
		e.cmd = nil
	}
}

func (e *emulator) stop() {
	if e.cmd == nil {
		return
	}
	e.proc.Stop()
	e.cmd = nil
}

var freePort = emuproc.FreePort
