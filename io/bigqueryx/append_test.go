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
			name:      "transient persists: the bundle fails",
			batch:     batchOf("a", "b"),
			respond:   func(int, []string) (*storagepb.AppendRowsResponse, error) { return nil, unavailable },
			wantErr:   "failed 3 times",
			wantCalls: [][]string{{"a", "b"}, {"a", "b"}, {"a", "b"}},
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
			fn := &writeFn{MaxRetries: 2, InitialBackoff: time.Microsecond, MaxBackoff: time.Millisecond}
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

func TestAppendRowsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fn := &writeFn{MaxRetries: 5, InitialBackoff: time.Hour, MaxBackoff: time.Hour}
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
	fn := &writeFn{MaxRetries: 0}
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

func TestBackoff(t *testing.T) {
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			if d := backoff(attempt, 100*time.Millisecond, time.Second); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := backoff(100, time.Second, 10*time.Second); d > 10*time.Second || d < 5*time.Second {
		t.Errorf("backoff(100) = %v overflows", d)
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
