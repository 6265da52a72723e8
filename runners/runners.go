// Package runners runs tickbeam pipelines: on Beam's prism runner in this
// process (the default, no cloud account needed), or on any runner Beam
// registers, Dataflow included, with Beam's own flags passed through.
//
// A streaming run on prism stops cleanly when its Options.Duration elapses,
// when the context is done, or on SIGINT/SIGTERM: the job is cancelled through
// prism's job service, the one stop prism survives (a context deadline on the
// run has crashed it, and --async with in-process prism panics).
package runners

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
	"github.com/tickbeam/tickbeam/internal/counters"
	"github.com/tickbeam/tickbeam/internal/nosplit"
	"github.com/tickbeam/tickbeam/internal/optcheck"

	// Runners and filesystems users can select by flag.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
)

// Local names the in-process prism runner.
const Local = "prism"

// Options configure Run.
type Options struct {
	// Runner is a Beam runner name: "" , "prism", "local" or "direct" run on
	// prism in this process; "dataflow" submits to Dataflow using Beam's
	// --project, --region, --staging_location, --dry_run ... flags.
	Runner string
	// Duration stops a local run after this long (0: run until done or stopped).
	Duration time.Duration
	// StopOnSignal stops a local run on SIGINT or SIGTERM.
	StopOnSignal bool
}

// Validate reports a negative Duration. Runner names are checked by Beam
// when Run submits (any name IsLocal does not know goes to beam.Run).
func (o Options) Validate() error {
	return optcheck.NonNegative("runners", optcheck.F("Duration", o.Duration))
}

// IsLocal reports whether runner names the in-process prism runner.
func IsLocal(runner string) bool {
	switch runner {
	case "", "prism", "local", "direct", "PrismRunner":
		return true
	}
	return false
}

// Run runs p and waits for it. Local runs return the pipeline's metrics; a
// local run stopped by Duration, the context or a signal is not an error.
// Dataflow runs return once the job is submitted (or translated, with
// --dry_run), with a nil result. Invalid opts (Options.Validate) are an
// error.
func Run(ctx context.Context, p *beam.Pipeline, opts Options) (beam.PipelineResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if !beam.Initialized() {
		beam.Init()
	}
	if !IsLocal(opts.Runner) {
		r, err := beam.Run(ctx, opts.Runner, p)
		if err != nil {
			return nil, fmt.Errorf("run on %s: %w", opts.Runner, err)
		}
		return r, nil
	}
	jobs, err := localJobService()
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		var deadline <-chan time.Time
		if opts.Duration > 0 {
			t := time.NewTimer(opts.Duration)
			defer t.Stop()
			deadline = t.C
		}
		var sig chan os.Signal
		if opts.StopOnSignal {
			sig = make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
		}
		select {
		case <-stop:
			return
		case <-ctx.Done():
		case <-deadline:
		case <-sig:
		}
		cancelRunning(jobs)
	}()
	// The run gets a context that is never cancelled: stopping goes through
	// the job service above.
	r, err := universal.Execute(context.WithoutCancel(ctx), p)
	if err != nil {
		return nil, &JobError{err: err}
	}
	return r, nil
}

// JobError is a failed local run. Its message is one line, the failing
// DoFn's own error (prism's error lists the whole bundle plan first, and
// prism has already logged it); Unwrap gives prism's error.
type JobError struct{ err error }

func (e *JobError) Error() string { return "run on prism: " + rootCause(e.err.Error()) }

func (e *JobError) Unwrap() error { return e.err }

// rootCause is the first line after the last "failed:" line of a prism
// job error (a DoFn's error; a panic's first line), else its first line.
func rootCause(s string) string {
	if i := strings.LastIndex(s, "failed:\n"); i >= 0 {
		s = s[i+len("failed:\n"):]
	}
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

var local struct {
	once     sync.Once
	mu       sync.Mutex // guards jobs for LiveMetrics, which may run before the first Run
	jobs     jobpb.JobServiceClient
	endpoint string
	err      error
}

// localJobService starts prism's job service once per process and points
// Beam's portable runner at it, with the SDK harness in this process.
func localJobService() (jobpb.JobServiceClient, error) {
	local.once.Do(func() {
		port, err := freePort()
		if err != nil {
			local.err = fmt.Errorf("start prism: %w", err)
			return
		}
		jobs, err := prism.CreateJobServer(context.Background(), prism.Options{Port: port})
		if err != nil {
			local.err = fmt.Errorf("start prism job service: %w", err)
			return
		}
		local.mu.Lock()
		local.jobs, local.endpoint = jobs, fmt.Sprintf("localhost:%d", port)
		local.mu.Unlock()
	})
	// Set on every run: flags may have been reset since (the CLI resets them
	// between runs in one process).
	*jobopts.Endpoint = local.endpoint
	nosplit.Apply()
	if *jobopts.EnvironmentType == "" {
		*jobopts.EnvironmentType = "loopback"
	}
	return local.jobs, local.err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cancelRunning cancels every job of the local job service that has not
// finished; a process runs one pipeline at a time through Run.
func cancelRunning(jobs jobpb.JobServiceClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
	if err != nil {
		return
	}
	for _, j := range resp.GetJobInfo() {
		switch j.GetState() {
		case jobpb.JobState_DONE, jobpb.JobState_FAILED, jobpb.JobState_CANCELLED, jobpb.JobState_DRAINED:
			continue
		}
		_, _ = jobs.Cancel(ctx, &jobpb.CancelJobRequest{JobId: j.GetJobId()})
	}
}

// Counter sums the committed value of a Beam counter across the steps of a
// finished run.
func Counter(r beam.PipelineResult, namespace, name string) int64 {
	return counters.Sum(r, namespace, name)
}
