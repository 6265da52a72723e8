package endpoint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/synthetic"
)

const project = "tickbeam-test"

func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		want    Input
		wantErr string // a substring of the error; "" for none
		remote  bool
	}{
		{uri: "trades.jsonl", want: Input{Kind: FileInput}},
		{uri: "captures/*.jsonl.gz", want: Input{Kind: FileInput}},
		{uri: "gs://bucket/raw/", want: Input{Kind: FileInput}, remote: true},
		{uri: "", want: Input{Kind: FileInput}},
		{uri: "synthetic:?symbols=AAA,BBB&rate=10&seed=3&count=5&paced=false", want: Input{Kind: SyntheticInput,
			Synthetic: synthetic.Config{Symbols: []string{"AAA", "BBB"}, Rate: 10, Seed: 3, Count: 5}}},
		{uri: "synthetic:?symbols=A&rate=0", want: Input{Kind: SyntheticInput}, wantErr: "rate"},
		{uri: "synthetic:?nope=1", want: Input{Kind: SyntheticInput}, wantErr: "nope"},
		{uri: "pubsub:projects/" + project + "/subscriptions/trades", want: Input{Kind: PubSubInput,
			Subscription: "projects/" + project + "/subscriptions/trades"}, remote: true},
		{uri: "pubsub:projects/" + project + "/topics/trades", want: Input{Kind: PubSubInput,
			Subscription: "projects/" + project + "/topics/trades"}, wantErr: "subscription", remote: true},
		{uri: "pubsub:", want: Input{Kind: PubSubInput}, wantErr: "subscription", remote: true},
		{uri: "bq:" + project + ".d.positions", want: Input{Kind: TableInput,
			Table: bigqueryx.Table{Project: project, Dataset: "d", Table: "positions"}}, remote: true},
		{uri: "bq:" + project + ".positions", want: Input{Kind: TableInput}, wantErr: "bigqueryx", remote: true},
		{uri: "bq:P.d.t", want: Input{Kind: TableInput}, wantErr: "project", remote: true},
		{uri: "binance:?symbols=BTCUSDT", want: Input{Kind: LiveInput}},
		{uri: "binance:?symbols=BTCUSDT&nope=1", want: Input{Kind: LiveInput}, wantErr: `unknown key "nope"`},
		{uri: "coinbase:?products=BTC-USD", want: Input{Kind: LiveInput}},
		// A scheme nobody registered is a file name.
		{uri: "s3:bucket/key", want: Input{Kind: FileInput}},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := ParseInput(tc.uri)
			if (err != nil) != (tc.wantErr != "") || (err != nil && !contains(err.Error(), tc.wantErr)) {
				t.Fatalf("ParseInput(%q) error %v, want one with %q", tc.uri, err, tc.wantErr)
			}
			tc.want.URI = tc.uri
			if got.Kind == LiveInput && err == nil {
				if got.Live.URI != tc.uri || got.Live.Vendor == "" || got.Live.Format == "" {
					t.Errorf("live spec %+v, want one of %q", got.Live, tc.uri)
				}
				got.Live = live.Spec{}
			}
			if tc.wantErr == "" {
				if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(live.Spec{})); diff != "" {
					t.Errorf("ParseInput(%q) (-want +got):\n%s", tc.uri, diff)
				}
			} else if got.URI != tc.uri || got.Kind != tc.want.Kind {
				t.Errorf("ParseInput(%q) = %s %q on error, want %s", tc.uri, got.Kind, got.URI, tc.want.Kind)
			}
			if k := KindOf(tc.uri); k != tc.want.Kind {
				t.Errorf("KindOf(%q) = %s, want %s", tc.uri, k, tc.want.Kind)
			}
			if got.Remote() != tc.remote {
				t.Errorf("Remote() = %v, want %v", got.Remote(), tc.remote)
			}
		})
	}
}

func TestParseOutput(t *testing.T) {
	for _, tc := range []struct {
		uri     string
		want    Output
		wantErr string
		remote  bool
	}{
		{uri: "", want: Output{Kind: NoOutput}},
		{uri: "out", want: Output{Kind: FileOutput}},
		{uri: "/tmp/out/bars", want: Output{Kind: FileOutput}},
		{uri: "gs://bucket/bars", want: Output{Kind: FileOutput}, remote: true},
		{uri: "gs://", want: Output{Kind: FileOutput}, wantErr: "no bucket", remote: true},
		{uri: "s3://bucket/bars", want: Output{Kind: FileOutput}, wantErr: `scheme "s3" not supported`},
		{uri: "out/../../etc", want: Output{Kind: FileOutput}, wantErr: `".." segment`},
		// The synthetic feed is no output: a directory of that name.
		{uri: "synthetic:x", want: Output{Kind: FileOutput}},
		{uri: "bq:" + project + ".d.bars", want: Output{Kind: TableOutput, Table: bigqueryx.Table{Project: project, Dataset: "d", Table: "bars"}}, remote: true},
		{uri: "bq:nope", want: Output{Kind: TableOutput}, wantErr: "bigqueryx", remote: true},
		{uri: "pubsub:projects/" + project + "/topics/bars", want: Output{Kind: TopicOutput, Topic: "projects/" + project + "/topics/bars"}, remote: true},
		{uri: "pubsub:projects/" + project + "/subscriptions/bars", want: Output{Kind: TopicOutput, Topic: "projects/" + project + "/subscriptions/bars"},
			wantErr: "topic", remote: true},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := ParseOutput(tc.uri)
			if (err != nil) != (tc.wantErr != "") || (err != nil && !contains(err.Error(), tc.wantErr)) {
				t.Fatalf("ParseOutput(%q) error %v, want one with %q", tc.uri, err, tc.wantErr)
			}
			tc.want.URI = tc.uri
			if tc.wantErr == "" {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("ParseOutput(%q) (-want +got):\n%s", tc.uri, diff)
				}
			} else if got.URI != tc.uri || got.Kind != tc.want.Kind {
				t.Errorf("ParseOutput(%q) = %s %q on error, want %s", tc.uri, got.Kind, got.URI, tc.want.Kind)
			}
			if got.Set() != (tc.want.Kind != NoOutput) || got.Remote() != tc.remote {
				t.Errorf("Set %v Remote %v, want %v %v", got.Set(), got.Remote(), tc.want.Kind != NoOutput, tc.remote)
			}
			if IsRemote(tc.uri) != tc.remote {
				t.Errorf("IsRemote(%q) = %v, want %v", tc.uri, IsRemote(tc.uri), tc.remote)
			}
		})
	}
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
