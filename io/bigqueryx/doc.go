// Package bigqueryx writes tickbeam rows to BigQuery through the Storage
// Write API and reads them back, on Google Cloud or on the BigQuery emulator.
//
// Beam's bigqueryio.Write sends every row through one key (one worker) with
// the legacy insertAll API, needs the dataset to exist, takes no endpoint and
// has no dead letters. Write instead:
//
//   - creates the dataset, the table (partitioned by day on window_start,
//     event_time or timestamp, clustered by symbol) and its error table
//     <table>_error_records when missing (EnsureTable), with the schema
//     derived from the Go type's JSON tags (SchemaOf);
//   - spreads rows over WriteOptions.Shards keys, groups them per window and
//     pane, and appends them to the table's _default stream in batches
//     bounded by rows and bytes, converting each row straight to protobuf;
//   - retries transient failures with jittered exponential backoff, and
//     fails the bundle (for the runner to retry) only when they persist;
//   - sends every row BigQuery refuses, or that cannot be converted, to the
//     error table as a tickbeam.DeadLetter (stage "sink:bigquery", the row's
//     JSON as payload, BigQuery's reason as error_message) while the other
//     rows of its batch land: row errors in the append response name the bad
//     rows; a refusal that names none is narrowed by halving the batch. One
//     bad row never stalls the pipeline. The dead letters written are also
//     Write's output PCollection.
//
// # Delivery guarantee
//
// At least once. Every row of a bundle the runner commits has been appended,
// to its table or as a dead letter to the error table: appends complete
// before the element that carries them finishes. The _default stream has no
// offsets, so nothing deduplicates: a bundle that fails after some of its
// batches were appended and is retried appends those batches again, and an
// append whose response was lost (a timeout, a dropped connection) is
// retried and may land twice. Readers that need exactly one row per key
// deduplicate at query time. For bars written pane by pane, FinalBarsSQL (or
// the view EnsureFinalBarsView creates) keeps one row per (symbol,
// resolution, window_start): the highest pane, which also absorbs duplicates.
// Alerts carry a deterministic alert_id for the same purpose.
//
// # Schema
//
// SchemaOf maps a struct's JSON field names to columns: time.Time is
// TIMESTAMP (microseconds; finer digits are truncated), floats FLOAT,
// integers INTEGER, string kinds STRING, []byte BYTES, slices REPEATED and
// structs RECORD. Value fields are REQUIRED; pointers, []byte and ",omitempty"
// fields are NULLABLE. A zero time.Time is written as NULL, so an unset
// REQUIRED timestamp is refused by BigQuery and dead-lettered rather than
// stored as year 1.
//
// # Names
//
// Project, dataset and table names reach SQL text and API paths, so they are
// validated (Table.Validate): projects by Google Cloud's rules, datasets by
// BigQuery's, tables as ASCII letters, digits, '_' and '-' only (a strict
// subset of BigQuery's, which also allows spaces and Unicode).
//
// # Endpoints and credentials
//
// Options.Endpoint (HTTP) and Options.StorageEndpoint (gRPC host:port), or
// BIGQUERY_EMULATOR_HOST and BIGQUERY_STORAGE_EMULATOR_HOST, point the
// clients at an emulator: both or neither must be set, and with them no
// credentials are sent and the Storage API is spoken over plaintext gRPC.
// Without them the clients use application default credentials. Errors and
// logs carry BigQuery's messages, never credentials or row payloads.
//
// # The emulator
//
// The tests run on goccy/bigquery-emulator v0.6.6, which differs from
// BigQuery in ways the sink allows for. It names no rows in a refusal (it
// answers Internal and closes the stream), so bad rows are found by halving.
// It routes an append that does not name its stream, as the client's second
// and later requests on a connection do, to an arbitrary stream of any table:
// with a StorageEndpoint set, each append therefore opens a fresh stream. It
// mis-scales the sub-second part of TIMESTAMPs written this way (insertAll
// keeps them), so emulator tests use whole seconds.
//
// # Counters
//
// Namespace "tickbeam/bigquery": rows_written (rows appended to the table),
// rows_failed (rows sent to the error table), appends (append requests,
// retries included), retries (appends repeated after an error), and
// error_rows_lost (dead letters the error table refused too; logged, and
// expected to stay 0).
//
// # Reading
//
// Query, QueryRows and ReadRows read results or whole tables into memory,
// for tests and batch jobs; typed reads decode by the JSON field names.
// ExternalTableDDL returns the DDL of an external table over the JSONL lake
// that io/lake writes.
package bigqueryx
