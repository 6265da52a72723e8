package runners

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/metricsx"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
)

// ErrNoLocalJob is LiveMetrics' error before a local run has started.
var ErrNoLocalJob = errors.New("no pipeline has run on the local runner yet")

// LiveMetrics returns the metrics of the pipeline running on the local
// runner, as they are while it runs: prism's job service adds each finished
// bundle's counters to the job's committed values (the same store a finished
// run's result is read from), so a Prometheus scrape or the dashboard sees
// them grow. Between runs it returns the last run's final values.
//
// Only a local run has them here: a Dataflow job's counters live in
// Dataflow (Cloud Monitoring).
func LiveMetrics(ctx context.Context) (*metrics.Results, error) {
	local.mu.Lock()
	jobs := local.jobs
	local.mu.Unlock()
	if jobs == nil {
		return nil, ErrNoLocalJob
	}
	resp, err := jobs.GetJobs(ctx, &jobpb.GetJobsRequest{})
	if err != nil {
		return nil, fmt.Errorf("live metrics: list jobs: %w", err)
	}
	id := currentJob(resp.GetJobInfo())
	if id == "" {
		return nil, ErrNoLocalJob
	}
	m, err := jobs.GetJobMetrics(ctx, &jobpb.GetJobMetricsRequest{JobId: id})
	if err != nil {
		return nil, fmt.Errorf("live metrics of %s: %w", id, err)
	}
	// The pipeline proto only maps PCollection metrics to steps; user
	// counters carry their step in their labels.
	return metricsx.FromMonitoringInfos(nil, m.GetMetrics().GetAttempted(), m.GetMetrics().GetCommitted()), nil
}

// currentJob picks the running job (a process runs one pipeline at a time
// through Run), else the newest: prism numbers jobs job-001, job-002, ...
func currentJob(infos []*jobpb.JobInfo) string {
	var running, newest string
	for _, j := range infos {
		id := j.GetJobId()
		if newer(id, newest) {
			newest = id
		}
		switch j.GetState() {
		case jobpb.JobState_DONE, jobpb.JobState_FAILED, jobpb.JobState_CANCELLED, jobpb.JobState_DRAINED:
		default:
			if newer(id, running) {
				running = id
			}
		}
	}
	if running != "" {
		return running
	}
	return newest
}

func newer(a, b string) bool { return len(a) > len(b) || (len(a) == len(b) && a > b) }
