package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// summaryCounts reads the counters of monitor's summary.
func summaryCounts(t *testing.T, stdout string) map[string]int64 {
	t.Helper()
	c := map[string]int64{}
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || !strings.HasPrefix(line, "  ") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		c[f[0]] = n
	}
	return c
}

// hostileOutcomes counts, per format, the dead letters and ticks that
// transforms/parse/testdata/hostile.golden says the hostile messages give.
func hostileOutcomes(t *testing.T) map[string]map[string]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "transforms", "parse", "testdata", "hostile.golden"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		format, rest, _ := strings.Cut(line, "/")
		_, outcome, _ := strings.Cut(rest, ": ")
		kind, _, _ := strings.Cut(outcome, " ")
		if out[format] == nil {
			out[format] = map[string]int{}
		}
		out[format][strings.TrimSuffix(kind, ":")]++
	}
	return out
}

// TestMonitorHostileFiles runs tickbeam monitor on a file of every format's
// hostile messages (beamtest.HostileMessages, plain and gzipped): the run
// exits 0, every line is accounted for (lines = blank + dead letters +
// ticks kept + duplicates dropped; the bars hold the trades kept), the dead
// letters are the ones the parse tests list (a 10 MB line is cut at read)
// with one-line errors.
func TestMonitorHostileFiles(t *testing.T) {
	want := hostileOutcomes(t)
	type file struct {
		format string
		gz     bool
	}
	var files []file
	for _, f := range feedformat.Formats() {
		files = append(files, file{f, false})
	}
	// gzip is read before any format: one format is enough.
	files = append(files, file{"binance", true})
	for _, fl := range files {
		format, gz := fl.format, fl.gz
		name := format
		if gz {
			name += ".gz"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var in bytes.Buffer
			msgs := beamtest.HostileMessages(format)
			for _, h := range msgs {
				in.Write(h.Payload)
				in.WriteByte('\n')
			}
			path := filepath.Join(dir, "in.jsonl")
			data := in.Bytes()
			if gz {
				path += ".gz"
				var z bytes.Buffer
				w := gzip.NewWriter(&z)
				w.Write(data)
				w.Close()
				data = z.Bytes()
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			raw := filepath.Join(dir, "raw")
			args := []string{"monitor", "--input=" + path, "--format=" + format, "--bar=1m", "--bars_out=" + out, "--raw_out=" + raw}
			switch format {
			case "json":
				var kv []string
				for k, v := range beamtest.HostileJSONFields {
					kv = append(kv, k+"="+v)
				}
				args = append(args, "--json_fields="+strings.Join(kv, ","))
			case "csv":
				args = append(args, "--csv_columns="+strings.Join(beamtest.HostileCSVColumns, ","))
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
			}
			c := summaryCounts(t, stdout.String())
			bars := readRows[tickbeam.Bar](t, out, "bars-")
			dead := readRows[tickbeam.DeadLetter](t, out, "deadletters-")
			// The raw archive holds the ticks dedupe let through.
			ticks := readRows[tickbeam.Tick](t, filepath.Join(raw, "dt=*", "hour=*"), "ticks-")
			var barTrades, trades int64
			for _, b := range bars {
				barTrades += b.Trades
			}
			for _, tk := range ticks {
				if tk.Kind == tickbeam.Trade {
					trades++
				}
			}
			if barTrades != trades {
				t.Errorf("bars hold %d trades, the raw archive %d", barTrades, trades)
			}
			stages := map[string]int{}
			for _, d := range dead {
				stages[d.Stage]++
				if d.ErrorMessage == "" || strings.ContainsAny(d.ErrorMessage, "\r\n") || len(d.ErrorMessage) > 600 {
					t.Errorf("dead letter error is not one bounded line: %.300q", d.ErrorMessage)
				}
				if len(d.PayloadBytes) > parse.DefaultMaxPayloadBytes {
					t.Errorf("dead letter keeps %d payload bytes", len(d.PayloadBytes))
				}
			}
			// Conservation: every line read is blank, a dead letter, a
			// control message, a tick kept or a duplicate dropped (each
			// message here holds at most one tick).
			lines := int64(len(msgs))
			accounted := c["lines.blank"] + int64(len(dead)) + c["parse.control"] + int64(len(ticks)) + c["dedupe.duplicates"]
			if c["lines.lines"] != lines || accounted != lines {
				t.Errorf("lines read %d of %d; blank %d + dead letters %d + control %d + ticks kept %d + duplicates %d = %d\n%s",
					c["lines.lines"], lines, c["lines.blank"], len(dead), c["parse.control"], len(ticks), c["dedupe.duplicates"], accounted, stdout.String())
			}
			// The two 10 MB messages are cut at read; the rest are the
			// parse tests' outcomes.
			w := want[format]
			wantStages := map[string]int{"read": 2, "parse": w["parse"] - 2, "validate": w["validate"]}
			if diff := cmp.Diff(wantStages, stages); diff != "" {
				t.Errorf("dead letters by stage (-want +got):\n%s", diff)
			}
			if got := int64(len(ticks)) + c["dedupe.duplicates"]; got != int64(w["tick"]) {
				t.Errorf("ticks kept %d + duplicates %d, want the %d messages that parse to a tick", len(ticks), c["dedupe.duplicates"], w["tick"])
			}
			t.Logf("%d lines: %d blank, dead letters %v, %d ticks kept (%d trades in bars), %d duplicates",
				lines, c["lines.blank"], stages, len(ticks), barTrades, c["dedupe.duplicates"])
			if c["lines.blank"] != int64(w["blank"]) {
				t.Errorf("blank lines %d, want %d", c["lines.blank"], w["blank"])
			}
		})
	}
}

// TestMonitorHostileFileSets runs tickbeam monitor on inputs that hold no
// data or cannot be read: empty input succeeds with nothing counted; a
// broken gzip, a glob matching nothing and a directory fail with exit 1 and
// a last stderr line naming the cause.
func TestMonitorHostileFileSets(t *testing.T) {
	dir := t.TempDir()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	for _, h := range beamtest.HostileMessages("binance")[:1] {
		fmt.Fprintf(w, "%s\n", h.Payload)
	}
	w.Close()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notGzip := bytes.Repeat([]byte("not gzip "), 40)
	corrupt := bytes.Clone(z.Bytes())
	corrupt[len(corrupt)/2] ^= 0xff // a flipped byte mid-stream
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, input string
		code        int
		// stderr's last line; "" for none
		last string
	}{
		{"empty file", write("empty.jsonl", nil), 0, ""},
		{"empty gzip file", write("empty.jsonl.gz", nil), 0, ""},
		{"blank lines only", write("blank.jsonl", []byte("\n \n\t\r\n")), 0, ""},
		{"truncated gzip", write("trunc.jsonl.gz", z.Bytes()[:z.Len()/2]), 1, "tickbeam monitor: run on prism: lines.Read: %s at 0: unexpected EOF"},
		{"not gzip", write("plain.jsonl.gz", notGzip), 1, "tickbeam monitor: run on prism: lines.Read: %s: gzip: invalid header"},
		{"corrupt gzip", write("corrupt.jsonl.gz", corrupt), 1, "tickbeam monitor: run on prism: lines.Read: %s at "},
		{"glob matching nothing", filepath.Join(dir, "nothing-*.jsonl"), 1, `tickbeam monitor: run on prism: lines.Read: no files match "%s"`},
		{"a directory", filepath.Join(dir, "sub"), 1, `tickbeam monitor: run on prism: lines.Read: no files match "%s" (only directories)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"monitor", "--input=" + c.input, "--format=binance", "--bars_out=" + filepath.Join(dir, "out")}, &stdout, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			want := c.last
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, c.input)
			}
			if code != c.code || !strings.HasPrefix(last, want) || (want == "") != (last == "") {
				t.Errorf("exit %d, stderr's last line %q; want exit %d and %q", code, last, c.code, want)
			}
			if code == 0 {
				counts := summaryCounts(t, stdout.String())
				if counts["parse.messages"] != 0 || counts["parse.ticks"] != 0 {
					t.Errorf("counts %v, want no message", counts)
				}
			}
		})
	}
}
