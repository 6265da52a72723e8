package runners

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow/dataflowlib"
	df "google.golang.org/api/dataflow/v1b3"
	"google.golang.org/protobuf/proto"
)

// DataflowJob names the job TranslateDataflow builds.
type DataflowJob struct {
	Name, Project, Region string
	// StagingLocation is a gs:// prefix; nothing is written there.
	StagingLocation string
}

// TranslateDataflow returns the Dataflow job and the Beam model pipeline p
// becomes, offline, as the dataflow runner would submit them: for tests and
// for inspecting a job (streaming or batch, its steps) before launching it.
// The job is streaming when p has an unbounded source.
func TranslateDataflow(ctx context.Context, p *beam.Pipeline, j DataflowJob) (*df.Job, *pipepb.Pipeline, error) {
	if !beam.Initialized() {
		beam.Init()
	}
	edges, nodes, err := p.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("translate for Dataflow: %w", err)
	}
	env, err := graphx.CreateEnvironment(ctx, "beam:env:docker:v1", func(context.Context) string { return "apache/beam_go_sdk:2.77.0" })
	if err != nil {
		return nil, nil, fmt.Errorf("translate for Dataflow: %w", err)
	}
	model, err := graphx.Marshal(edges, &graphx.Options{Environment: env})
	if err != nil {
		return nil, nil, fmt.Errorf("translate for Dataflow: %w", err)
	}
	b, err := proto.Marshal(model)
	if err != nil {
		return nil, nil, fmt.Errorf("translate for Dataflow: %w", err)
	}
	hash := sha256.Sum256(b)
	job, err := dataflowlib.Translate(ctx, model, &dataflowlib.JobOptions{
		Name: j.Name, Project: j.Project, Region: j.Region, Streaming: !graph.Bounded(nodes),
	}, j.StagingLocation+"/worker", j.StagingLocation+"/model", hex.EncodeToString(hash[:]))
	if err != nil {
		return nil, nil, fmt.Errorf("translate for Dataflow: %w", err)
	}
	return job, model, nil
}
