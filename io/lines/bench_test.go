package lines

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
)

func init() {
	register.DoFn2x0[string, func(int64)](&sinkFn{})
	register.Emitter1[int64]()
}

// sinkFn consumes lines, so the benchmark measures the read alone. It
// emits a count now and then, summed across a fusion break, rather than
// nothing: prism (v2.77.0) busy-polls for the whole bundle when a stage has
// no outputs (its progress loop selects on an already closed DataWait),
// which burns one of the two cores and halves the figure.
type sinkFn struct{ n int64 }

func (fn *sinkFn) ProcessElement(_ string, emit func(int64)) {
	if fn.n++; fn.n == 1<<16 {
		emit(fn.n)
		fn.n = 0
	}
}

// benchLines is the size of the CLI's benchmark input.
const benchLines = 1_000_000

// writeBenchFile writes n Binance-like trade lines of ~150 bytes.
func writeBenchFile(b *testing.B, path string, n int) int64 {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	t0 := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		fmt.Fprintf(w, `{"e":"trade","E":%d,"s":"BTCUSDT","t":%d,"p":"%d.%02d","q":"0.%05d","T":%d,"m":%t,"M":true}`+"\n",
			t0+int64(i)+3, 4000000000+i, 97000+i%500, i%100, i%99991, t0+int64(i), i%3 == 0)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return st.Size()
}

// BenchmarkRead runs Read over a 1M-line file on prism, end to end
// (pipeline start included), and reports lines/s.
//
//	go test ./io/lines/ -run '^$' -bench BenchmarkRead -benchtime 3x
func BenchmarkRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "trades.jsonl")
	size := writeBenchFile(b, path, benchLines)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		p, s := beam.NewPipelineWithRoot()
		lines, _ := Read(s, path)
		stats.Sum(s, beam.ParDo(s, &sinkFn{}, lines))
		r, err := ptest.RunWithMetrics(p)
		if err != nil {
			b.Fatal(err)
		}
		if got := counter(r, "lines"); got != benchLines {
			b.Fatalf("read %d lines, want %d", got, benchLines)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkScan is the line splitting alone, without Beam.
func BenchmarkScan(b *testing.B) {
	path := filepath.Join(b.TempDir(), "trades.jsonl")
	size := writeBenchFile(b, path, benchLines)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sc := newScanner(f, bufSize, DefaultMaxLineBytes)
		n := 0
		for {
			l, err := sc.next()
			if err != nil {
				break
			}
			_ = string(l.text)
			n++
		}
		f.Close()
		if n != benchLines {
			b.Fatalf("%d lines", n)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkReadGzip is BenchmarkRead over the same file gzipped.
//
//	go test ./io/lines/ -run '^$' -bench BenchmarkReadGzip -benchtime 3x
func BenchmarkReadGzip(b *testing.B) {
	dir := b.TempDir()
	plain := filepath.Join(dir, "trades.jsonl")
	writeBenchFile(b, plain, benchLines)
	path := plain + ".gz"
	gzipFile(b, plain, path)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for range b.N {
		p, s := beam.NewPipelineWithRoot()
		lines, _ := Read(s, path)
		stats.Sum(s, beam.ParDo(s, &sinkFn{}, lines))
		r, err := ptest.RunWithMetrics(p)
		if err != nil {
			b.Fatal(err)
		}
		if got := counter(r, "lines"); got != benchLines {
			b.Fatalf("read %d lines, want %d", got, benchLines)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func gzipFile(b *testing.B, src, dst string) {
	b.Helper()
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTextio is textio.Read over the same file, for comparison.
func BenchmarkTextio(b *testing.B) {
	path := filepath.Join(b.TempDir(), "trades.jsonl")
	size := writeBenchFile(b, path, benchLines)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		p, s := beam.NewPipelineWithRoot()
		stats.Sum(s, beam.ParDo(s, &sinkFn{}, textio.Read(s, path)))
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
