package pubsubx

import (
	"context"
	"flag"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/runners"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// setFlags sets command-line flags for the test and restores them after.
func setFlags(t *testing.T, kv map[string]string) {
	t.Helper()
	for k, v := range kv {
		f := flag.Lookup(k)
		if f == nil {
			t.Fatalf("no flag --%s", k)
		}
		old := f.Value.String()
		if err := flag.Set(k, v); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = flag.Set(k, old) })
	}
}

// TestReadNativeOnDataflow translates a pipeline reading with Native on, as
// Dataflow would get it, offline: Beam's dataflow runner accepts it with
// --dry_run, and the job is a streaming job whose pipeline holds Beam's
// Pub/Sub read of the subscription with our attributes.
func TestReadNativeOnDataflow(t *testing.T) {
	const sub = "projects/my-proj/subscriptions/ticks"
	build := func() *beam.Pipeline {
		return pipeline(t, func(s beam.Scope) {
			msgs := Read(s, ReadOptions{Subscription: sub, TimestampAttribute: "ts", IDAttribute: "eid", Native: true})
			Write(s, "projects/my-proj/topics/copy", msgs, WriteOptions{})
		})
	}
	setFlags(t, map[string]string{
		// A prism run before this test set it to loopback, which the
		// dataflow runner refuses.
		"environment_type": "",
		"dry_run":          "true",
		"project":          "my-proj",
		"region":           "us-central1",
		"staging_location": "gs://my-bucket/staging",
	})
	if _, err := runners.Run(context.Background(), build(), runners.Options{Runner: "dataflow"}); err != nil {
		t.Fatalf("dataflow --dry_run: %v", err)
	}

	// What the dry run translated, for assertions.
	job, model, err := runners.TranslateDataflow(context.Background(), build(), runners.DataflowJob{
		Name: "tickbeam-test", Project: "my-proj", Region: "us-central1", StagingLocation: "gs://my-bucket/staging"})
	if err != nil {
		t.Fatal(err)
	}
	if job.Type != "JOB_TYPE_STREAMING" {
		t.Errorf("job type %s, want JOB_TYPE_STREAMING", job.Type)
	}

	var reads []*pipepb.PubSubReadPayload
	for _, tr := range model.GetComponents().GetTransforms() {
		if tr.GetSpec().GetUrn() != ReadURN {
			continue
		}
		var p pipepb.PubSubReadPayload
		if err := proto.Unmarshal(tr.GetSpec().GetPayload(), &p); err != nil {
			t.Fatal(err)
		}
		reads = append(reads, &p)
	}
	want := []*pipepb.PubSubReadPayload{{Subscription: sub, TimestampAttribute: "ts", IdAttribute: "eid", WithAttributes: true}}
	if diff := cmp.Diff(want, reads, protocmp.Transform()); diff != "" {
		t.Errorf("Pub/Sub reads in the pipeline (-want +got):\n%s", diff)
	}
}
