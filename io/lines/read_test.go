package lines

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/runners"
)

func TestMain(m *testing.M) {
	testenv.MainPrism(m)
}

func init() {
	register.Function1x1(errorMessage)
	register.Function1x1(clearTimestamp)
	register.Function2x1(blockLines)
}

func errorMessage(d tickbeam.DeadLetter) string { return d.ErrorMessage }

// clearTimestamp drops the one field that depends on the clock.
func clearTimestamp(d tickbeam.DeadLetter) tickbeam.DeadLetter {
	d.Timestamp = time.Time{}
	return d
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func counter(r beam.PipelineResult, name string) int64 {
	return runners.Counter(r, "tickbeam/lines", name)
}

func TestRead(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name      string
		files     map[string][]byte
		glob      string // relative to the test's directory
		opts      []Option
		want      []string
		oversized []string // error messages
		counts    map[string]int64
	}{
		{
			name: "glob over several files",
			files: map[string][]byte{
				"a.txt":     []byte("a1\na2\n"),
				"b.txt":     []byte("b1\nb2"), // no final newline
				"skip.log":  []byte("not matched\n"),
				"empty.txt": nil,
			},
			glob:   "*.txt",
			want:   []string{"a1", "a2", "b1", "b2"},
			counts: map[string]int64{"lines": 4, "blank": 0},
		},
		{
			name:   "gzip by suffix",
			files:  map[string][]byte{"day.jsonl.gz": gz(t, "{\"p\":1}\n{\"p\":2}\n"), "empty.gz": nil},
			glob:   "*.gz",
			want:   []string{`{"p":1}`, `{"p":2}`},
			counts: map[string]int64{"lines": 2},
		},
		{
			name:   "crlf",
			files:  map[string][]byte{"win.csv": []byte("h1,h2\r\n1,2\r\n3,4")},
			glob:   "win.csv",
			want:   []string{"h1,h2", "1,2", "3,4"},
			counts: map[string]int64{"lines": 3},
		},
		{
			name:   "blank lines dropped and counted",
			files:  map[string][]byte{"b.txt": []byte("\none\n \t \r\n\r\ntwo\n\n")},
			glob:   "b.txt",
			want:   []string{"one", "two"},
			counts: map[string]int64{"lines": 6, "blank": 4},
		},
		{
			name:  "line over the limit",
			files: map[string][]byte{"big.txt": []byte("ok\n" + long + "\r\nafter\n")},
			glob:  "big.txt",
			opts:  []Option{MaxLineBytes(16)},
			want:  []string{"ok", "after"},
			oversized: []string{
				"line at byte offset 3 of BIG is 40 bytes, over the limit of 16 (MaxLineBytes); payload holds its first 40 bytes",
			},
			counts: map[string]int64{"lines": 3, "oversized": 1},
		},
	}
	for _, tc := range tests {
		for _, blocks := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/blocks=%v", tc.name, blocks), func(t *testing.T) {
				dir := t.TempDir()
				writeFiles(t, dir, tc.files)
				p, s := beam.NewPipelineWithRoot()
				var lines, oversized beam.PCollection
				if blocks {
					var bs beam.PCollection
					bs, oversized = ReadBlocks(s, filepath.Join(dir, tc.glob), tc.opts...)
					lines = beam.ParDo(s, blockLines, bs)
				} else {
					lines, oversized = Read(s, filepath.Join(dir, tc.glob), tc.opts...)
				}
				passert.Equals(s, lines, toAny(tc.want)...)
				msgs := beam.ParDo(s, errorMessage, oversized)
				var wantMsgs []any
				for _, m := range tc.oversized {
					wantMsgs = append(wantMsgs, strings.ReplaceAll(m, "BIG", filepath.Join(dir, "big.txt")))
				}
				passert.Equals(s, msgs, wantMsgs...)
				r := ptest.RunAndValidate(t, p)
				for name, want := range tc.counts {
					if got := counter(r, name); got != want {
						t.Errorf("counter %q = %d, want %d", name, got, want)
					}
				}
			})
		}
	}
}

// blockLines splits a block of ReadBlocks into its lines; every line must end
// in "\n".
func blockLines(b []byte, emit func(string)) error {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return fmt.Errorf("block %q does not end in a newline", b)
	}
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			emit(strings.TrimSuffix(l, "\n"))
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestReadOversizedDeadLetter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.txt")
	// 6001 bytes, and the 4 KiB cut splits an "é": the payload string keeps
	// the valid part, the payload bytes the whole head.
	huge := "x" + strings.Repeat("é", 3000)
	writeFiles(t, dir, map[string][]byte{"huge.txt": []byte("a\n" + huge + "\nb\n")})

	p, s := beam.NewPipelineWithRoot()
	lines, oversized := Read(s, path, MaxLineBytes(100))
	passert.Equals(s, lines, "a", "b")
	want := tickbeam.DeadLetter{
		PayloadString: huge[:4095],
		PayloadBytes:  []byte(huge[:4096]),
		Attributes: []tickbeam.Attribute{
			{Key: "bytes", Value: "6001"},
			{Key: "file", Value: path},
			{Key: "offset", Value: "2"},
		},
		ErrorMessage: fmt.Sprintf("line at byte offset 2 of %s is 6001 bytes, over the limit of 100 (MaxLineBytes); payload holds its first 4096 bytes", path),
		Stage:        "read",
		Source:       path,
	}
	passert.Equals(s, beam.ParDo(s, clearTimestamp, oversized), want)
	ptest.RunAndValidate(t, p)
}

func TestReadNoMatch(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub.jsonl"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, glob := range []string{
		filepath.Join(dir, "missing-*.jsonl"),
		filepath.Join(dir, "missing.jsonl"),
		filepath.Join(dir, "*.jsonl"), // a directory only
	} {
		t.Run(filepath.Base(glob), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			lines, _ := Read(s, glob)
			passert.Empty(s, lines)
			err := ptest.Run(p)
			if err == nil {
				t.Fatal("Run succeeded, want an error for a glob matching no file")
			}
			if want := fmt.Sprintf("no files match %q", glob); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestReadGCS(t *testing.T) {
	testenv.FakeGCS(t,
		fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "ticks", Name: "raw/2026-01-15/a.jsonl"}, Content: []byte("a1\na2\n")},
		fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "ticks", Name: "raw/2026-01-15/b.jsonl.gz"}, Content: gz(t, "b1\r\n\nb2\n")},
		fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "ticks", Name: "raw/2026-01-16/c.jsonl"}, Content: []byte("c1\n")},
	)
	p, s := beam.NewPipelineWithRoot()
	lines, oversized := Read(s, "gs://ticks/raw/2026-01-15/*")
	passert.Equals(s, lines, "a1", "a2", "b1", "b2")
	passert.Empty(s, oversized)
	ptest.RunAndValidate(t, p)
}

// TestReadGzipLongerThanFile guards against textio's defect: it bounds a .gz
// file's offsets (in the decompressed stream) by the compressed size, and so
// silently reads only the first few lines of a well-compressed file.
func TestReadGzipLongerThanFile(t *testing.T) {
	dir := t.TempDir()
	line := strings.Repeat("a", 99)
	writeFiles(t, dir, map[string][]byte{"x.gz": gz(t, strings.Repeat(line+"\n", 1000))})
	p, s := beam.NewPipelineWithRoot()
	lines, _ := Read(s, filepath.Join(dir, "x.gz"))
	passert.Count(s, lines, "lines", 1000)
	ptest.RunAndValidate(t, p)
}

// TestReadSplits checks that any way of cutting a file into restrictions
// yields each line exactly once, the property dynamic splitting relies on,
// for local files (seek) and GCS objects (range reads).
func TestReadSplits(t *testing.T) {
	var all []string
	var b strings.Builder
	for i := range 200 {
		l := strings.Repeat(string(rune('a'+i%26)), i%37)
		if i%5 == 0 {
			l += "\r"
		}
		b.WriteString(l + "\n")
		if l = strings.TrimSuffix(l, "\r"); strings.TrimSpace(l) != "" {
			all = append(all, l)
		}
	}
	data := b.String()
	sort.Strings(all)

	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"f.txt": []byte(data)})
	testenv.FakeGCS(t, fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: "f.txt"}, Content: []byte(data)})

	for _, src := range []struct {
		name, path string
		splits     []int
	}{
		// Down to one byte per restriction: most start mid-line.
		{"local", filepath.Join(dir, "f.txt"), []int{1, 2, 3, 7, 50, len(data)}},
		{"gcs", "gs://b/f.txt", []int{1, 2, 7, 50}},
	} {
		f := file{Path: src.path, Size: int64(len(data))}
		for _, n := range src.splits {
			t.Run(fmt.Sprintf("%s/%d", src.name, n), func(t *testing.T) {
				fn := &readFn{reader{MaxLineBytes: 1000}}
				defer fn.Teardown()
				// Blocks of 8 bytes: most lines are a block of their own, some share one.
				bfn := &readBlocksFn{reader: reader{MaxLineBytes: 1000}, BlockBytes: 8}
				defer bfn.Teardown()
				var got, gotBlocks []string
				noDead := func(d tickbeam.DeadLetter) { t.Errorf("unexpected dead letter %v", d.ErrorMessage) }
				for _, rest := range (offsetrange.Restriction{End: f.Size}).EvenSplits(int64(n)) {
					rt := sdf.NewLockRTracker(offsetrange.NewTracker(rest))
					err := fn.ProcessElement(context.Background(), rt, f,
						func(s string) { got = append(got, s) }, noDead)
					if err != nil {
						t.Fatal(err)
					}
					if !rt.IsDone() {
						t.Errorf("restriction %v not done: %v", rest, rt)
					}
					rt = sdf.NewLockRTracker(offsetrange.NewTracker(rest))
					err = bfn.ProcessElement(context.Background(), rt, f, func(b []byte) {
						if err := blockLines(b, func(l string) { gotBlocks = append(gotBlocks, l) }); err != nil {
							t.Error(err)
						}
					}, noDead)
					if err != nil {
						t.Fatal(err)
					}
					if !rt.IsDone() {
						t.Errorf("blocks: restriction %v not done: %v", rest, rt)
					}
				}
				sort.Strings(got)
				if diff := cmp.Diff(all, got); diff != "" {
					t.Errorf("lines (-want +got):\n%s", diff)
				}
				sort.Strings(gotBlocks)
				if diff := cmp.Diff(all, gotBlocks); diff != "" {
					t.Errorf("lines of blocks (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestScannerLongLines(t *testing.T) {
	// A buffer of 16 bytes forces the long-line path on most lines.
	tests := []struct {
		name string
		in   string
		max  int
		want []line
	}{
		{"fits", "abc\r\nde", 10, []line{{text: []byte("abc"), raw: 5, size: 3}, {text: []byte("de"), raw: 2, size: 2}}},
		{"spans buffers", strings.Repeat("a", 40) + "\n", 100, []line{{text: []byte(strings.Repeat("a", 40)), raw: 41, size: 40}}},
		{"crlf split across fills", strings.Repeat("b", 15) + "\r\n", 100, []line{{text: []byte(strings.Repeat("b", 15)), raw: 17, size: 15}}},
		{"over max", strings.Repeat("c", 50) + "\r\nz", 20, []line{
			{text: []byte(strings.Repeat("c", 50)), raw: 52, size: 50, oversized: true},
			{text: []byte("z"), raw: 1, size: 1},
		}},
		{"over max, bytes dropped", strings.Repeat("c", 5000) + "\r\n", 20, []line{
			{text: []byte(strings.Repeat("c", 4096)), raw: 5002, size: 5000, oversized: true},
		}},
		{"exactly max", strings.Repeat("d", 20) + "\r\n", 20, []line{{text: []byte(strings.Repeat("d", 20)), raw: 22, size: 20}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScanner(strings.NewReader(tc.in), 16, tc.max)
			var got []line
			for {
				l, err := sc.next()
				if err != nil {
					break
				}
				l.text = append([]byte(nil), l.text...)
				got = append(got, l)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(line{})); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}
