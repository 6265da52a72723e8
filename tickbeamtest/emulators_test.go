package tickbeamtest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/tickbeamtest"
)

// tickbeam's own tests use RequireEmulators: in CI a missing emulator is a
// failure, not a skip.

// Two tests' projects keep the same topic name apart on the one emulator,
// and a message published is pulled back.
func TestEmulatorsPubSub(t *testing.T) {
	ctx := context.Background()
	var topics []string
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			env := tickbeamtest.RequireEmulators(t, tickbeamtest.PubSub)
			if got := os.Getenv("PUBSUB_EMULATOR_HOST"); got != env.PubSubHost || got == "" {
				t.Fatalf("PUBSUB_EMULATOR_HOST = %q, env.PubSubHost %q", got, env.PubSubHost)
			}
			topic, sub := env.Topic("trades"), env.Subscription("monitor")
			topics = append(topics, topic)
			if err := pubsubx.CreateTopic(ctx, topic); err != nil {
				t.Fatalf("create in a fresh project: %v", err)
			}
			if err := pubsubx.CreateSubscription(ctx, sub, topic); err != nil {
				t.Fatal(err)
			}
			pub, err := pubsubx.NewPublisher(ctx, topic, pubsubx.PublisherOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, []byte("hello "+name), nil); err != nil {
				t.Fatal(err)
			}
			if err := pub.Close(ctx); err != nil {
				t.Fatal(err)
			}
			c, err := pubsub.NewClient(ctx, env.Project)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var listed []string
			it := c.TopicAdminClient.ListTopics(ctx, &pubsubpb.ListTopicsRequest{Project: "projects/" + env.Project})
			for tp, err := it.Next(); err == nil; tp, err = it.Next() {
				listed = append(listed, tp.GetName())
			}
			if !slices.Equal(listed, []string{topic}) {
				t.Errorf("the test's project holds topics %v, want only %s", listed, topic)
			}
			resp, err := c.SubscriptionAdminClient.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(resp.GetReceivedMessages()); n != 1 || string(resp.ReceivedMessages[0].GetMessage().GetData()) != "hello "+name {
				t.Fatalf("pulled %v, want the one message of this test", resp.GetReceivedMessages())
			}
		})
	}
	if len(topics) != 2 || topics[0] == topics[1] {
		t.Errorf("topics %v: want one per test", topics)
	}
}

// Each test gets its own BigQuery emulator serving its own project; tests
// with a fixed project share one.
func TestEmulatorsBigQuery(t *testing.T) {
	ctx := context.Background()
	type row struct {
		Symbol string  `json:"symbol"`
		Price  float64 `json:"price"`
	}
	schema, err := bigqueryx.SchemaOf(row{})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]string{}
	for _, name := range []string{"first test", "second/ünïcode name!"} {
		t.Run(name, func(t *testing.T) {
			env := tickbeamtest.RequireEmulators(t, tickbeamtest.BigQuery)
			table, err := bigqueryx.ParseTable(env.Table("market", "rows"))
			if err != nil {
				t.Fatalf("the test's project is not a valid table name: %v", err)
			}
			opts := env.BigQueryOptions()
			if _, err := bigqueryx.Query(ctx, "SELECT 1 FROM "+table.SQL(), opts); err == nil {
				t.Fatal("a fresh emulator already has the table")
			}
			if err := bigqueryx.EnsureTable(ctx, table, schema, bigqueryx.TableOptions{Options: opts}); err != nil {
				t.Fatal(err)
			}
			got, err := bigqueryx.ReadRows[row](ctx, table, opts)
			if err != nil || len(got) != 0 {
				t.Fatalf("rows %v, err %v: want an empty table", got, err)
			}
			hosts[env.Project] = env.BigQueryHost
		})
	}
	if len(hosts) != 2 {
		t.Errorf("projects and hosts %v: want two of each", hosts)
	}
	shared := tickbeamtest.Config{Project: "tickbeamtest-shared", Require: true}
	var sharedHosts []string
	for _, name := range []string{"a", "b"} {
		t.Run("shared "+name, func(t *testing.T) {
			env := shared.Start(t, tickbeamtest.BigQuery)
			sharedHosts = append(sharedHosts, env.BigQueryHost)
			if env.Project != shared.Project {
				t.Errorf("project %q, want %q", env.Project, shared.Project)
			}
		})
	}
	if len(sharedHosts) != 2 || sharedHosts[0] != sharedHosts[1] {
		t.Errorf("a fixed project's tests used emulators %v: want one", sharedHosts)
	}
}

// A pipeline reads gs:// through the fake GCS server.
func TestEmulatorsGCS(t *testing.T) {
	env := tickbeamtest.RequireEmulators(t, tickbeamtest.GCS)
	env.GCS.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "raw", Name: "day/1.jsonl"},
		Content: []byte("a\nb\n")})
	p, s := beam.NewPipelineWithRoot()
	got, _ := lines.Read(s, "gs://raw/day/*.jsonl")
	passert.Equals(s, got, "a", "b")
	ptest.RunAndValidate(t, p)
	if !slices.Contains(env.Vars(), "STORAGE_EMULATOR_HOST="+env.GCSHost) {
		t.Errorf("Vars() = %v, want STORAGE_EMULATOR_HOST", env.Vars())
	}
}

// A missing binary skips the test with the install command, or fails it
// under Require or $TICKBEAMTEST_REQUIRE.
func TestEmulatorsMissingBinary(t *testing.T) {
	t.Setenv("TICKBEAM_BIGQUERY_EMULATOR", "/nonexistent/bigquery-emulator")
	for _, c := range []struct {
		name    string
		cfg     tickbeamtest.Config
		require string
		want    string
	}{
		{"skip", tickbeamtest.Config{}, "", "skip"},
		{"Require", tickbeamtest.Config{Require: true}, "", "fatal"},
		{"TICKBEAMTEST_REQUIRE", tickbeamtest.Config{}, "1", "fatal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(tickbeamtest.RequireEnv, c.require)
			rec := &stopper{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.cfg.Start(rec, tickbeamtest.BigQuery)
			}()
			<-done
			if rec.how != c.want {
				t.Fatalf("ended by %q (%s), want %s", rec.how, rec.msg, c.want)
			}
			for _, w := range []string{"BigQuery emulator", "/nonexistent/bigquery-emulator", "scripts/emulators.sh install", "go install github.com/goccy/bigquery-emulator"} {
				if !strings.Contains(rec.msg, w) {
					t.Errorf("message lacks %q: %s", w, rec.msg)
				}
			}
		})
	}
}

// stopper records how Skipf or Fatalf ended a test, and ends the goroutine
// as they do.
type stopper struct {
	testing.TB
	how, msg string
}

func (s *stopper) Helper() {}
func (s *stopper) Skipf(f string, args ...any) {
	s.how, s.msg = "skip", fmt.Sprintf(f, args...)
	runtime.Goexit()
}
func (s *stopper) Fatalf(f string, args ...any) {
	s.how, s.msg = "fatal", fmt.Sprintf(f, args...)
	runtime.Goexit()
}
