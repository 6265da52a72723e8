package lake

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// prefixes
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local prefixes
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam/internal/outage"
	"github.com/tickbeam/tickbeam/internal/wire"
)

var (
	rowsWritten  = beam.NewCounter("tickbeam/lake", "rows")
	filesWritten = beam.NewCounter("tickbeam/lake", "files")
	bytesWritten = beam.NewCounter("tickbeam/lake", "bytes")
	writeRetries = beam.NewCounter("tickbeam/lake", "retries")
)

// DefaultMaxOutage is Options.MaxOutage's default.
const DefaultMaxOutage = 10 * time.Minute

// The wait between attempts at a file: jittered, doubling from 100ms to 10s.
const (
	initialBackoff = 100 * time.Millisecond
	maxBackoff     = 10 * time.Second
)

func init() {
	register.DoFn3x1[context.Context, beam.T, func(int, []byte), error](&shardFn{})
	register.Emitter2[int, []byte]()
	register.DoFn4x1[context.Context, beam.EventTime, beam.T, func(beam.EventTime, int, []byte), error](&batchShardFn{})
	register.Emitter3[beam.EventTime, int, []byte]()
	register.DoFn6x1[context.Context, beam.PaneInfo, beam.Window, int, func(*[]byte) bool, func(string), error](&writeFn{})
	register.Iter1[[]byte]()
	register.Emitter1[string]()
}

// Options configure Write. The zero value writes one unpartitioned,
// uncompressed file per window and pane, named part-….
type Options struct {
	// Name is the file name stem. Default "part".
	Name string
	// Shards is the number of files per window and pane. Default 1.
	Shards int
	// Gzip compresses files and adds ".gz" to their names.
	Gzip bool
	// Window, when > 0, re-windows rows into fixed windows of this size
	// before writing, by their timestamps: a batch job then writes one file
	// per (say) hour, not one per 1-minute bar. It replaces the input's
	// windowing and trigger. 0 keeps the input's windowing.
	Window time.Duration
	// Partition puts files in hive-style directories dt=YYYY-MM-DD/hour=HH/
	// taken from the window start in UTC. Rows in the global window have no
	// time to partition by: they go to dt=__HIVE_DEFAULT_PARTITION__/
	// hour=__HIVE_DEFAULT_PARTITION__/, Hive's and Spark's spelling of a NULL
	// partition value, so partition discovery still sees two levels
	// everywhere.
	Partition bool
	// MaxOutage is how long a file's write is retried while the
	// destination fails transiently (GCS answering 408, 429 or 5xx, refused
	// or cut connections, timeouts), counted from the first failure after
	// the last success. Past it the bundle fails with an *outage.Error
	// naming the prefix. A retry rewrites the same object with the same
	// bytes, so a write that succeeded although its answer was lost is
	// harmless. Default 10m.
	MaxOutage time.Duration
}

// nullPartition is how Hive and Spark name the directory of a NULL partition
// value.
const nullPartition = "__HIVE_DEFAULT_PARTITION__"

// Write writes rows, a PCollection of any JSON-marshalable type, as JSON
// Lines files under prefix (a local directory or gs://bucket/path) and
// returns the PCollection<string> of the files it wrote, in their windows.
//
// Per window and pane, rows are grouped into Options.Shards shards by a hash
// of their JSON, and each shard becomes one file, its rows sorted by their
// JSON bytes:
//
//	<prefix>/[dt=YYYY-MM-DD/hour=HH/]<Name>-<start>-<end>-<timing>-<pane>-<SS>-of-<NN>.jsonl[.gz]
//
// where start and end are the window's bounds in UTC (20260115T093000Z; with
// milliseconds when a bound has them), or the one token "global" for the
// global window; timing is early, ontime, late or unknown; pane is the pane
// index. Names never collide across windows, panes or shards, and a retried
// bundle rewrites the same file with the same bytes, so output is
// idempotent. Local files are written to a temporary file beside the target
// and renamed into place; a GCS object appears only when its upload
// completes.
//
// Write panics if prefix or opts are invalid; TryWrite returns the error.
func Write(s beam.Scope, prefix string, rows beam.PCollection, opts Options) beam.PCollection {
	files, err := TryWrite(s, prefix, rows, opts)
	if err != nil {
		panic(err)
	}
	return files
}

// TryWrite is Write returning an error for an invalid prefix or options.
func TryWrite(s beam.Scope, prefix string, rows beam.PCollection, opts Options) (beam.PCollection, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return beam.PCollection{}, err
	}
	if err := opts.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("lake.Write")
	prefix = strings.TrimRight(prefix, "/")
	sink := outage.NewID()
	var keyed beam.PCollection
	if opts.Window > 0 {
		// Rows leave in batches per bundle, shard and file window: on prism
		// every element crossing to the GroupByKey costs microseconds, and
		// raw ticks or price changes are a row per tick.
		batches := beam.ParDo(s, &batchShardFn{Shards: opts.shards(), Window: opts.Window, Sink: sink, Prefix: prefix}, rows)
		keyed = beam.WindowInto(s, window.NewFixedWindows(opts.Window), batches)
	} else {
		keyed = beam.ParDo(s, &shardFn{Shards: opts.shards(), Sink: sink, Prefix: prefix}, rows)
	}
	grouped := beam.GroupByKey(s, keyed)
	return beam.ParDo(s, &writeFn{
		Prefix:    prefix,
		Name:      opts.name(),
		Shards:    opts.shards(),
		Gzip:      opts.Gzip,
		Partition: opts.Partition,
		MaxOutage: opts.maxOutage(),
		Sink:      sink,
	}, grouped), nil
}

// ValidatePrefix reports whether prefix can take Write's files: a gs://
// bucket with an optional path, or a local path, without ".." segments (a
// prefix built from user input must not climb out of where it points).
func ValidatePrefix(prefix string) error {
	if strings.TrimSpace(prefix) == "" {
		return errors.New("lake: empty prefix")
	}
	p := prefix
	if i := strings.Index(prefix, "://"); i >= 0 {
		if scheme := prefix[:i]; scheme != "gs" {
			return fmt.Errorf("lake: prefix %q: scheme %q not supported, want gs:// or a local path", prefix, scheme)
		}
		p = prefix[i+3:]
		if bucket, _, _ := strings.Cut(p, "/"); bucket == "" {
			return fmt.Errorf("lake: prefix %q has no bucket", prefix)
		}
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return fmt.Errorf("lake: prefix %q has a \"..\" segment", prefix)
		}
	}
	return nil
}

// Validate reports the first problem of o: a negative Shards, Window or
// MaxOutage, a Window that is not whole milliseconds, or a Name that is not
// a plain file name. The zero Options are valid.
func (o Options) Validate() error {
	switch {
	case o.Shards < 0:
		return fmt.Errorf("lake: Shards %d < 0", o.Shards)
	case o.Window < 0:
		return fmt.Errorf("lake: Window %v < 0", o.Window)
	case o.MaxOutage < 0:
		return fmt.Errorf("lake: MaxOutage %v < 0", o.MaxOutage)
	case o.Window > 0 && o.Window%time.Millisecond != 0:
		return fmt.Errorf("lake: Window %v is not a whole number of milliseconds", o.Window)
	case strings.ContainsAny(o.Name, `/\`) || o.Name == "." || o.Name == "..":
		return fmt.Errorf("lake: Name %q must be a plain file name", o.Name)
	}
	return nil
}

func (o Options) name() string {
	if o.Name == "" {
		return "part"
	}
	return o.Name
}

func (o Options) shards() int { return max(o.Shards, 1) }

func (o Options) maxOutage() time.Duration {
	if o.MaxOutage == 0 {
		return DefaultMaxOutage
	}
	return o.MaxOutage
}

// shardFn encodes a row and picks its shard from the encoding, so a retry
// sends the same row to the same file, and counts it into the sink's held
// rows.
type shardFn struct {
	Shards int
	Sink   string // outage.Sink id
	Prefix string

	sink *outage.Sink
}

func (fn *shardFn) Setup() { fn.sink = sinkState(fn.Sink, fn.Prefix) }

func sinkState(id, prefix string) *outage.Sink { return outage.For(id, "lake: "+prefix) }

func (fn *shardFn) ProcessElement(_ context.Context, row beam.T, emit func(int, []byte)) error {
	b, shard, err := encodeRow(row, fn.Shards)
	if err != nil {
		return err
	}
	emit(shard, wire.AppendBytes([]byte{plainBatch}, b)) // a batch of one row
	fn.sink.Enter(1)
	return nil
}

// encodeRow is a row's JSON and its shard, picked from the JSON.
func encodeRow(row any, shards int) ([]byte, int, error) {
	b, err := json.Marshal(row)
	if err != nil {
		return nil, 0, fmt.Errorf("lake: encode %T: %w", row, err)
	}
	h := fnv.New64a()
	h.Write(b)
	return b, int(h.Sum64() % uint64(shards)), nil
}

// maxBatchBytes bounds the encoded rows a bundle holds before batchShardFn
// emits them.
const maxBatchBytes = 4 << 20

// batchShardFn is shardFn for rows written in fixed windows of Window: it
// packs a bundle's rows per (shard, window) into one element, timestamped
// at its earliest row, which a WindowInto then puts back in that window.
type batchShardFn struct {
	Shards int
	Window time.Duration
	Sink   string // outage.Sink id
	Prefix string

	sink *outage.Sink
	open map[shardWindow]*rowBatch
	held int
}

type shardWindow struct {
	shard int
	start mtime.Time
}

type rowBatch struct {
	rows  []byte // wire.AppendBytes per row
	first mtime.Time
}

func (fn *batchShardFn) Setup() { fn.sink = sinkState(fn.Sink, fn.Prefix) }

func (fn *batchShardFn) StartBundle(context.Context, func(beam.EventTime, int, []byte)) {
	fn.open, fn.held = map[shardWindow]*rowBatch{}, 0
}

func (fn *batchShardFn) ProcessElement(_ context.Context, ts beam.EventTime, row beam.T, emit func(beam.EventTime, int, []byte)) error {
	b, shard, err := encodeRow(row, fn.Shards)
	if err != nil {
		return err
	}
	size := mtime.FromDuration(fn.Window)
	k := shardWindow{shard, ts - (ts%size+size)%size} // FixedWindows' start, also before 1970
	p := fn.open[k]
	if p == nil {
		p = &rowBatch{first: ts}
		fn.open[k] = p
	}
	p.rows = wire.AppendBytes(p.rows, b)
	p.first = min(p.first, ts)
	fn.sink.Enter(1)
	if fn.held += len(b); fn.held >= maxBatchBytes {
		fn.flush(emit)
	}
	return nil
}

func (fn *batchShardFn) FinishBundle(_ context.Context, emit func(beam.EventTime, int, []byte)) error {
	fn.flush(emit)
	return nil
}

func (fn *batchShardFn) flush(emit func(beam.EventTime, int, []byte)) {
	for k, p := range fn.open {
		emit(p.first, k.shard, fn.compress(p.rows))
	}
	clear(fn.open)
	fn.held = 0
}

// compress compresses a batch's rows: prism copies every byte crossing to the
// GroupByKey several times and builds a group's output in one growing
// buffer, so JSON rows cost there in proportion to their bytes.
func (fn *batchShardFn) compress(rows []byte) []byte {
	return wire.AppendCompressed([]byte{zstdBatch}, rows)
}

// A batch's first byte says how its rows follow: as they are, or
// compressed (1 was flate in earlier versions).
const (
	plainBatch byte = 0
	zstdBatch  byte = 2
)

// appendRows appends the rows of one batch (wire.AppendBytes each, behind
// the format byte) to rows.
func appendRows(rows [][]byte, batch []byte) ([][]byte, error) {
	if len(batch) == 0 {
		return rows, errors.New("lake: empty batch of rows")
	}
	body := batch[1:]
	switch batch[0] {
	case plainBatch:
	case zstdBatch:
		b, err := wire.Decompress(body)
		if err != nil {
			return rows, fmt.Errorf("lake: batch of rows: %w", err)
		}
		body = b
	default:
		return rows, fmt.Errorf("lake: batch of rows in unknown format %d", batch[0])
	}
	for r := wire.NewReader(body); r.Len() > 0; {
		row := r.View()
		if err := r.Err(); err != nil {
			return rows, fmt.Errorf("lake: bad batch of rows: %w", err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// writeFn writes one shard of one pane of one window as one file; its
// elements are batches of rows (appendRows).
type writeFn struct {
	Prefix    string
	Name      string
	Shards    int
	Gzip      bool
	Partition bool
	MaxOutage time.Duration
	Sink      string // outage.Sink id

	fs   filesystem.Interface
	sink *outage.Sink
}

func (fn *writeFn) Setup() { fn.sink = sinkState(fn.Sink, fn.Prefix) }

func (fn *writeFn) Teardown() error {
	if fn.fs != nil {
		err := fn.fs.Close()
		fn.fs = nil
		return err
	}
	return nil
}

func (fn *writeFn) ProcessElement(ctx context.Context, pn beam.PaneInfo, w beam.Window, shard int, iter func(*[]byte) bool, emit func(string)) error {
	var rows [][]byte
	var batch []byte
	for iter(&batch) {
		var err error
		if rows, err = appendRows(rows, batch); err != nil {
			return err
		}
	}
	// Sorted, so a file's bytes depend only on which rows it holds.
	slices.SortFunc(rows, bytes.Compare)

	name := fn.Prefix + "/" + fileName(fn.Name, fn.Partition, w, pn, shard, fn.Shards, fn.Gzip)
	if fn.fs == nil {
		fsys, err := filesystem.New(ctx, name)
		if err != nil {
			return fmt.Errorf("lake: %w", err)
		}
		fn.fs = fsys
	}
	var n int64
	attempt := 0
	err := fn.sink.Retry(ctx, outage.Bounds{MaxOutage: fn.MaxOutage}, initialBackoff, maxBackoff, outage.Transient, func() error {
		if attempt++; attempt > 1 {
			writeRetries.Inc(ctx, 1)
		}
		var err error
		n, err = writeFile(ctx, fn.fs, name, rows, fn.Gzip)
		if err != nil {
			return fmt.Errorf("lake: write %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fn.sink.Settle(int64(len(rows)))
	rowsWritten.Inc(ctx, int64(len(rows)))
	filesWritten.Inc(ctx, 1)
	bytesWritten.Inc(ctx, n)
	emit(name)
	return nil
}

// fileName is a file's path below the prefix.
func fileName(stem string, partition bool, w typex.Window, pn typex.PaneInfo, shard, shards int, gz bool) string {
	var b strings.Builder
	win := "global"
	if iw, ok := w.(window.IntervalWindow); ok {
		start := mtime.Time(iw.Start).ToTime().UTC()
		win = compactTime(start) + "-" + compactTime(mtime.Time(iw.End).ToTime())
		if partition {
			b.WriteString(start.Format("dt=2006-01-02/hour=15/"))
		}
	} else if partition {
		b.WriteString("dt=" + nullPartition + "/hour=" + nullPartition + "/")
	}
	width := max(2, len(strconv.Itoa(shards)))
	fmt.Fprintf(&b, "%s-%s-%s-%d-%0*d-of-%0*d.jsonl", stem, win, timing(pn.Timing), pn.Index, width, shard, width, shards)
	if gz {
		b.WriteString(".gz")
	}
	return b.String()
}

// compactTime formats t in UTC like 20260115T093000Z, keeping milliseconds
// only when there are some, so names stay short and distinct.
func compactTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return t.Format("20060102T150405.000Z")
	}
	return t.Format("20060102T150405Z")
}

func timing(t typex.PaneTiming) string {
	switch t {
	case typex.PaneEarly:
		return "early"
	case typex.PaneOnTime:
		return "ontime"
	case typex.PaneLate:
		return "late"
	}
	return "unknown"
}

// writeFile writes rows, one per line, to name and returns the bytes
// written. The file appears complete or not at all: a local file is written
// beside the target under a unique hidden name and renamed; a GCS upload is
// cancelled, not committed, on error.
func writeFile(ctx context.Context, fsys filesystem.Interface, name string, rows [][]byte, gz bool) (int64, error) {
	target := name
	renamer, local := fsys.(filesystem.Renamer)
	local = local && !strings.HasPrefix(name, "gs://")
	if local {
		var rnd [8]byte
		rand.Read(rnd[:])
		// Hidden, so globs over *.jsonl never see a partial file.
		target = path.Join(path.Dir(name), "."+path.Base(name)+".tmp-"+hex.EncodeToString(rnd[:]))
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f, err := fsys.OpenWrite(wctx, target)
	if err != nil {
		return 0, err
	}
	n, err := writeRows(f, rows, gz)
	if err == nil {
		if s, ok := f.(interface{ Sync() error }); ok {
			err = s.Sync()
		}
	}
	if err != nil {
		cancel() // a GCS writer closed after cancel discards the upload
		f.Close()
		removeQuietly(ctx, fsys, target, local)
		return 0, err
	}
	if err := f.Close(); err != nil {
		removeQuietly(ctx, fsys, target, local)
		return 0, err
	}
	if local {
		if err := renamer.Rename(ctx, target, name); err != nil {
			removeQuietly(ctx, fsys, target, local)
			return 0, err
		}
	}
	return n, nil
}

func removeQuietly(ctx context.Context, fsys filesystem.Interface, name string, local bool) {
	if r, ok := fsys.(filesystem.Remover); ok && local {
		r.Remove(ctx, name)
	}
}

// countingWriter counts the bytes that reach the file.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeRows(f io.Writer, rows [][]byte, gz bool) (int64, error) {
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		// A zero header (no name, no mtime) keeps the bytes reproducible.
		zw = gzip.NewWriter(bw)
		w = zw
	}
	for _, r := range rows {
		if _, err := w.Write(r); err != nil {
			return 0, err
		}
		if _, err := w.Write([]byte{'\n'}); err != nil {
			return 0, err
		}
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return cw.n, nil
}
