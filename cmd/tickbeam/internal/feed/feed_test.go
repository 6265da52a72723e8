package feed

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/endpoint"
)

// recorder is a Sink that keeps what it is given, with arrival times.
type recorder struct {
	mu    sync.Mutex
	msgs  []string
	attrs []map[string]string
	at    []time.Time
}

func (r *recorder) Publish(_ context.Context, p []byte, a map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, string(p))
	r.attrs = append(r.attrs, a)
	r.at = append(r.at, time.Now())
	return nil
}

func (r *recorder) Flush(context.Context) error { return nil }

func binanceLine(id int, ms int64) string {
	return `{"e":"trade","E":1,"s":"BTCUSDT","t":` + itoa(int64(id)) + `,"p":"100","q":"1","T":` + itoa(ms) + `,"m":true}`
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func writeFile(t *testing.T, path string, lines []string, gz bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := []byte(strings.Join(lines, "\n") + "\n")
	if gz {
		z := gzip.NewWriter(f)
		z.Write(data)
		z.Close()
		return
	}
	f.Write(data)
}

func TestRunFilesAtMaxSpeed(t *testing.T) {
	dir := t.TempDir()
	base := int64(1768435200000)
	writeFile(t, filepath.Join(dir, "a.jsonl"), []string{binanceLine(1, base), "", binanceLine(2, base+1000)}, false)
	writeFile(t, filepath.Join(dir, "b.jsonl.gz"), []string{binanceLine(3, base+2000), `not json`}, true)
	var last Progress
	rec := &recorder{}
	n, err := Run(context.Background(), rec, Options{Input: input(t, filepath.Join(dir, "*")), Format: "binance", Source: "spot",
		Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{binanceLine(1, base), binanceLine(2, base+1000), binanceLine(3, base+2000), "not json"}
	if diff := cmp.Diff(want, rec.msgs); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	if n != 4 || last.Published != 4 || last.Total != 4 || !last.Done {
		t.Errorf("count %d, last progress %+v; want 4 of 4, done", n, last)
	}
	wantAttrs := []map[string]string{
		{"format": "binance", "source": "spot", "ts": itoa(base)},
		{"format": "binance", "source": "spot", "ts": itoa(base + 1000)},
		{"format": "binance", "source": "spot", "ts": itoa(base + 2000)},
		{"format": "binance", "source": "spot"}, // "not json" has no event time
	}
	if diff := cmp.Diff(wantAttrs, rec.attrs); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestRunPacesAtRecordedSpeed(t *testing.T) {
	dir := t.TempDir()
	base := int64(1768435200000)
	// Events 0 s, 1 s and 2 s apart at speed 4: published about 0, 250 and 500 ms in.
	writeFile(t, filepath.Join(dir, "a.jsonl"), []string{binanceLine(1, base), binanceLine(2, base+1000), binanceLine(3, base+2000)}, false)
	rec := &recorder{}
	start := time.Now()
	if _, err := Run(context.Background(), rec, Options{Input: input(t, filepath.Join(dir, "a.jsonl")), Format: "binance", Speed: 4}); err != nil {
		t.Fatal(err)
	}
	if gap := rec.at[2].Sub(start); gap < 450*time.Millisecond {
		t.Errorf("third message after %s, want about 500ms at 4x the recorded 2s", gap)
	}
	if gap := rec.at[1].Sub(rec.at[0]); gap < 200*time.Millisecond {
		t.Errorf("messages 1 and 2 %s apart, want about 250ms", gap)
	}
}

func TestRunSyntheticPublishesTickJSON(t *testing.T) {
	rec := &recorder{}
	n, err := Run(context.Background(), rec, Options{Input: input(t, "synthetic:?symbols=AAA,BBB&rate=1000&seed=3&count=50&start=2026-01-15T14:30:00Z&paced=false")})
	if err != nil {
		t.Fatal(err)
	}
	if n != 50 || len(rec.msgs) != 50 {
		t.Fatalf("published %d (%d recorded), want 50", n, len(rec.msgs))
	}
	var tk tickbeam.Tick
	if err := json.Unmarshal([]byte(rec.msgs[0]), &tk); err != nil || tk.Symbol == "" || tk.Price <= 0 {
		t.Errorf("first message %s is not a Tick (%v)", rec.msgs[0], err)
	}
	if rec.attrs[0]["format"] != "tick" || rec.attrs[0]["source"] != "synthetic" {
		t.Errorf("attributes %v, want format tick and source synthetic", rec.attrs[0])
	}
}

func TestRunErrors(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Input: input(t, "/nonexistent/*.jsonl"), Format: "binance"}, `--input "/nonexistent/*.jsonl" matches no files`},
		{Options{Input: input(t, "synthetic:?symbols=A&paced=false")}, "--input: a synthetic feed at --speed=max needs count= or duration=, or it never ends"},
	} {
		_, err := Run(context.Background(), &recorder{}, c.o)
		if err == nil || err.Error() != c.want {
			t.Errorf("Run(%+v) = %v, want %q", c.o, err, c.want)
		}
	}
	for _, s := range []string{"0", "-1", "fast", "1e9"} {
		if _, err := ParseSpeed(s); err == nil {
			t.Errorf("ParseSpeed(%q) accepted", s)
		}
	}
	for s, want := range map[string]Speed{"max": 0, "1": 1, "10x": 10, "0.5": 0.5} {
		if got, err := ParseSpeed(s); err != nil || got != want {
			t.Errorf("ParseSpeed(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

// input parses uri as tickbeam feed does.
func input(t *testing.T, uri string) endpoint.Input {
	t.Helper()
	in, err := endpoint.ParseInput(uri)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
