package lake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/runners"
)

// -update is taken by the Dataflow runner's flags (linked in through beamx).
var update = flag.Bool("update-golden", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	testenv.MainPrism(m)
}

func init() {
	register.Function1x2(stampBar)
	register.Function1x1(baseName)
}

// stampBar gives a bar its window start as event time, as the bars
// transform does.
func stampBar(b tickbeam.Bar) (beam.EventTime, tickbeam.Bar) {
	return mtime.FromTime(b.WindowStart), b
}

// baseName keeps emitted names comparable across temp directories.
func baseName(p string) string {
	i := strings.Index(p, "/lake/")
	return p[i+len("/lake/"):]
}

var t0 = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

// bars returns n 1-minute bars, two symbols, starting at t0.
func bars(n int) []tickbeam.Bar {
	var out []tickbeam.Bar
	for i := range n {
		start := t0.Add(time.Duration(i/2) * time.Minute)
		out = append(out, tickbeam.Bar{
			Symbol: []string{"BTCUSDT", "ETHUSDT"}[i%2], Resolution: "1m",
			WindowStart: start, WindowEnd: start.Add(time.Minute),
			Open: 100 + float64(i), High: 101 + float64(i), Low: 99 + float64(i), Close: 100.5 + float64(i),
			Volume: 2, Notional: 201, VWAP: 100.5, Trades: 3, BuyVolume: 1, SellVolume: 1,
			Timing: tickbeam.OnTime,
		})
	}
	return out
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func jsonLine(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// shardOf is the sharding rule, restated so a change to it, which would move
// rows between files of an existing lake, fails a test.
func shardOf(line string, shards int) int {
	h := fnv.New64a()
	h.Write([]byte(line))
	return int(h.Sum64() % uint64(shards))
}

// readTree returns every file under dir by its slash path, gunzipped when
// its name ends in .gz.
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// wantFiles lays rows out as Write should: by shard, sorted.
func wantFiles(t testing.TB, rows []tickbeam.Bar, shards int, name func(shard int) string) map[string]string {
	t.Helper()
	byShard := map[int][]string{}
	for _, r := range rows {
		l := jsonLine(t, r)
		byShard[shardOf(l, shards)] = append(byShard[shardOf(l, shards)], l)
	}
	want := map[string]string{}
	for sh, ls := range byShard {
		sort.Strings(ls)
		want[name(sh)] = strings.Join(ls, "\n") + "\n"
	}
	return want
}

func counter(r beam.PipelineResult, name string) int64 {
	return runners.Counter(r, "tickbeam/lake", name)
}

func TestWrite(t *testing.T) {
	rows := bars(12) // 09:30..09:35, two symbols
	tests := []struct {
		name   string
		opts   Options
		stamp  bool // give rows their window start as event time
		layout func(r tickbeam.Bar, shard int) string
	}{
		{
			name: "batch, global window, 3 shards",
			opts: Options{Shards: 3},
			layout: func(_ tickbeam.Bar, sh int) string {
				return fmt.Sprintf("part-global-ontime-0-%02d-of-03.jsonl", sh)
			},
		},
		{
			name: "global window, partitioned, gzip",
			opts: Options{Name: "ticks", Partition: true, Gzip: true},
			layout: func(_ tickbeam.Bar, sh int) string {
				return "dt=__HIVE_DEFAULT_PARTITION__/hour=__HIVE_DEFAULT_PARTITION__/ticks-global-ontime-0-00-of-01.jsonl.gz"
			},
		},
		{
			name:  "fixed 2-minute windows, partitioned",
			opts:  Options{Window: 2 * time.Minute, Partition: true, Shards: 2},
			stamp: true,
			layout: func(r tickbeam.Bar, sh int) string {
				start := r.WindowStart.Truncate(2 * time.Minute)
				return fmt.Sprintf("dt=2026-01-15/hour=09/part-%s-%s-ontime-0-%02d-of-02.jsonl",
					start.Format("20060102T150405Z"), start.Add(2*time.Minute).Format("20060102T150405Z"), sh)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lake")
			p, s := beam.NewPipelineWithRoot()
			col := beam.CreateList(s, rows)
			if tc.stamp {
				col = beam.ParDo(s, stampBar, col)
			}
			files := Write(s, dir, col, tc.opts)

			// Group the expected rows by the file each should land in.
			want := map[string]string{}
			byFile := map[string][]string{}
			for _, r := range rows {
				l := jsonLine(t, r)
				f := tc.layout(r, shardOf(l, tc.opts.shards()))
				byFile[f] = append(byFile[f], l)
			}
			var wantNames []string
			for f, ls := range byFile {
				sort.Strings(ls)
				want[f] = strings.Join(ls, "\n") + "\n"
				wantNames = append(wantNames, f)
			}
			// Names are in their windows; passert wants the global one.
			names := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, baseName, files))
			passert.Equals(s, names, toAny(wantNames)...)

			r := ptest.RunAndValidate(t, p)
			if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if got := counter(r, "rows"); got != int64(len(rows)) {
				t.Errorf("rows counter = %d, want %d", got, len(rows))
			}
			if got := counter(r, "files"); got != int64(len(want)) {
				t.Errorf("files counter = %d, want %d", got, len(want))
			}
		})
	}
}

// TestWriteGolden pins the exact bytes of one small file: JSON field names,
// number formats and row order are what downstream readers see.
func TestWriteGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	p, s := beam.NewPipelineWithRoot()
	Write(s, dir, beam.ParDo(s, stampBar, beam.CreateList(s, bars(4))), Options{Name: "bars", Window: time.Hour})
	ptest.RunAndValidate(t, p)

	const name = "bars-20260115T090000Z-20260115T100000Z-ontime-0-00-of-01.jsonl"
	got := readTree(t, dir)
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-golden to create it)", err)
	}
	if diff := cmp.Diff(map[string]string{name: string(want)}, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestWriteTriggeredPanes streams rows through early, on-time and late
// panes: each pane becomes its own file, and none overwrites another.
// (Early panes fire on processing time here: the stream advances it with
// TestStream; prism ran this sequence identically on every run we tried, and
// an early AfterCount(1) trigger likewise, one pane per element.)
func TestWriteTriggeredPanes(t *testing.T) {
	ms := t0.UnixMilli() // window [09:30, 09:31)
	c := teststream.NewConfig()
	c.AddElements(ms+1_000, "a1", "a2")
	c.AdvanceProcessingTime(2_000) // early pane 0: a1, a2
	c.AddElements(ms+2_000, "b")
	c.AddElements(ms+61_000, "next") // window [09:31, 09:32)
	c.AdvanceWatermark(ms + 125_000) // on-time panes: b (pane 1); next (pane 0)
	c.AddElements(ms+3_000, "late")  // late pane 2
	c.AdvanceWatermarkToInfinity()

	dir := filepath.Join(t.TempDir(), "lake")
	p, s := beam.NewPipelineWithRoot()
	rows := beam.WindowInto(s, window.NewFixedWindows(time.Minute), teststream.Create(s, c),
		beam.Trigger(trigger.AfterEndOfWindow().
			EarlyFiring(trigger.Repeat(trigger.AfterProcessingTime().PlusDelay(time.Second))).
			LateFiring(trigger.Repeat(trigger.AfterCount(1)))),
		beam.AllowedLateness(time.Hour),
		beam.PanesDiscard())
	Write(s, dir, rows, Options{})
	ptest.RunAndValidate(t, p)

	const w0, w1 = "part-20260115T093000Z-20260115T093100Z", "part-20260115T093100Z-20260115T093200Z"
	want := map[string]string{
		w0 + "-early-0-00-of-01.jsonl":  "\"a1\"\n\"a2\"\n",
		w0 + "-ontime-1-00-of-01.jsonl": "\"b\"\n",
		w0 + "-late-2-00-of-01.jsonl":   "\"late\"\n",
		w1 + "-ontime-0-00-of-01.jsonl": "\"next\"\n",
	}
	if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestWriteIdempotent runs the same write twice, as a retried job would:
// the same files with the same bytes, and no temporary files left over.
func TestWriteIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	run := func() map[string]string {
		p, s := beam.NewPipelineWithRoot()
		rows := beam.ParDo(s, stampBar, beam.CreateList(s, bars(20)))
		Write(s, dir, rows, Options{Shards: 4, Window: 5 * time.Minute, Gzip: true, Partition: true})
		ptest.RunAndValidate(t, p)
		return readTree(t, dir) // temporary files would show up here
	}
	first := run()
	if len(first) < 2 {
		t.Fatalf("first run wrote %d files, want several", len(first))
	}
	if diff := cmp.Diff(first, run()); diff != "" {
		t.Errorf("second run changed the lake (-first +second):\n%s", diff)
	}
}

func TestWriteGCS(t *testing.T) {
	srv := testenv.FakeGCS(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "lake-bucket"})

	rows := bars(6)
	p, s := beam.NewPipelineWithRoot()
	files := Write(s, "gs://lake-bucket/raw/bars/", beam.CreateList(s, rows), Options{Shards: 2, Gzip: true})
	want := wantFiles(t, rows, 2, func(sh int) string {
		return fmt.Sprintf("raw/bars/part-global-ontime-0-%02d-of-02.jsonl.gz", sh)
	})
	var wantNames []any
	for n := range want {
		wantNames = append(wantNames, "gs://lake-bucket/"+n)
	}
	passert.Equals(s, files, wantNames...)
	ptest.RunAndValidate(t, p)

	if diff := cmp.Diff(want, readObjects(t, srv, "lake-bucket")); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// readObjects returns the bucket's objects by name, gunzipped: a truncated
// object fails the test.
func readObjects(t testing.TB, srv *fakestorage.Server, bucket string) map[string]string {
	t.Helper()
	objs, _, err := srv.ListObjectsWithOptions(bucket, fakestorage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range objs {
		obj, err := srv.GetObject(bucket, o.Name)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(obj.Content))
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		got[o.Name] = string(b)
	}
	return got
}

func TestTryWriteErrors(t *testing.T) {
	tests := []struct {
		prefix string
		opts   Options
		want   string
	}{
		{"", Options{}, "empty prefix"},
		{"  ", Options{}, "empty prefix"},
		{"s3://bucket/x", Options{}, `scheme "s3" not supported`},
		{"memfs://x", Options{}, `scheme "memfs" not supported`},
		{"gs://", Options{}, "has no bucket"},
		{"gs:///raw", Options{}, "has no bucket"},
		{"gs://b/raw/../../other", Options{}, `".." segment`},
		{"/data/../etc", Options{}, `".." segment`},
		{"../up", Options{}, `".." segment`},
		{"/data/lake", Options{Shards: -1}, "Shards -1"},
		{"/data/lake", Options{Window: -time.Minute}, "Window -1m0s"},
		{"/data/lake", Options{Name: "a/b"}, "plain file name"},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			_, s := beam.NewPipelineWithRoot()
			_, err := TryWrite(s, tc.prefix, beam.CreateList(s, bars(1)), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("TryWrite(%q, %+v) = %v, want an error containing %q", tc.prefix, tc.opts, err, tc.want)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	w := window.IntervalWindow{Start: mtime.FromTime(t0), End: mtime.FromTime(t0.Add(time.Minute))}
	tests := []struct {
		name      string
		w         beam.Window
		pn        beam.PaneInfo
		shard, of int
		partition bool
		gz        bool
		want      string
	}{
		{"interval", w, beam.PaneInfo{Timing: 1}, 3, 10, false, false,
			"x-20260115T093000Z-20260115T093100Z-ontime-0-03-of-10.jsonl"},
		{"early pane, partitioned", w, beam.PaneInfo{Timing: 0, Index: 2}, 0, 1, true, true,
			"dt=2026-01-15/hour=09/x-20260115T093000Z-20260115T093100Z-early-2-00-of-01.jsonl.gz"},
		{"late pane, 100 shards", w, beam.PaneInfo{Timing: 2, Index: 7}, 42, 100, false, false,
			"x-20260115T093000Z-20260115T093100Z-late-7-042-of-100.jsonl"},
		{"sub-second window", window.IntervalWindow{Start: mtime.FromTime(t0), End: mtime.FromTime(t0.Add(250 * time.Millisecond))},
			beam.PaneInfo{Timing: 1}, 0, 1, false, false,
			"x-20260115T093000Z-20260115T093000.250Z-ontime-0-00-of-01.jsonl"},
		{"global", window.GlobalWindow{}, beam.PaneInfo{Timing: 3}, 0, 1, true, false,
			"dt=__HIVE_DEFAULT_PARTITION__/hour=__HIVE_DEFAULT_PARTITION__/x-global-unknown-0-00-of-01.jsonl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fileName("x", tc.partition, tc.w, tc.pn, tc.shard, tc.of, tc.gz)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fileName (-want +got):\n%s", diff)
			}
		})
	}
}
