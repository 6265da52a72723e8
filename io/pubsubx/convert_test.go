package pubsubx

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"1700000000123", time.UnixMilli(1700000000123).UTC(), ""},
		{"0", time.Unix(0, 0).UTC(), ""},
		{"-1000", time.Unix(-1, 0).UTC(), ""},
		{"2024-01-02T15:04:05Z", time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC), ""},
		{"2024-01-02T15:04:05.123456789+09:00", time.Date(2024, 1, 2, 6, 4, 5, 123456789, time.UTC), ""},
		{"99999999999999", time.Time{}, `timestamp "99999999999999": 99999999999999 ms since the epoch is out of range`},
		{"2024-01-02", time.Time{}, `timestamp "2024-01-02" is neither Unix milliseconds nor RFC 3339`},
		{"", time.Time{}, `timestamp "" is neither Unix milliseconds nor RFC 3339`},
		{"1.5e12", time.Time{}, `timestamp "1.5e12" is neither Unix milliseconds nor RFC 3339`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimestamp(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("ParseTimestamp(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestEventTime(t *testing.T) {
	pub := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	msg := func(attrs map[string]string) tickbeam.Message {
		return tickbeam.Message{ID: "1", PublishTime: pub, Attributes: attrs}
	}
	tests := []struct {
		name   string
		attr   string
		m      tickbeam.Message
		want   time.Time
		wantOK bool
	}{
		{"no attribute configured", "", msg(map[string]string{"ts": "1000"}), pub, true},
		{"attribute absent", "ts", msg(nil), pub, true},
		{"millis", "ts", msg(map[string]string{"ts": "1000"}), time.Unix(1, 0).UTC(), true},
		{"rfc3339", "ts", msg(map[string]string{"ts": "2020-01-01T00:00:00Z"}), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"bad value falls back to publish time", "ts", msg(map[string]string{"ts": "yesterday"}), pub, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := eventTime(tc.m, tc.attr)
			if !got.Equal(tc.want) || ok != tc.wantOK {
				t.Errorf("eventTime = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestToMessage pulls messages from pstest and converts them.
func TestToMessage(t *testing.T) {
	srv, topic, sub := fake(t)
	before := time.Now().Add(-time.Second)
	idA := srv.Publish(topic, []byte(`{"p":1}`), map[string]string{"format": "binance", "source": "ws"})
	idB := srv.Publish(topic, []byte{0xff, 0x00}, nil)

	c, err := client(context.Background(), "fake-project")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.SubscriptionAdminClient.Pull(context.Background(), &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]tickbeam.Message{}
	for _, rm := range resp.GetReceivedMessages() {
		m := toMessage(rm.GetMessage())
		if m.PublishTime.Before(before) || m.PublishTime.After(time.Now()) || m.PublishTime.Location() != time.UTC {
			t.Errorf("message %s: publish time %v, want a UTC time of the last second", m.ID, m.PublishTime)
		}
		m.PublishTime = time.Time{}
		got[m.ID] = m
	}
	want := map[string]tickbeam.Message{
		idA: {ID: idA, Payload: []byte(`{"p":1}`), Attributes: map[string]string{"format": "binance", "source": "ws"}},
		idB: {ID: idB, Payload: []byte{0xff, 0x00}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// TestFromNative decodes messages as Dataflow's Pub/Sub read emits them.
func TestFromNative(t *testing.T) {
	pub := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	elementTime := time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   *pubsubpb.PubsubMessage
		want tickbeam.Message
	}{
		{"full", &pubsubpb.PubsubMessage{Data: []byte("x"), Attributes: map[string]string{"a": "b"}, MessageId: "42", PublishTime: timestamppb.New(pub)},
			tickbeam.Message{ID: "42", Payload: []byte("x"), Attributes: map[string]string{"a": "b"}, PublishTime: pub}},
		{"no id or publish time", &pubsubpb.PubsubMessage{Data: []byte("y")},
			tickbeam.Message{Payload: []byte("y"), PublishTime: elementTime}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fromNative(mtime.FromTime(elementTime), b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fromNative (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := fromNative(0, []byte{0xff}); err == nil {
		t.Error("fromNative of garbage: no error")
	}
}

func TestParseNames(t *testing.T) {
	tests := []struct {
		name, kind, project, id, err string
	}{
		{"projects/my-proj/topics/ticks", "topic", "my-proj", "ticks", ""},
		{"projects/example.com:my-proj/topics/a.b-c_d~e+f%g", "topic", "example.com:my-proj", "a.b-c_d~e+f%g", ""},
		{"projects/my-proj/subscriptions/ticks-sub", "subscription", "my-proj", "ticks-sub", ""},
		{"ticks", "topic", "", "", `topic "ticks" is not of the form projects/PROJECT/topics/ID`},
		{"projects/my-proj/subscriptions/s", "topic", "", "", `topic "projects/my-proj/subscriptions/s" is not of the form projects/PROJECT/topics/ID`},
		{"projects/my-proj/topics/ticks", "subscription", "", "", `subscription "projects/my-proj/topics/ticks" is not of the form projects/PROJECT/subscriptions/ID`},
		{"projects/My_Proj/topics/ticks", "topic", "", "", `topic "projects/My_Proj/topics/ticks": "My_Proj" is not a Google Cloud project id`},
		{"projects/my-proj/topics/t", "topic", "", "", `topic "projects/my-proj/topics/t": "t" is not a valid Pub/Sub topic id (3-255 of A-Z a-z 0-9 - _ . ~ + %, starting with a letter, not with goog)`},
		{"projects/my-proj/topics/google-ticks", "topic", "", "", `topic "projects/my-proj/topics/google-ticks": "google-ticks" is not a valid Pub/Sub topic id (3-255 of A-Z a-z 0-9 - _ . ~ + %, starting with a letter, not with goog)`},
		{"projects/my-proj/topics/ticks/extra", "topic", "", "", `topic "projects/my-proj/topics/ticks/extra" is not of the form projects/PROJECT/topics/ID`},
	}
	for _, tc := range tests {
		t.Run(tc.kind+" "+tc.name, func(t *testing.T) {
			parse := ParseTopic
			if tc.kind == "subscription" {
				parse = ParseSubscription
			}
			project, id, err := parse(tc.name)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %q, %q, %v; want error %q", project, id, err, tc.err)
				}
				return
			}
			if err != nil || project != tc.project || id != tc.id {
				t.Errorf("got %q, %q, %v; want %q, %q", project, id, err, tc.project, tc.id)
			}
		})
	}
}

func TestReadOptionsValidate(t *testing.T) {
	ok := ReadOptions{Subscription: "projects/p-1234/subscriptions/sub"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	tests := []struct {
		name string
		edit func(*ReadOptions)
		want string
	}{
		{"no subscription", func(o *ReadOptions) { o.Subscription = "" },
			`pubsubx.Read: subscription "" is not of the form projects/PROJECT/subscriptions/ID`},
		{"negative idle", func(o *ReadOptions) { o.IdleTimeout = -time.Second },
			`pubsubx.Read: IdleTimeout must be >= 0, got -1s`},
		{"negative batch", func(o *ReadOptions) { o.MaxBatch = -1 },
			`pubsubx.Read: MaxBatch must be >= 0, got -1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			if err := o.Validate(); err == nil || err.Error() != tc.want {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
