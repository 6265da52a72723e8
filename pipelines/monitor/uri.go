package monitor

import (
	"fmt"
	"strings"

	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
)

// Schemes of inputs and outputs.
const (
	// SyntheticScheme prefixes an Input naming the synthetic feed.
	SyntheticScheme = "synthetic:"
	// PubSubScheme prefixes a subscription (input) or a topic (output):
	// pubsub:projects/P/subscriptions/S, pubsub:projects/P/topics/T.
	PubSubScheme = "pubsub:"
	// BigQueryScheme prefixes a table: bq:P.D.T.
	BigQueryScheme = "bq:"
	// GCSScheme prefixes a Cloud Storage file, glob or prefix.
	GCSScheme = "gs://"
)

// InputKind says what an Input reads.
type InputKind int

// The kinds of input.
const (
	// FileInput is a file path or glob, local or gs://.
	FileInput InputKind = iota
	// SyntheticInput is the synthetic feed (io/synthetic).
	SyntheticInput
	// PubSubInput is a Pub/Sub subscription.
	PubSubInput
	// LiveInput is a live vendor connection (io/live).
	LiveInput
)

// Input is a parsed Config.Input.
type Input struct {
	// URI is Config.Input as given.
	URI  string
	Kind InputKind
	// Synthetic is a SyntheticInput's feed, bounded by Config.Duration.
	Synthetic synthetic.Config
	// Subscription is a PubSubInput's projects/P/subscriptions/S.
	Subscription string
	// Live is a LiveInput's connection.
	Live live.Spec
}

// OutputKind says where an Output writes.
type OutputKind int

// The kinds of output.
const (
	// NoOutput is an output that is not set: nothing is computed for it.
	NoOutput OutputKind = iota
	// FileOutput is a local directory or gs:// prefix of JSONL files.
	FileOutput
	// TableOutput is a BigQuery table.
	TableOutput
	// TopicOutput is a Pub/Sub topic.
	TopicOutput
)

// Output is one output setting, named by its CLI flag, and what Resolve
// parsed of it.
type Output struct {
	Flag, Value string
	Kind        OutputKind
	// Table is a TableOutput's table.
	Table bigqueryx.Table
	// Topic is a TopicOutput's projects/P/topics/T.
	Topic string
}

// Set reports whether the output is set.
func (o Output) Set() bool { return o.Kind != NoOutput }

// Remote reports whether workers elsewhere can write to the output: a
// table, a topic or a gs:// prefix, not a local path.
func (o Output) Remote() bool {
	return o.Kind == TableOutput || o.Kind == TopicOutput || strings.HasPrefix(o.Value, GCSScheme)
}

// scheme is one entry of the URI registry: how a prefixed input or output
// parses. A nil input or output means the scheme is not one.
type scheme struct {
	prefix string
	kind   InputKind
	input  func(in *Input, rest string) error
	output func(o *Output, rest string) error
}

// schemes is the URI registry of inputs and outputs; what no entry claims
// is a file path, glob or prefix (local or gs://). Live vendors are matched
// by live.IsURI.
var schemes = []scheme{
	{prefix: SyntheticScheme, kind: SyntheticInput, input: func(in *Input, _ string) (err error) {
		in.Synthetic, err = synthetic.ParseURI(in.URI)
		return err
	}},
	{prefix: PubSubScheme, kind: PubSubInput,
		input: func(in *Input, rest string) error {
			in.Subscription = rest
			_, _, err := pubsubx.ParseSubscription(rest)
			return err
		},
		output: func(o *Output, rest string) error {
			o.Kind, o.Topic = TopicOutput, rest
			_, _, err := pubsubx.ParseTopic(rest)
			return err
		}},
	{prefix: BigQueryScheme, output: func(o *Output, rest string) (err error) {
		o.Kind = TableOutput
		o.Table, err = bigqueryx.ParseTable(rest)
		return err
	}},
}

// lookupScheme returns the registry entry whose prefix uri has.
func lookupScheme(uri string) (scheme, string, bool) {
	for _, sc := range schemes {
		if rest, ok := strings.CutPrefix(uri, sc.prefix); ok {
			return sc, rest, true
		}
	}
	return scheme{}, "", false
}

// inputKind is the kind of input uri names, without parsing it.
func inputKind(uri string) InputKind {
	if live.IsURI(uri) {
		return LiveInput
	}
	if sc, _, ok := lookupScheme(uri); ok && sc.input != nil {
		return sc.kind
	}
	return FileInput
}

// parseInput parses an input through the registry.
func parseInput(uri string) (Input, error) {
	in := Input{URI: uri, Kind: FileInput}
	if live.IsURI(uri) {
		spec, err := live.Parse(uri)
		in.Kind, in.Live = LiveInput, spec
		return in, err
	}
	sc, rest, ok := lookupScheme(uri)
	if !ok {
		return in, nil
	}
	if sc.input == nil {
		return in, fmt.Errorf("%s is an output, not an input", strings.TrimSuffix(sc.prefix, ":"))
	}
	in.Kind = sc.kind
	return in, sc.input(&in, rest)
}

// parseOutput parses the output setting flag=value through the registry;
// an empty value is NoOutput.
func parseOutput(flag, value string) (Output, error) {
	o := Output{Flag: flag, Value: value}
	if value == "" {
		return o, nil
	}
	sc, rest, ok := lookupScheme(value)
	if !ok || sc.output == nil {
		o.Kind = FileOutput
		return o, lake.ValidatePrefix(value)
	}
	return o, sc.output(&o, rest)
}
