package tickbeamtest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/nosplit"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/tickbeam/tickbeam/internal/emuproc"
	"github.com/tickbeam/tickbeam/internal/optcheck"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
)

// Service names an emulator that Emulators starts.
type Service int

const (
	// PubSub is the Pub/Sub emulator of the Google Cloud CLI (Java), one
	// per test binary: it serves any project, so each test's project keeps
	// its topics apart.
	PubSub Service = iota + 1
	// BigQuery is goccy/bigquery-emulator, one per test (it starts in well
	// under a second and serves only the project it was started with).
	BigQuery
	// GCS is fake-gcs-server, in this process, one per test.
	GCS
)

func (s Service) String() string {
	switch s {
	case PubSub:
		return "Pub/Sub"
	case BigQuery:
		return "BigQuery"
	case GCS:
		return "GCS"
	}
	return fmt.Sprintf("Service(%d)", int(s))
}

// RequireEnv, set to any non-empty value, makes a missing emulator fail the
// test instead of skipping it: set it in CI, where a skip would hide a
// missing install step.
const RequireEnv = "TICKBEAMTEST_REQUIRE"

// Env is what a test's code needs to reach its emulators. Emulators has
// also set the variables Google's clients (and tickbeam's) read, for the
// test's duration: PUBSUB_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST,
// BIGQUERY_STORAGE_EMULATOR_HOST and STORAGE_EMULATOR_HOST. Pipelines on
// prism run in the test's process and see them; Vars passes them to a
// child process.
type Env struct {
	// Project is the test's own Google Cloud project id.
	Project string
	// PubSubHost is the Pub/Sub emulator's host:port ("" if not started).
	PubSubHost string
	// BigQueryHost and BigQueryStorageHost are the BigQuery emulator's
	// HTTP and gRPC (Storage Write API) host:port.
	BigQueryHost, BigQueryStorageHost string
	// GCS is the fake-gcs-server (nil if not started): create buckets and
	// objects and read what a pipeline wrote through it.
	GCS *fakestorage.Server
	// GCSHost is its host:port.
	GCSHost string
}

// Vars returns the emulator variables as "KEY=value" pairs, for
// exec.Cmd.Env (append them to os.Environ()).
func (e *Env) Vars() []string {
	var vs []string
	add := func(k, v string) {
		if v != "" {
			vs = append(vs, k+"="+v)
		}
	}
	add("PUBSUB_EMULATOR_HOST", e.PubSubHost)
	add(bigqueryx.EnvEndpoint, e.BigQueryHost)
	add(bigqueryx.EnvStorageEndpoint, e.BigQueryStorageHost)
	add("STORAGE_EMULATOR_HOST", e.GCSHost)
	return vs
}

// BigQueryOptions points io/bigqueryx at the BigQuery emulator, with the
// test's project running queries.
func (e *Env) BigQueryOptions() bigqueryx.Options {
	return bigqueryx.Options{Endpoint: e.BigQueryHost, StorageEndpoint: e.BigQueryStorageHost, Project: e.Project}
}

// Table names a table of the test's project: "PROJECT.DATASET.TABLE".
func (e *Env) Table(dataset, table string) string {
	return e.Project + "." + dataset + "." + table
}

// Topic and Subscription name a Pub/Sub topic and subscription of the
// test's project ("projects/P/topics/NAME").
func (e *Env) Topic(name string) string { return "projects/" + e.Project + "/topics/" + name }

// Subscription: see Topic.
func (e *Env) Subscription(name string) string {
	return "projects/" + e.Project + "/subscriptions/" + name
}

// Config chooses how Start treats a test. The zero value is what
// Emulators uses.
type Config struct {
	// Project fixes the project id. Empty: a fresh one per test, so tests
	// cannot see each other's topics and tables. With a fixed project the
	// BigQuery emulator is shared by the tests that use that project.
	Project string
	// Require fails the test when an emulator is not installed, instead of
	// skipping it (see also RequireEnv).
	Require bool
}

// Validate reports a Project, when set, that is not a project id both
// emulators accept (6-30 lowercase letters, digits or hyphens, starting
// with a letter). The zero Config is valid.
func (c Config) Validate() error {
	if c.Project == "" {
		return nil
	}
	err := bigqueryx.Table{Project: c.Project, Dataset: "d", Table: "t"}.Validate()
	return optcheck.Wrap("tickbeamtest", "Project", err)
}

// Emulators starts the services a test needs on loopback (those already
// running are reused) and returns its Env. When a service's binary is
// missing the test is skipped with the command that installs it, unless
// $TICKBEAMTEST_REQUIRE is set. It calls t.Setenv, so the test must not be
// parallel.
func Emulators(t testing.TB, services ...Service) *Env {
	t.Helper()
	return Config{}.Start(t, services...)
}

// RequireEmulators is Emulators failing the test, never skipping it, when a
// binary is missing.
func RequireEmulators(t testing.TB, services ...Service) *Env {
	t.Helper()
	return Config{Require: true}.Start(t, services...)
}

var envs sync.Map // testing.TB -> *Env

// Start is Emulators with c's settings. Calls for the same test return the
// same Env, with the services of every call started. Invalid settings
// (Config.Validate) fail the test.
func (c Config) Start(t testing.TB, services ...Service) *Env {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	v, loaded := envs.LoadOrStore(t, &Env{Project: c.Project})
	env := v.(*Env)
	if !loaded {
		t.Cleanup(func() { envs.Delete(t) })
		if env.Project == "" {
			env.Project = projectFor(t.Name())
		}
	}
	for _, s := range services {
		if err := c.start(t, env, s); err != nil {
			var missing *emuproc.ErrMissing
			if errors.As(err, &missing) && !c.Require && os.Getenv(RequireEnv) == "" {
				t.Skipf("tickbeamtest: skipped, %s emulator: %v", s, err)
			}
			t.Fatalf("tickbeamtest: %s emulator: %v", s, err)
		}
	}
	return env
}

func (c Config) start(t testing.TB, env *Env, s Service) error {
	switch s {
	case PubSub:
		if env.PubSubHost == "" {
			hosts, err := emuproc.Shared("pubsub", func() (*emuproc.Proc, []string, error) {
				return startPubSub(env.Project)
			})
			if err != nil {
				return err
			}
			env.PubSubHost = hosts[0]
		}
		t.Setenv("PUBSUB_EMULATOR_HOST", env.PubSubHost)
	case BigQuery:
		if env.BigQueryHost == "" {
			var hosts []string
			var err error
			if c.Project != "" {
				hosts, err = emuproc.Shared("bigquery/"+c.Project, func() (*emuproc.Proc, []string, error) {
					return startBigQuery(c.Project)
				})
			} else {
				var p *emuproc.Proc
				p, hosts, err = startBigQuery(env.Project)
				t.Cleanup(p.Stop)
			}
			if err != nil {
				return err
			}
			env.BigQueryHost, env.BigQueryStorageHost = hosts[0], hosts[1]
		}
		t.Setenv(bigqueryx.EnvEndpoint, env.BigQueryHost)
		t.Setenv(bigqueryx.EnvStorageEndpoint, env.BigQueryStorageHost)
	case GCS:
		if env.GCS == nil {
			srv, err := startGCS()
			if err != nil {
				return err
			}
			t.Cleanup(srv.Stop)
			u, err := url.Parse(srv.URL())
			if err != nil {
				return err
			}
			env.GCS, env.GCSHost = srv, u.Host
		}
		t.Setenv("STORAGE_EMULATOR_HOST", env.GCSHost)
	default:
		return fmt.Errorf("unknown service %v", s)
	}
	return nil
}

func startPubSub(project string) (*emuproc.Proc, []string, error) {
	port, err := emuproc.FreePort()
	if err != nil {
		return nil, nil, err
	}
	argv, err := emuproc.PubSubCommand("127.0.0.1", port, project)
	if err != nil {
		return nil, nil, err
	}
	p, err := emuproc.Start(argv...)
	if err != nil {
		return nil, nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	// Java: 2 s on an idle machine, much more on a loaded one.
	return p, []string{host}, p.Wait(90*time.Second, host)
}

func startBigQuery(project string) (*emuproc.Proc, []string, error) {
	bin, err := emuproc.BigQueryBinary()
	if err != nil {
		return nil, nil, err
	}
	hp, err := emuproc.FreePort()
	if err != nil {
		return nil, nil, err
	}
	gp, err := emuproc.FreePort()
	if err != nil {
		return nil, nil, err
	}
	p, err := emuproc.Start(bin, "--project="+project, "--host=127.0.0.1",
		fmt.Sprintf("--port=%d", hp), fmt.Sprintf("--grpc-port=%d", gp))
	if err != nil {
		return nil, nil, err
	}
	hosts := []string{fmt.Sprintf("127.0.0.1:%d", hp), fmt.Sprintf("127.0.0.1:%d", gp)}
	return p, hosts, p.Wait(60*time.Second, hosts...)
}

func startGCS() (*fakestorage.Server, error) {
	return fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http",
		Host:   "127.0.0.1",
		// Object reads go to the "public" host; without a port it matches
		// 127.0.0.1 on any port, so the listener can pick its own.
		PublicHost: "127.0.0.1",
	})
}

var projectSeq atomic.Int64

// projectFor derives a valid, unique project id from a test name:
// 6 to 30 lower-case letters, digits and hyphens, starting with a letter.
func projectFor(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 16 {
			break
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) < 3 {
		base = "test"
	}
	return fmt.Sprintf("t-%s-%d", base, projectSeq.Add(1))
}

// Main is a TestMain for packages whose tests use Emulators: what
// ptest.Main does (flags, beam.Init, prism as the default runner), then it
// stops the emulators shared by the tests. Without it they end with the
// test binary anyway.
//
//	func TestMain(m *testing.M) { tickbeamtest.Main(m) }
func Main(m *testing.M) { os.Exit(MainRet(m)) }

// MainRet is Main returning the exit code instead of exiting.
func MainRet(m *testing.M) int {
	defer emuproc.StopShared()
	nosplit.Apply()
	return ptest.MainRetWithDefault(m, "prism")
}
