// Package endpoint is tickbeam's one registry of what an input or output
// URI means. Every pipeline and command resolves its --input, --*_out,
// --positions and --to settings here, once, into typed values, and branches
// on their Kind, never on a string prefix:
//
//	input                                  Kind            parsed into
//	binance:?symbols=..., coinbase:, ...   LiveInput       Input.Live (io/live)
//	synthetic:?symbols=A,B&rate=N          SyntheticInput  Input.Synthetic (io/synthetic)
//	pubsub:projects/P/subscriptions/S      PubSubInput     Input.Subscription
//	bq:P.D.T                               TableInput      Input.Table (io/bigqueryx)
//	anything else: a path, glob or dir,    FileInput       Input.URI
//	local or gs://
//
//	output                                 Kind            parsed into
//	(empty)                                NoOutput
//	pubsub:projects/P/topics/T             TopicOutput     Output.Topic
//	bq:P.D.T                               TableOutput     Output.Table
//	anything else: a directory or gs://    FileOutput      Output.URI (checked by lake.ValidatePrefix)
//	prefix
//
// A caller takes the kinds it reads or writes and refuses the others: the
// monitor streams every input kind but TableInput, its positions are a
// FileInput or a TableInput, the daily job reads files, and `tickbeam
// feed` publishes a file, the synthetic feed or a live input to a topic.
//
// A new scheme is one entry in the registry (schemes in endpoint.go), a
// Kind, and the fields its parse fills; io/live's vendors are matched by
// live.IsURI and need no entry here.
package endpoint
