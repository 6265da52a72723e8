package bigqueryx

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/outage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeAppender answers each request with respond, and records requests.
type fakeAppender struct {
	respond func(call int, rows []string) (*storagepb.AppendRowsResponse, error)
	calls   [][]string
}

func (f *fakeAppender) append(_ context.Context, rows [][]byte) (*storagepb.AppendRowsResponse, error) {
	var rs []string
	for _, r := range rows {
		rs = append(rs, string(r))
	}
	f.calls = append(f.calls, rs)
	return f.respond(len(f.calls), rs)
}

func (f *fakeAppender) destination() Table { return Table{"tickbeam-test", "d", "t"} }
func (f *fakeAppender) close()             {}

func batchOf(rows ...string) []pending {
	var b []pending
	for _, r := range rows {
		b = append(b, pending{row: r, data: []byte(r)})
	}
	return b
}

func ok() (*storagepb.AppendRowsResponse, error) {
	return &storagepb.AppendRowsResponse{Response: &storagepb.AppendRowsResponse_AppendResult_{}}, nil
}

// refuseBad refuses every request holding a row starting with "bad", with
// code, naming no rows: how the emulator (Internal) and an oversized request
// (InvalidArgument) answer.
func refuseBad(code codes.Code) func(int, []string) (*storagepb.AppendRowsResponse, error) {
	return func(_ int, rows []string) (*storagepb.AppendRowsResponse, error) {
		for _, r := range rows {
			if strings.HasPrefix(r, "bad") {
				return nil, status.Error(code, "refused "+r)
			}
		}
		return ok()
	}
}

func TestAppendRows(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "try later")
	for _, c := range []struct {
		name      string
		batch     []pending
		respond   func(int, []string) (*storagepb.AppendRowsResponse, error)
		wantFails []failure
		wantErr   string
		wantCalls [][]string
	}{
		{
			name:      "ok",
			batch:     batchOf("a", "b"),
			respond:   func(int, []string) (*storagepb.AppendRowsResponse, error) { return ok() },
			wantCalls: [][]string{{"a", "b"}},
		},
		{
			// BigQuery names the bad rows and appends none of the request:
			// the rest are sent again at once.
			name:  "row errors",
			batch: batchOf("a", "bad1", "c", "bad2"),
			respond: func(call int, rows []string) (*storagepb.AppendRowsResponse, error) {
				if call > 1 {
					return ok()
				}
				return &storagepb.AppendRowsResponse{RowErrors: []*storagepb.RowError{
					{Index: 1, Code: storagepb.RowError_FIELDS_ERROR, Message: "required field window_start missing"},
					{Index: 3, Message: "bad value"},
				}}, status.Error(codes.InvalidArgument, "Errors found while processing rows")
			},
			wantFails: []failure{{row: "bad1", msg: "FIELDS_ERROR: required field window_start missing"}, {row: "bad2", msg: "bad value"}},
			wantCalls: [][]string{{"a", "bad1", "c", "bad2"}, {"a", "c"}},
		},
		{
			name:      "refused without names: halve, no retries",
			batch:     batchOf("a", "b", "bad", "d"),
			respond:   refuseBad(codes.InvalidArgument),
			wantFails: []failure{{row: "bad", msg: "InvalidArgument: refused bad"}},
			wantCalls: [][]string{{"a", "b", "bad", "d"}, {"a", "b"}, {"bad", "d"}, {"bad"}, {"d"}},
		},
		{
			// Internal may be transient: the whole batch is retried
			// MaxRetries (2) times, each half once.
			name:      "ambiguous: retry, then halve",
			batch:     batchOf("a", "bad"),
			respond:   refuseBad(codes.Internal),
			wantFails: []failure{{row: "bad", msg: "Internal: refused bad"}},
			wantCalls: [][]string{{"a", "bad"}, {"a", "bad"}, {"a", "bad"}, {"a"}, {"bad"}, {"bad"}},
		},
		{
			name:  "transient then ok",
			batch: batchOf("a"),
			respond: func(call int, _ []string) (*storagepb.AppendRowsResponse, error) {
				if call == 1 {
					return nil, io.EOF
				}
				if call == 2 {
					return nil, unavailable
				}
				return ok()
			},
			wantCalls: [][]string{{"a"}, {"a"}, {"a"}},
		},
		{
			name:  "table gone: the bundle fails at once",
			batch: batchOf("a"),
			respond: func(int, []string) (*storagepb.AppendRowsResponse, error) {
				return nil, status.Error(codes.NotFound, "table not found")
			},
			wantErr:   "NotFound",
			wantCalls: [][]string{{"a"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			fn := testWriteFn(writeFn{MaxRetries: 2, InitialBackoff: time.Microsecond, MaxBackoff: time.Millisecond})
			fa := &fakeAppender{respond: c.respond}
			fails, err := fn.appendRows(context.Background(), fa, c.batch, 0, true)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("error = %v, want containing %q", err, c.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.wantFails, fails, cmp.AllowUnexported(failure{})); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.wantCalls, fa.calls); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// testWriteFn is fn with a sink state of its own, as Setup gives it.
func testWriteFn(fn writeFn) *writeFn {
	fn.sink = outage.For(outage.NewID(), "bigqueryx: table test")
	return &fn
}

// While BigQuery is unavailable the batch is retried until the outage
// passes a bound: its length, or rows piling up past MaxHeldRows.
func TestAppendRowsOutageBounds(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "connection refused")
	down := func(int, []string) (*storagepb.AppendRowsResponse, error) { return nil, unavailable }
	for _, c := range []struct {
		name      string
		fn        writeFn
		respond   func(sink *outage.Sink) func(int, []string) (*storagepb.AppendRowsResponse, error)
		wantBound string // "" : the batch lands
		wantCalls int    // exact, or at least this many with wantBound "max outage"
	}{
		{
			name: "back after 3 failures",
			fn:   writeFn{MaxOutage: time.Minute},
			respond: func(*outage.Sink) func(int, []string) (*storagepb.AppendRowsResponse, error) {
				return func(call int, _ []string) (*storagepb.AppendRowsResponse, error) {
					if call <= 3 {
						return nil, unavailable
					}
					return ok()
				}
			},
			wantCalls: 4,
		},
		{
			name:      "max outage",
			fn:        writeFn{MaxOutage: 30 * time.Millisecond},
			respond:   func(*outage.Sink) func(int, []string) (*storagepb.AppendRowsResponse, error) { return down },
			wantBound: "max outage 30ms",
			wantCalls: 3,
		},
		{
			// 10 rows wait when the outage starts (a batch job's, say):
			// not growing, so no bound, until a row more arrives.
			name: "max held rows, growing",
			fn:   writeFn{MaxOutage: time.Hour, MaxHeldRows: 5},
			respond: func(sink *outage.Sink) func(int, []string) (*storagepb.AppendRowsResponse, error) {
				sink.Enter(10)
				return func(call int, _ []string) (*storagepb.AppendRowsResponse, error) {
					if call == 3 {
						sink.Enter(1)
					}
					return nil, unavailable
				}
			},
			wantBound: "max held rows 5",
			wantCalls: 3,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.fn.InitialBackoff, c.fn.MaxBackoff = time.Millisecond, 2*time.Millisecond
			fn := testWriteFn(c.fn)
			fa := &fakeAppender{respond: c.respond(fn.sink)}
			start := time.Now()
			_, err := fn.appendRows(context.Background(), fa, batchOf("a", "b"), 0, true)
			var gaveUp *outage.Error
			switch {
			case c.wantBound == "" && err != nil:
				t.Fatalf("appendRows: %v", err)
			case c.wantBound == "":
				if len(fa.calls) != c.wantCalls {
					t.Errorf("%d requests, want %d", len(fa.calls), c.wantCalls)
				}
			case !errors.As(err, &gaveUp) || gaveUp.Bound != c.wantBound || !errors.Is(err, unavailable):
				t.Fatalf("appendRows error = %v, want an *outage.Error for %q wrapping the last error", err, c.wantBound)
			case c.wantBound == "max outage 30ms":
				if len(fa.calls) < c.wantCalls || time.Since(start) < 30*time.Millisecond {
					t.Errorf("gave up after %d requests and %v, want >= %d and 30ms", len(fa.calls), time.Since(start), c.wantCalls)
				}
			case len(fa.calls) != c.wantCalls:
				t.Errorf("gave up after %d requests, want %d", len(fa.calls), c.wantCalls)
			}
			if err != nil && !strings.Contains(err.Error(), "append to tickbeam-test.d.t") {
				t.Errorf("error %q does not name the table appended to", err)
			}
		})
	}
}

func TestAppendRowsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fn := testWriteFn(writeFn{MaxRetries: 5, InitialBackoff: time.Hour, MaxBackoff: time.Hour})
	fa := &fakeAppender{respond: func(int, []string) (*storagepb.AppendRowsResponse, error) { return nil, ctx.Err() }}
	if _, err := fn.appendRows(ctx, fa, batchOf("a"), 0, true); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// A bad row costs O(log n) requests, not n.
func TestAppendRowsBisectCost(t *testing.T) {
	var rows []string
	for i := range 512 {
		rows = append(rows, "r"+strings.Repeat("x", i%7))
	}
	rows[300] = "bad"
	fn := testWriteFn(writeFn{MaxRetries: 0})
	fa := &fakeAppender{respond: refuseBad(codes.InvalidArgument)}
	fails, err := fn.appendRows(context.Background(), fa, batchOf(rows...), 0, true)
	if err != nil || len(fails) != 1 || fails[0].row != "bad" {
		t.Fatalf("fails %v, err %v", fails, err)
	}
	if n := len(fa.calls); n > 2*10+1 {
		t.Errorf("%d requests for one bad row in 512", n)
	}
	var sent int
	for _, c := range fa.calls {
		if !slices.Contains(c, "bad") {
			sent += len(c)
		}
	}
	if sent != 511 {
		t.Errorf("%d good rows appended, want 511", sent)
	}
}

func TestTryWriteErrors(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	t.Setenv(EnvStorageEndpoint, "")
	ok := WriteOptions{}
	for _, c := range []struct {
		name  string
		table string
		rows  func(s beam.Scope) beam.PCollection
		opts  WriteOptions
		want  string
	}{
		{"bad table", "p.d", barsOf, ok, "want PROJECT.DATASET.TABLE"},
		{"not a struct", "tickbeam-test.d.t", func(s beam.Scope) beam.PCollection { return beam.Create(s, 1, 2) }, ok, "not a struct"},
		{"shards", "tickbeam-test.d.t", barsOf, WriteOptions{Shards: -1}, "Shards -1"},
		{"batch bytes", "tickbeam-test.d.t", barsOf, WriteOptions{MaxBatchBytes: 20 << 20}, "MaxBatchBytes"},
		{"backoff", "tickbeam-test.d.t", barsOf, WriteOptions{InitialBackoff: time.Minute}, "backoff"},
		{"half emulator", "tickbeam-test.d.t", barsOf, WriteOptions{TableOptions: TableOptions{Options: Options{Endpoint: "x:1"}}}, "set both"},
		{"partition", "tickbeam-test.d.t", barsOf, WriteOptions{TableOptions: TableOptions{PartitionColumn: "symbol"}}, "TIMESTAMP or DATE"},
		{"cluster", "tickbeam-test.d.t", barsOf, WriteOptions{TableOptions: TableOptions{ClusterBy: []string{"nope"}}}, "not in the schema"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, s := beam.NewPipelineWithRoot()
			_, err := TryWrite(s, c.table, c.rows(s), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("TryWrite error = %v, want containing %q", err, c.want)
			}
		})
	}
}

func barsOf(s beam.Scope) beam.PCollection { return beam.Create(s, tickbeam.Bar{Symbol: "A"}) }
