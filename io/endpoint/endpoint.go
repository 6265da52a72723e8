package endpoint

import (
	"fmt"
	"strings"

	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
)

// The schemes of the registry. Live vendors' schemes are live.Schemes.
const (
	// SyntheticScheme prefixes the synthetic feed: synthetic:?symbols=....
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
	// FileInput is a file path, glob or directory, local or gs://.
	FileInput InputKind = iota
	// SyntheticInput is the synthetic feed (io/synthetic).
	SyntheticInput
	// PubSubInput is a Pub/Sub subscription.
	PubSubInput
	// LiveInput is a live vendor connection (io/live).
	LiveInput
	// TableInput is a BigQuery table, read whole (the monitor's positions);
	// a stream does not read one.
	TableInput
)

var inputKinds = [...]string{FileInput: "file", SyntheticInput: "synthetic", PubSubInput: "pubsub", LiveInput: "live", TableInput: "table"}

func (k InputKind) String() string { return kindName(inputKinds[:], int(k), "InputKind") }

// Input is a parsed input URI.
type Input struct {
	// URI is the text it was parsed from.
	URI  string
	Kind InputKind
	// Synthetic is a SyntheticInput's feed.
	Synthetic synthetic.Config
	// Subscription is a PubSubInput's projects/P/subscriptions/S.
	Subscription string
	// Live is a LiveInput's connection.
	Live live.Spec
	// Table is a TableInput's table.
	Table bigqueryx.Table
}

// Remote reports whether workers elsewhere can read the input: a gs://
// file, a subscription or a table, not a local path, the synthetic feed
// (which needs no reading) or a live connection (held by this process).
func (in Input) Remote() bool {
	return in.Kind == PubSubInput || in.Kind == TableInput || (in.Kind == FileInput && strings.HasPrefix(in.URI, GCSScheme))
}

// OutputKind says where an Output writes.
type OutputKind int

// The kinds of output.
const (
	// NoOutput is an output that is not set (the empty URI).
	NoOutput OutputKind = iota
	// FileOutput is a local directory or gs:// prefix of files.
	FileOutput
	// TableOutput is a BigQuery table.
	TableOutput
	// TopicOutput is a Pub/Sub topic.
	TopicOutput
)

var outputKinds = [...]string{NoOutput: "none", FileOutput: "file", TableOutput: "table", TopicOutput: "topic"}

func (k OutputKind) String() string { return kindName(outputKinds[:], int(k), "OutputKind") }

func kindName(names []string, k int, typ string) string {
	if k >= 0 && k < len(names) {
		return names[k]
	}
	return fmt.Sprintf("%s(%d)", typ, k)
}

// Output is a parsed output URI.
type Output struct {
	// URI is the text it was parsed from.
	URI  string
	Kind OutputKind
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
	return o.Kind == TableOutput || o.Kind == TopicOutput || (o.Kind == FileOutput && strings.HasPrefix(o.URI, GCSScheme))
}

// scheme is one entry of the registry: how a prefixed input or output
// parses. A nil input or output means the scheme is not one (then a URI
// with the prefix is a file).
type scheme struct {
	prefix string
	kind   InputKind // of an input
	input  func(in *Input, rest string) error
	output func(o *Output, rest string) error
}

// schemes is the registry of inputs and outputs; what no entry claims is a
// file path, glob or prefix (local or gs://). Live vendors are matched by
// live.IsURI before it.
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
	{prefix: BigQueryScheme, kind: TableInput,
		input: func(in *Input, rest string) (err error) {
			in.Table, err = bigqueryx.ParseTable(rest)
			return err
		},
		output: func(o *Output, rest string) (err error) {
			o.Kind = TableOutput
			o.Table, err = bigqueryx.ParseTable(rest)
			return err
		}},
}

// lookup returns the registry entry whose prefix uri has, and the rest.
func lookup(uri string) (scheme, string, bool) {
	for _, sc := range schemes {
		if rest, ok := strings.CutPrefix(uri, sc.prefix); ok {
			return sc, rest, true
		}
	}
	return scheme{}, "", false
}

// ParseInput parses an input URI: a live vendor's (live.Parse), synthetic:,
// pubsub: (a subscription), bq: (a table), or else a file path, glob or
// directory, local or gs://. On error the Input still has its URI and Kind,
// so a caller can refuse a kind it does not read before reporting the
// error.
func ParseInput(uri string) (Input, error) {
	in := Input{URI: uri, Kind: FileInput}
	if live.IsURI(uri) {
		spec, err := live.Parse(uri)
		in.Kind, in.Live = LiveInput, spec
		return in, err
	}
	sc, rest, ok := lookup(uri)
	if !ok || sc.input == nil {
		return in, nil
	}
	in.Kind = sc.kind
	return in, sc.input(&in, rest)
}

// KindOf is the kind of input uri names, read from its scheme alone: what
// ParseInput's Kind is, without parsing the rest.
func KindOf(uri string) InputKind {
	if live.IsURI(uri) {
		return LiveInput
	}
	if sc, _, ok := lookup(uri); ok && sc.input != nil {
		return sc.kind
	}
	return FileInput
}

// ParseOutput parses an output URI: pubsub: (a topic), bq: (a table), or
// else a local directory or gs:// prefix, checked by lake.ValidatePrefix.
// The empty URI is NoOutput. On error the Output still has its URI and
// Kind.
func ParseOutput(uri string) (Output, error) {
	o := Output{URI: uri}
	if uri == "" {
		return o, nil
	}
	sc, rest, ok := lookup(uri)
	if !ok || sc.output == nil {
		o.Kind = FileOutput
		return o, lake.ValidatePrefix(uri)
	}
	return o, sc.output(&o, rest)
}

// IsRemote reports whether uri names something workers elsewhere can reach
// (gs://, bq: or pubsub:), from its scheme alone.
func IsRemote(uri string) bool {
	if strings.HasPrefix(uri, GCSScheme) {
		return true
	}
	sc, _, ok := lookup(uri)
	return ok && sc.output != nil
}
