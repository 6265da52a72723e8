package bigqueryx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/outage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/descriptorpb"
)

// StageSink is the DeadLetter stage of rows the sink could not write.
const StageSink = "sink:bigquery"

const counterNamespace = "tickbeam/bigquery"

var (
	rowsWritten   = beam.NewCounter(counterNamespace, "rows_written")
	rowsFailed    = beam.NewCounter(counterNamespace, "rows_failed")
	appendCount   = beam.NewCounter(counterNamespace, "appends")
	retryCount    = beam.NewCounter(counterNamespace, "retries")
	errorRowsLost = beam.NewCounter(counterNamespace, "error_rows_lost")
	rowsHeld      = beam.NewGauge(counterNamespace, "rows_held")
)

func init() {
	register.DoFn2x0[beam.T, func(int, beam.T)](&shardFn{})
	register.Emitter2[int, beam.T]()
	register.DoFn4x1[context.Context, int, func(*beam.T) bool, func(tickbeam.DeadLetter), error](&writeFn{})
	register.Iter1[beam.T]()
	register.Emitter1[tickbeam.DeadLetter]()
}

// Defaults of WriteOptions.
const (
	DefaultShards         = 4
	DefaultMaxBatchRows   = 500
	DefaultMaxBatchBytes  = 5 << 20
	DefaultMaxRetries     = 5
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxOutage      = 10 * time.Minute
)

// appendTimeout bounds one AppendRows round trip, so a stream that hangs
// (to a BigQuery that went away, it waits for it to come back) is retried,
// and the outage's bounds are checked, every 30 s at least.
const appendTimeout = 30 * time.Second

// WriteOptions configure Write. The zero value creates what is missing and
// writes through 4 shards in batches of up to 500 rows or 5 MiB.
type WriteOptions struct {
	// TableOptions say where BigQuery is and how a missing table is
	// created; Write ensures the table and its error table when a worker
	// starts (EnsureTable), so a bad schema or a missing table fails fast.
	TableOptions
	// Shards is the number of keys rows are spread over: up to this many
	// workers append in parallel per window and pane. Default 4.
	Shards int
	// MaxBatchRows and MaxBatchBytes bound one append request (BigQuery
	// takes up to 10 MB). Defaults 500 rows and 5 MiB.
	MaxBatchRows  int
	MaxBatchBytes int
	// MaxRetries bounds retries of an append that failed with an error
	// that may be transient or may be the rows' fault (Internal, Unknown):
	// after them the batch is halved to find rows to dead-letter. Default 5.
	MaxRetries int
	// InitialBackoff and MaxBackoff bound the jittered exponential wait
	// between retries. Defaults 100ms and 10s.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxOutage is how long the sink keeps retrying while BigQuery fails
	// transiently (unavailable, refused connections, deadlines, quota),
	// counted from the first failure after the last success. Rows wait
	// meanwhile and land when BigQuery is back; past MaxOutage the bundle
	// fails with an *outage.Error naming the table, the time and the last
	// error, which fails a run on the local runner. Default 10m.
	MaxOutage time.Duration
	// MaxHeldRows, when > 0, bounds the rows waiting for this sink in this
	// process (entered, not yet written) while BigQuery fails: once the
	// number passes it and is still growing, the bundle fails as for
	// MaxOutage, instead of the runner holding ever more rows in memory.
	// Counted per process, so meant for the local runner, which holds a
	// run's rows in its memory; leave it 0 on Dataflow, which keeps them in
	// its shuffle. Gauge tickbeam/bigquery.rows_held reports the count.
	MaxHeldRows int
	// Window, when > 0, re-windows rows into fixed windows of this size
	// before they are grouped for writing, replacing the input's windowing
	// and trigger: an unbounded input in the global window must be
	// windowed one way or another to be written at all.
	Window time.Duration
}

func (o WriteOptions) withDefaults() WriteOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Shards, DefaultShards)
	def(&o.MaxBatchRows, DefaultMaxBatchRows)
	def(&o.MaxBatchBytes, DefaultMaxBatchBytes)
	def(&o.MaxRetries, DefaultMaxRetries)
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxOutage == 0 {
		o.MaxOutage = DefaultMaxOutage
	}
	o.Options = o.Options.Resolved()
	return o
}

func (o WriteOptions) validate() error {
	switch {
	case o.Shards < 1 || o.Shards > 10000:
		return fmt.Errorf("bigqueryx: Shards %d: want 1..10000", o.Shards)
	case o.MaxBatchRows < 1:
		return fmt.Errorf("bigqueryx: MaxBatchRows %d < 1", o.MaxBatchRows)
	case o.MaxBatchBytes < 1 || o.MaxBatchBytes > maxRowBytes:
		return fmt.Errorf("bigqueryx: MaxBatchBytes %d: want at most %d (BigQuery takes 10 MB per request)", o.MaxBatchBytes, maxRowBytes)
	case o.MaxRetries < 0:
		return fmt.Errorf("bigqueryx: MaxRetries %d < 0", o.MaxRetries)
	case o.InitialBackoff < 0 || o.MaxBackoff < o.InitialBackoff:
		return fmt.Errorf("bigqueryx: backoff %v..%v: want 0 <= InitialBackoff <= MaxBackoff", o.InitialBackoff, o.MaxBackoff)
	case o.MaxOutage < 0:
		return fmt.Errorf("bigqueryx: MaxOutage %v < 0", o.MaxOutage)
	case o.MaxHeldRows < 0:
		return fmt.Errorf("bigqueryx: MaxHeldRows %d < 0", o.MaxHeldRows)
	case o.Window < 0 || o.Window%time.Millisecond != 0:
		return fmt.Errorf("bigqueryx: Window %v: want a non-negative whole number of milliseconds", o.Window)
	}
	return o.TableOptions.Validate()
}

// Validate reports the first problem of o, with its defaults applied (so
// zero values are valid): Shards outside 1 to 10000, MaxBatchRows < 1,
// MaxBatchBytes over BigQuery's 10 MB, negative MaxRetries, MaxOutage or
// MaxHeldRows, InitialBackoff not between 0 and MaxBackoff, a Window that
// is negative or not whole milliseconds, or TableOptions that
// TableOptions.Validate refuses.
func (o WriteOptions) Validate() error { return o.withDefaults().validate() }

// Write appends rows, a PCollection of structs, to table ("P.D.T" or
// "P:D.T") through the Storage Write API's default stream, and returns the
// PCollection<tickbeam.DeadLetter> of the rows it could not write, each
// already written to the table's error table <table>_error_records.
//
// The table's schema is SchemaOf the element type. Rows are spread over
// opts.Shards keys and grouped per window and pane (a GroupByKey, so the
// input's trigger decides when rows are written), then appended in batches
// of at most MaxBatchRows rows and MaxBatchBytes bytes; a group's last batch
// is appended before its element finishes, so every row of a committed
// bundle has been appended. See the package documentation for retries, dead
// letters and the delivery guarantee.
//
// Write panics on an invalid table name or options; TryWrite returns the
// error.
func Write(s beam.Scope, table string, rows beam.PCollection, opts WriteOptions) beam.PCollection {
	dead, err := TryWrite(s, table, rows, opts)
	if err != nil {
		panic(err)
	}
	return dead
}

// TryWrite is Write returning an error for an invalid table, element type or
// options.
func TryWrite(s beam.Scope, table string, rows beam.PCollection, opts WriteOptions) (beam.PCollection, error) {
	t, err := ParseTable(table)
	if err != nil {
		return beam.PCollection{}, err
	}
	// Endpoints are resolved here, from this process's environment: workers
	// (on Dataflow, other machines) get them with the DoFn.
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return beam.PCollection{}, err
	}
	elem := rows.Type().Type()
	schema, err := schemaOfType(elem)
	if err != nil {
		return beam.PCollection{}, err
	}
	if _, err := newEncoder(elem, schema); err != nil {
		return beam.PCollection{}, err
	}
	// Check the table options now rather than on a worker.
	if _, err := partitionColumn(schema, opts.PartitionColumn); err != nil {
		return beam.PCollection{}, err
	}
	if _, err := clusterColumns(schema, opts.ClusterBy); err != nil {
		return beam.PCollection{}, err
	}
	schemaJSON, err := schema.ToJSONFields()
	if err != nil {
		return beam.PCollection{}, fmt.Errorf("bigqueryx: encode schema: %w", err)
	}

	s = s.Scope("bigqueryx.Write")
	if opts.Window > 0 {
		rows = beam.WindowInto(s, window.NewFixedWindows(opts.Window), rows)
	}
	sink := outage.NewID()
	keyed := beam.ParDo(s, &shardFn{Shards: opts.Shards, Sink: sink, Table: t}, rows)
	grouped := beam.GroupByKey(s, keyed)
	return beam.ParDo(s, &writeFn{
		Table:           t,
		Endpoint:        opts.Endpoint,
		StorageEndpoint: opts.StorageEndpoint,
		Schema:          string(schemaJSON),
		Create:          opts.Create,
		PartitionColumn: opts.PartitionColumn,
		ClusterBy:       opts.ClusterBy,
		Location:        opts.Location,
		MaxBatchRows:    opts.MaxBatchRows,
		MaxBatchBytes:   opts.MaxBatchBytes,
		MaxRetries:      opts.MaxRetries,
		InitialBackoff:  opts.InitialBackoff,
		MaxBackoff:      opts.MaxBackoff,
		MaxOutage:       opts.MaxOutage,
		MaxHeldRows:     opts.MaxHeldRows,
		Sink:            sink,
	}, grouped), nil
}

// shardFn spreads rows round-robin over the shard keys, starting at a
// random one so that many workers do not all begin with shard 0, and counts
// them into the sink's held rows.
type shardFn struct {
	Shards int
	Sink   string // outage.Sink id
	Table  Table

	next int
	sink *outage.Sink
}

func (fn *shardFn) Setup() {
	fn.next = rand.IntN(max(fn.Shards, 1))
	fn.sink = sinkState(fn.Sink, fn.Table)
}

func (fn *shardFn) ProcessElement(row beam.T, emit func(int, beam.T)) {
	emit(fn.next, row)
	fn.next = (fn.next + 1) % max(fn.Shards, 1)
	fn.sink.Enter(1)
}

func sinkState(id string, t Table) *outage.Sink {
	return outage.For(id, "bigqueryx: table "+t.String())
}

// writeFn appends one shard of one window and pane of rows.
type writeFn struct {
	Table           Table
	Endpoint        string
	StorageEndpoint string
	Schema          string // bigquery.Schema as JSON
	Create          CreateDisposition
	PartitionColumn string
	ClusterBy       []string
	Location        string
	MaxBatchRows    int
	MaxBatchBytes   int
	MaxRetries      int
	InitialBackoff  time.Duration
	MaxBackoff      time.Duration
	MaxOutage       time.Duration
	MaxHeldRows     int
	Sink            string // outage.Sink id

	sink   *outage.Sink
	schema bigquery.Schema
	ctx    context.Context // outlives bundles: the clients' connections keep it
	cancel context.CancelFunc
	client *managedwriter.Client
	enc    *encoder
	dlEnc  *encoder
	main   rowAppender
	errs   rowAppender
}

// rowAppender sends one append request; *appender is the real one.
type rowAppender interface {
	append(ctx context.Context, rows [][]byte) (*storagepb.AppendRowsResponse, error)
	destination() Table
	close()
}

func (fn *writeFn) options() Options {
	return Options{Endpoint: fn.Endpoint, StorageEndpoint: fn.StorageEndpoint}
}

// emulated reports whether the Storage API is an emulator's.
func (fn *writeFn) emulated() bool { return fn.StorageEndpoint != "" }

func (fn *writeFn) Setup(ctx context.Context) error {
	schema, err := bigquery.SchemaFromJSON([]byte(fn.Schema))
	if err != nil {
		return fmt.Errorf("bigqueryx: decode schema: %w", err)
	}
	fn.schema = schema
	fn.sink = sinkState(fn.Sink, fn.Table)
	// A worker may start while BigQuery is down: wait for it as appends do.
	if err := fn.sink.Retry(ctx, fn.bounds(), fn.InitialBackoff, fn.MaxBackoff, outage.Transient, func() error {
		// The client retries a refused connection by itself until its
		// context ends: bound each attempt so the outage's bound holds.
		ctx, cancel := context.WithTimeout(ctx, fn.attemptTimeout())
		defer cancel()
		return EnsureTable(ctx, fn.Table, schema, TableOptions{
			Options:         fn.options(),
			Create:          fn.Create,
			PartitionColumn: fn.PartitionColumn,
			ClusterBy:       fn.ClusterBy,
			Location:        fn.Location,
		})
	}); err != nil {
		return err
	}
	if fn.dlEnc, err = newEncoder(reflect.TypeFor[tickbeam.DeadLetter](), DeadLetterSchema()); err != nil {
		return err
	}
	fn.ctx, fn.cancel = context.WithCancel(context.Background())
	if fn.client, err = newWriteClient(fn.ctx, fn.Table.Project, fn.options()); err != nil {
		fn.cancel()
		return err
	}
	errTable := fn.Table.ErrorTable()
	if fn.Table.isErrorTable() {
		// Writing dead letters to an error table: its own refusals go to
		// itself (once; what it refuses again is logged and counted).
		errTable = fn.Table
	}
	fn.errs = &appender{base: fn.ctx, client: fn.client, table: errTable, descriptor: fn.dlEnc.descriptor, oneShot: fn.emulated()}
	return nil
}

// attemptTimeout bounds one call to BigQuery: a stream to an emulator that
// died waits for it to come back, and the clients retry by themselves, so
// without it one attempt could outlast MaxOutage.
func (fn *writeFn) attemptTimeout() time.Duration {
	if fn.MaxOutage > 0 {
		return min(appendTimeout, fn.MaxOutage)
	}
	return appendTimeout
}

func (fn *writeFn) bounds() outage.Bounds {
	return outage.Bounds{MaxOutage: fn.MaxOutage, MaxHeldRows: int64(fn.MaxHeldRows)}
}

func (fn *writeFn) Teardown() error {
	var err error
	for _, a := range []rowAppender{fn.main, fn.errs} {
		if a != nil {
			a.close()
		}
	}
	if fn.client != nil {
		err = fn.client.Close()
		fn.client = nil
	}
	if fn.cancel != nil {
		fn.cancel()
	}
	return err
}

// pending is a row on its way to BigQuery.
type pending struct {
	row  any // for the dead letter's payload, should it fail
	data []byte
}

// failure is a row BigQuery did not take, and why.
type failure struct {
	row any
	msg string
}

func (fn *writeFn) ProcessElement(ctx context.Context, _ int, rows func(*beam.T) bool, emit func(tickbeam.DeadLetter)) error {
	var (
		batch []pending
		size  int
		fails []failure
		row   beam.T
		n     int64
	)
	flush := func() error {
		if len(batch) > 0 {
			f, err := fn.appendRows(ctx, fn.main, batch, 0, true)
			if err != nil {
				return err
			}
			fails = append(fails, f...)
			batch, size = batch[:0], 0
		}
		if len(fails) > 0 {
			if err := fn.deadLetter(ctx, fails, emit); err != nil {
				return err
			}
			fails = fails[:0]
		}
		return nil
	}
	for rows(&row) {
		n++
		data, err := fn.encode(row)
		if err != nil {
			fails = append(fails, failure{row: row, msg: "cannot convert row: " + err.Error()})
			continue
		}
		// Each row costs its bytes plus a few of framing in the request.
		cost := len(data) + 8
		if len(batch) > 0 && (len(batch) >= fn.MaxBatchRows || size+cost > fn.MaxBatchBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, pending{row: row, data: data})
		size += cost
	}
	if err := flush(); err != nil {
		return err
	}
	fn.sink.Settle(n)
	rowsHeld.Set(ctx, fn.sink.Held())
	return nil
}

// encode converts a row, planning the encoding on the first row seen.
func (fn *writeFn) encode(row any) ([]byte, error) {
	if fn.enc == nil {
		enc, err := newEncoder(reflect.TypeOf(row), fn.schema)
		if err != nil {
			return nil, err
		}
		fn.enc = enc
		fn.main = &appender{base: fn.ctx, client: fn.client, table: fn.Table, descriptor: enc.descriptor, oneShot: fn.emulated()}
	}
	data, err := fn.enc.encode(nil, row)
	if err == nil && len(data) > maxRowBytes {
		err = fmt.Errorf("row is %d bytes encoded, more than one append request takes", len(data))
	}
	return data, err
}

// deadLetter writes failed rows to the error table and emits those written.
func (fn *writeFn) deadLetter(ctx context.Context, fails []failure, emit func(tickbeam.DeadLetter)) error {
	rowsFailed.Inc(ctx, int64(len(fails)))
	now := time.Now().UTC()
	batch := make([]pending, 0, len(fails))
	dls := make(map[int]tickbeam.DeadLetter, len(fails))
	for i, f := range fails {
		d := fn.newDeadLetter(now, f)
		data, err := fn.dlEnc.encode(nil, d)
		if err != nil {
			// Cannot happen with the payload made valid below; never drop silently.
			errorRowsLost.Inc(ctx, 1)
			log.Errorf(ctx, "bigqueryx: %s: dead letter not written: %v", fn.errs.destination(), err)
			continue
		}
		dls[i] = d
		batch = append(batch, pending{row: i, data: data})
	}
	var lost []failure
	for start := 0; start < len(batch); {
		end, size := start, 0
		for end < len(batch) && (end == start || (end-start < fn.MaxBatchRows && size+len(batch[end].data)+8 <= fn.MaxBatchBytes)) {
			size += len(batch[end].data) + 8
			end++
		}
		f, err := fn.appendRows(ctx, fn.errs, batch[start:end], 0, false)
		if err != nil {
			return err
		}
		lost = append(lost, f...)
		start = end
	}
	for _, f := range lost {
		i := f.row.(int)
		delete(dls, i)
		errorRowsLost.Inc(ctx, 1)
		// The reason, never the payload: it may hold anything.
		log.Errorf(ctx, "bigqueryx: %s rejected a dead letter of %s: %s", fn.errs.destination(), fn.Table, f.msg)
	}
	for i := range fails {
		if d, ok := dls[i]; ok {
			emit(d)
		}
	}
	return nil
}

// Bounds on a dead letter's payload, so that it fits an append request
// however large the row was.
const (
	maxPayloadBothBytes = 1 << 20
	maxPayloadBytes     = 4 << 20
)

func (fn *writeFn) newDeadLetter(at time.Time, f failure) tickbeam.DeadLetter {
	payload, err := json.Marshal(f.row)
	if err != nil {
		// NaN or infinite floats have no JSON; keep a readable form.
		payload = fmt.Appendf(nil, "%+v", f.row)
	}
	if len(payload) > maxPayloadBytes {
		cut := maxPayloadBytes
		for cut > 0 && !utf8.RuneStart(payload[cut]) {
			cut--
		}
		payload = payload[:cut]
		f.msg += " (payload truncated)"
	}
	source := ""
	if fn.enc != nil {
		source = fn.enc.sourceOf(f.row)
	}
	d := tickbeam.NewDeadLetter(at, payload, map[string]string{"table": fn.Table.String()}, StageSink, source, errors.New(f.msg))
	if len(payload) > maxPayloadBothBytes && d.PayloadString != "" {
		d.PayloadBytes = nil // the string holds it all
	}
	// The error table's STRING columns take only valid UTF-8.
	d.ErrorMessage = strings.ToValidUTF8(d.ErrorMessage, "\uFFFD")
	d.Source = strings.ToValidUTF8(d.Source, "\uFFFD")
	return d
}

// Error classes of a failed append.
type errClass int

const (
	// The service or the network failed: retry, then fail the bundle.
	transient errClass = iota
	// The rows were refused: isolate the bad ones.
	rejected
	// Internal, unknown and other errors: may be either. Retried first.
	ambiguous
	// The table is gone or we may not write it: fail the bundle now.
	fatal
)

func classify(ctx context.Context, err error) errClass {
	if ctx.Err() != nil {
		return fatal // the bundle is being abandoned
	}
	if errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) {
		return transient
	}
	s, ok := status.FromError(err)
	if !ok {
		return ambiguous
	}
	switch s.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Canceled:
		return transient
	case codes.InvalidArgument, codes.OutOfRange:
		return rejected
	case codes.NotFound, codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented:
		return fatal
	}
	return ambiguous
}

// appendRows appends batch and returns the rows BigQuery refused, with its
// reasons. An error means the bundle must fail (and be retried whole).
// Transient errors are retried until the sink's outage passes a bound
// (MaxOutage, MaxHeldRows).
//
// A response with row errors names the bad rows: the request appended
// nothing, so the rest are appended again without them. A refusal without
// row errors (request too large; or the emulator, which names no rows) is
// resolved by halving the batch until single rows fail. Errors that may be
// transient are retried with backoff first: MaxRetries times for the whole
// batch, once for its halves, so a failing row costs O(log n) appends.
func (fn *writeFn) appendRows(ctx context.Context, a rowAppender, batch []pending, depth int, main bool) ([]failure, error) {
	data := make([][]byte, len(batch))
	for i, p := range batch {
		data[i] = p.data
	}
	for attempt := 0; ; attempt++ {
		appendCount.Inc(ctx, 1)
		actx, cancel := context.WithTimeout(ctx, fn.attemptTimeout())
		resp, err := a.append(actx, data)
		cancel()
		if err == nil {
			fn.sink.Succeeded(ctx)
			if main {
				rowsWritten.Inc(ctx, int64(len(batch)))
			}
			return nil, nil
		}
		if rowErrs := resp.GetRowErrors(); len(rowErrs) > 0 {
			if fails, rest, ok := splitRowErrors(batch, rowErrs); ok {
				if len(rest) > 0 {
					more, err := fn.appendRows(ctx, a, rest, depth, main)
					if err != nil {
						return nil, err
					}
					fails = append(fails, more...)
				}
				return fails, nil
			}
		}
		class := classify(ctx, err)
		limit := fn.MaxRetries
		if class == ambiguous && depth > 0 {
			limit = min(limit, 1)
		}
		switch {
		case class == fatal:
			return nil, fmt.Errorf("bigqueryx: append to %s: %w", a.destination(), err)
		case class == transient:
			rowsHeld.Set(ctx, fn.sink.Held())
			if gaveUp := fn.sink.Failed(ctx, fmt.Errorf("append to %s: %w", a.destination(), err), fn.bounds()); gaveUp != nil {
				return nil, gaveUp
			}
		case class == rejected || (class == ambiguous && attempt >= limit):
			if len(batch) == 1 {
				return []failure{{row: batch[0].row, msg: errMessage(err)}}, nil
			}
			mid := len(batch) / 2
			f1, err := fn.appendRows(ctx, a, batch[:mid], depth+1, main)
			if err != nil {
				return nil, err
			}
			f2, err := fn.appendRows(ctx, a, batch[mid:], depth+1, main)
			if err != nil {
				return nil, err
			}
			return append(f1, f2...), nil
		}
		retryCount.Inc(ctx, 1)
		if err := outage.Sleep(ctx, outage.Backoff(attempt, fn.InitialBackoff, fn.MaxBackoff)); err != nil {
			return nil, err
		}
	}
}

// splitRowErrors separates the rows a response's row errors name.
func splitRowErrors(batch []pending, rowErrs []*storagepb.RowError) (fails []failure, rest []pending, ok bool) {
	bad := make(map[int64]string, len(rowErrs))
	for _, re := range rowErrs {
		if re.GetIndex() < 0 || re.GetIndex() >= int64(len(batch)) {
			return nil, nil, false // not about this batch: treat as a refusal without names
		}
		msg := re.GetMessage()
		if c := re.GetCode(); c != storagepb.RowError_ROW_ERROR_CODE_UNSPECIFIED {
			msg = c.String() + ": " + msg
		}
		bad[re.GetIndex()] = msg
	}
	for i, p := range batch {
		if msg, isBad := bad[int64(i)]; isBad {
			fails = append(fails, failure{row: p.row, msg: msg})
		} else {
			rest = append(rest, p)
		}
	}
	return fails, rest, true
}

func errMessage(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Code().String() + ": " + s.Message()
	}
	return err.Error()
}

// appender appends to one table's default stream, opening it on first use
// and again after any failure: a failed stream may be half-closed (the
// emulator closes it after every refusal), and a fresh one costs one RPC.
//
// With oneShot the stream is closed after every append. That is for the
// emulator: the client names the stream only in the first request of a
// connection, and the emulator routes a request that names none to an
// arbitrary stream of any table (v0.6.6, storage_handler.go appendRows), so
// a second append on a connection may land in another table.
type appender struct {
	base       context.Context // outlives bundles, as the stream's connection must
	client     *managedwriter.Client
	table      Table
	descriptor *descriptorpb.DescriptorProto
	oneShot    bool

	ms *managedwriter.ManagedStream
}

func (a *appender) append(ctx context.Context, rows [][]byte) (*storagepb.AppendRowsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, appendTimeout)
	defer cancel()
	if a.ms == nil {
		ms, err := a.client.NewManagedStream(a.base,
			managedwriter.WithDestinationTable(a.table.storageParent()),
			managedwriter.WithType(managedwriter.DefaultStream),
			managedwriter.WithSchemaDescriptor(a.descriptor),
			// Retries are ours: counted, bounded and aware of row errors.
			managedwriter.EnableWriteRetries(false))
		if err != nil {
			return nil, err
		}
		a.ms = ms
	}
	res, err := a.ms.AppendRows(ctx, rows)
	if err != nil {
		a.close()
		return nil, err
	}
	resp, err := res.FullResponse(ctx)
	if err != nil || a.oneShot {
		a.close()
	}
	return resp, err
}

func (a *appender) destination() Table { return a.table }

func (a *appender) close() {
	if a.ms != nil {
		_ = a.ms.Close()
		a.ms = nil
	}
}
