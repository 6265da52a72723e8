// Package lake writes tickbeam's raw archive and other row outputs as JSON
// Lines files, windowed and sharded, to a local directory or a gs:// prefix.
//
// Beam's textio.Write writes a single unsharded file and later panes
// overwrite earlier ones; fileio only reads. Write instead names every file
// after its window, pane and shard, the Dataflow templates' W-P-SS-of-NN
// scheme:
//
//	gs://lake/raw/dt=2026-01-15/hour=09/ticks-20260115T090000Z-20260115T100000Z-ontime-0-00-of-04.jsonl.gz
//
// so files never collide and a retried bundle rewrites the same file with the
// same bytes (rows are sharded by a hash of their JSON and sorted within a
// file). Files appear whole or not at all: local files through a temporary
// file and a rename, GCS objects when their upload completes.
//
// A write that fails transiently (GCS answering 408, 429 or 5xx, a refused or
// cut connection, a timeout) is retried with jittered backoff for up to
// Options.MaxOutage (default 10 minutes), with one log line when the failures
// start and one when they end; past it the bundle fails with an error naming
// the prefix, the time and the last failure. Since a retry rewrites the same
// name with the same bytes, an upload that was stored although its answer
// was lost leaves one whole object.
//
// A shard that receives no rows in a pane writes no file. Each file's rows are
// held in memory while it is written: choose Shards so a shard of one window
// fits comfortably.
//
// Counters, namespace "tickbeam/lake": "rows", "files" and "bytes"
// (compressed bytes when Gzip is set), and "retries" (attempts at a file
// after its first).
package lake
