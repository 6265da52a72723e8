package lake

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/internal/testenv"
)

// faultyGCS is a proxy in front of fake-gcs-server that, for a while from
// the first request on, fails every request in one of three ways in turn:
// 503 without passing it on; 500 after passing it on (the object is stored,
// its answer lost); the connection cut halfway through the upload's body.
type faultyGCS struct {
	proxy *httputil.ReverseProxy
	down  time.Duration // how long requests fail; < 0: for ever

	mu       sync.Mutex
	first    time.Time
	faults   [3]int // by kind, in the order above
	requests int
	lastFail time.Time
}

func newFaultyGCS(t *testing.T, down time.Duration) (*fakestorage.Server, *faultyGCS) {
	srv := testenv.FakeGCS(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "lake-bucket"})
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyGCS{proxy: httputil.NewSingleHostReverseProxy(target), down: down}
	proxy := httptest.NewServer(f)
	t.Cleanup(proxy.Close)
	u, _ := url.Parse(proxy.URL)
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host) // the writers' GCS clients go through the proxy
	return srv, f
}

func (f *faultyGCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	now := time.Now()
	if f.first.IsZero() {
		f.first = now
	}
	f.requests++
	kind := -1
	if f.down < 0 || now.Sub(f.first) < f.down {
		kind = (f.faults[0] + f.faults[1] + f.faults[2]) % 3
		f.faults[kind]++
		f.lastFail = now
	}
	f.mu.Unlock()
	switch kind {
	case 0:
		http.Error(w, `{"error":{"code":503,"message":"backend unavailable"}}`, http.StatusServiceUnavailable)
	case 1:
		rec := httptest.NewRecorder()
		f.proxy.ServeHTTP(rec, r)
		http.Error(w, `{"error":{"code":500,"message":"internal error"}}`, http.StatusInternalServerError)
	case 2:
		_, _ = io.CopyN(io.Discard, r.Body, 64)
		panic(http.ErrAbortHandler) // closes the connection without an answer
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

func (f *faultyGCS) stats() (faults [3]int, requests int, firstRequest, lastFault time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults, f.requests, f.first, f.lastFail
}

// GCS failing for a while: every file is retried until it lands, whole and
// once, under its one name; past MaxOutage the run fails saying so, and the
// objects it leaves are whole.
func TestWriteGCSOutage(t *testing.T) {
	const shards = 12
	rows := bars(600)
	want := wantFiles(t, rows, shards, func(sh int) string {
		return fmt.Sprintf("raw/bars/part-global-ontime-0-%02d-of-%02d.jsonl.gz", sh, shards)
	})
	for _, c := range []struct {
		name      string
		down      time.Duration
		maxOutage time.Duration
		wantErr   string // "": the run succeeds with every file
	}{
		{name: "down 3s", down: 3 * time.Second},
		{name: "down past max outage", down: -1, maxOutage: time.Second, wantErr: "lake: gs://lake-bucket/raw/bars: giving up after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, gcs := newFaultyGCS(t, c.down)
			p, s := beam.NewPipelineWithRoot()
			files := Write(s, "gs://lake-bucket/raw/bars/", beam.CreateList(s, rows), Options{Shards: shards, Gzip: true, MaxOutage: c.maxOutage})
			if c.wantErr == "" {
				// Each file's name comes out once.
				var names []any
				for n := range want {
					names = append(names, "gs://lake-bucket/"+n)
				}
				passert.Equals(s, files, names...)
			}
			start := time.Now()
			res, err := ptest.RunWithMetrics(p)
			end := time.Now()
			faults, requests, first, last := gcs.stats()
			got := readObjects(t, srv, "lake-bucket")
			t.Logf("%d rows, %d files wanted; %d requests, faults 503/500-after-store/cut %v over %v; run %v, done %v after the last fault; %d objects",
				len(rows), len(want), requests, faults, last.Sub(first).Round(time.Millisecond), end.Sub(start).Round(time.Millisecond),
				end.Sub(last).Round(time.Millisecond), len(got))
			if slices.Contains(faults[:], 0) {
				t.Fatalf("faults by kind %v: some kind was never injected", faults)
			}
			if c.wantErr != "" {
				if err == nil {
					t.Fatal("the run succeeded with GCS down for good")
				}
				if !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "(bound: max outage 1s)") {
					t.Errorf("error does not say which sink gave up and why:\n%v", err)
				}
				if d := end.Sub(first); d > 20*time.Second {
					t.Errorf("the run failed %v after GCS went down, want within MaxOutage plus a backoff", d)
				}
				// Objects stored before their answer was lost are whole.
				for name, content := range got {
					if content != want[name] {
						t.Errorf("object %s is not a whole file of Write's", name)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if n := counter(res, "files"); n != int64(len(want)) {
				t.Errorf("files = %d, want %d: a file counted twice or missing", n, len(want))
			}
			if n := counter(res, "rows"); n != int64(len(rows)) {
				t.Errorf("rows = %d, want %d", n, len(rows))
			}
			if n, f := counter(res, "retries"), faults[0]+faults[1]+faults[2]; n < int64(f) {
				t.Errorf("retries = %d for %d faults", n, f)
			}
		})
	}
}
