package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
)

// readRows decodes every JSONL row of the files in dir whose names start
// with prefix.
func readRows[T any](t *testing.T, dir, prefix string) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, prefix+"*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []T
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, len(data)+1) // a dead letter may hold a 1 MiB payload
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, r)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return rows
}

func TestMonitorFileBarsByValue(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"monitor", "--input=testdata/binance-small.jsonl", "--format=binance",
		"--bar=1m", "--bars_out=" + out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	base := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	bar := func(sym string, minute int, o, h, l, c, vol, notional float64, trades int64, buy, sell float64) tickbeam.Bar {
		start := base.Add(time.Duration(minute) * time.Minute)
		return tickbeam.Bar{Symbol: sym, Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
			Open: o, High: h, Low: l, Close: c, Volume: vol, Notional: notional, VWAP: notional / vol, Trades: trades,
			BuyVolume: buy, SellVolume: sell, Timing: tickbeam.OnTime}
	}
	// By hand: BTCUSDT 00:00 holds trades 1, 2 (once: line 3 redelivers it) and
	// 3: 100 x 1.5 BUY, 101 x 0.5 SELL, 99.5 x 2 BUY. Volume 4, notional
	// 150 + 50.5 + 199 = 399.5, VWAP 99.875. Trade 4 has price "abc" and the
	// ETHUSDT trade 11 a negative price: both are dead letters.
	want := []tickbeam.Bar{
		bar("BTCUSDT", 0, 100, 101, 99.5, 99.5, 4, 399.5, 3, 3.5, 0.5),
		bar("BTCUSDT", 1, 102, 102, 102, 102, 1, 102, 1, 0, 1),
		bar("ETHUSDT", 0, 3000.25, 3000.25, 3000.25, 3000.25, 2, 6000.5, 1, 2, 0),
	}
	if want[0].VWAP != 99.875 {
		t.Fatalf("hand VWAP %v", want[0].VWAP)
	}
	got := readRows[tickbeam.Bar](t, out, "bars-")
	sort.Slice(got, func(i, j int) bool {
		if got[i].Symbol != got[j].Symbol {
			return got[i].Symbol < got[j].Symbol
		}
		return got[i].WindowStart.Before(got[j].WindowStart)
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bars (-want +got):\n%s", diff)
	}

	dead := readRows[tickbeam.DeadLetter](t, out, "deadletters-")
	var msgs []string
	for _, d := range dead {
		msgs = append(msgs, d.Stage+": "+d.ErrorMessage)
		if d.Source != "binance" || len(d.PayloadBytes) == 0 || d.PayloadString == "" {
			t.Errorf("dead letter lacks source or payload: %+v", d)
		}
	}
	sort.Strings(msgs)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0], "parse: ") || !strings.Contains(msgs[0], `"p"`) ||
		!strings.HasPrefix(msgs[1], "validate: ETHUSDT: trade price -1") {
		t.Errorf("dead letters = %q, want a parse error on field p and a validate error on the negative price", msgs)
	}

	// Every line is accounted for: 9 non-blank messages = 6 ticks + 1 control
	// + 2 dead letters; 1 of the ticks is a redelivery.
	for _, c := range []string{"parse.messages  *9\n", "parse.ticks  *6\n", "parse.control  *1\n", "parse.dead_letters  *2\n", "dedupe.duplicates  *1\n"} {
		if !matches(stdout.String(), c) {
			t.Errorf("summary lacks %q:\n%s", c, stdout.String())
		}
	}
}

func matches(s, pattern string) bool {
	name, val, _ := strings.Cut(pattern, "  *")
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name && f[1]+"\n" == val {
			return true
		}
	}
	return false
}

func TestMonitorBadFlags(t *testing.T) {
	out := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"monitor", "--format=binance", "--bars_out=" + out}, "tickbeam monitor: --input is required: a file path or glob, or synthetic:?symbols=...\n"},
		{[]string{"monitor", "--input=x.jsonl", "--format=nasdaq", "--bars_out=" + out}, "tickbeam monitor: --format: parse: unknown format \"nasdaq\""},
		{[]string{"monitor", "--input=x.jsonl", "--format=binance", "--bar=7m", "--bars_out=" + out}, "tickbeam monitor: --bar: bar resolution \"7m\": must divide a day evenly so bars align to midnight UTC\n"},
		{[]string{"monitor", "--input=x.jsonl", "--format=binance"}, "tickbeam monitor: --bars_out is required: a local directory, gs:// prefix, bq:P.D.T or pubsub:projects/P/topics/T\n"},
		{[]string{"monitor", "--nope=1"}, "tickbeam monitor: flag provided but not defined: -nope\n"},
		{[]string{"monitor", "--input=synthetic:?symbols=A&rate=-1", "--bars_out=" + out}, "tickbeam monitor: --input: "},
		{[]string{"monitor", "--input=x.jsonl", "--format=binance", "--bars_out=" + out, "--alerts_out=pubsub:projects/p/topics/alerts"},
			"tickbeam monitor: --rules and --alerts_out go together\n"},
		{[]string{"frobnicate"}, "tickbeam: unknown command \"frobnicate\" (want monitor, daily, feed, ddl, rules or version)\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, &stdout, &stderr)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.HasPrefix(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: stderr = %q, want one line starting %q", c.args, stderr.String(), c.want)
		}
	}
}

func TestMonitorDataflowDryRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"monitor", "--input=gs://tickbeam-test/in/*.jsonl", "--format=binance",
		"--bar=1m,5m", "--bars_out=gs://tickbeam-test/bars", "--runner=dataflow", "--dry_run",
		"--project=tickbeam-test", "--region=us-central1", "--staging_location=gs://tickbeam-test/staging"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("dry run exit %d, stderr:\n%s", code, stderr.String())
	}
	var stdout2, stderr2 bytes.Buffer
	if code := run(context.Background(), []string{"monitor", "--input=x.jsonl", "--format=binance", "--bars_out=gs://b/bars", "--deadletter_out=/tmp/dead",
		"--runner=dataflow", "--dry_run"}, &stdout2, &stderr2); code != 2 || !strings.Contains(stderr2.String(), "use gs://") {
		t.Errorf("local --bars_out on dataflow: exit %d, stderr %q; want 2 and a hint to use gs://", code, stderr2.String())
	}
}

func TestWithDefaultArgs(t *testing.T) {
	for _, c := range []struct {
		args     []string
		defaults string
		want     []string
	}{
		{[]string{"--input=x"}, "monitor --runner=dataflow", []string{"monitor", "--runner=dataflow", "--input=x"}},
		{[]string{"monitor", "--input=x"}, "monitor --runner=dataflow", []string{"monitor", "--input=x"}},
		{[]string{"--input=x"}, "", []string{"--input=x"}},
		{nil, "monitor", []string{"monitor"}},
	} {
		if diff := cmp.Diff(c.want, withDefaultArgs(c.args, c.defaults)); diff != "" {
			t.Errorf("withDefaultArgs(%q, %q) (-want +got):\n%s", c.args, c.defaults, diff)
		}
	}
}

// The raw archive replays into the same bars: the archive holds Tick JSON,
// which --format=tick reads back with each tick's source, so dedupe and bars
// see the same trades.
func TestRawArchiveReplaysIdenticalBars(t *testing.T) {
	first, raw, replay := t.TempDir(), t.TempDir(), t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"monitor", "--input=testdata/binance-small.jsonl", "--format=binance",
		"--bar=1m,5m", "--bars_out=" + first, "--raw_out=" + raw}, &out, &errb); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errb.String())
	}
	files, _ := filepath.Glob(filepath.Join(raw, "dt=2026-01-15", "hour=00", "ticks-*.jsonl"))
	if len(files) == 0 {
		t.Fatalf("no raw archive files under %s/dt=2026-01-15/hour=00", raw)
	}
	if code := run(context.Background(), []string{"monitor", "--input=" + filepath.Join(raw, "dt=*", "hour=*", "*.jsonl"), "--format=tick",
		"--bar=1m,5m", "--bars_out=" + replay}, &out, &errb); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errb.String())
	}
	for _, prefix := range []string{"bars-1m-", "bars-5m-"} {
		a, b := readRows[tickbeam.Bar](t, first, prefix), readRows[tickbeam.Bar](t, replay, prefix)
		byKey := func(x, y tickbeam.Bar) bool { return x.Symbol+x.WindowStart.String() < y.Symbol+y.WindowStart.String() }
		if len(a) == 0 {
			t.Fatalf("no %s bars", prefix)
		}
		if diff := cmp.Diff(a, b, cmpopts.SortSlices(byKey)); diff != "" {
			t.Errorf("%s bars after replay (-first +replay):\n%s", prefix, diff)
		}
	}
}

func TestDDL(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"ddl", "--lake=gs://lake/raw", "--table=tickbeam-demo.market.ticks_lake"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"CREATE OR REPLACE EXTERNAL TABLE `tickbeam-demo.market.ticks_lake`", "`event_time` TIMESTAMP", "hive_partition_uri_prefix = 'gs://lake/raw'",
		"dt DATE", "format = 'NEWLINE_DELIMITED_JSON'"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("DDL lacks %q:\n%s", want, out.String())
		}
	}
	errb.Reset()
	if code := run(context.Background(), []string{"ddl", "--lake=gs://lake/raw", "--table=tickbeam-demo.market.x;DROP"}, &out, &errb); code != 2 {
		t.Errorf("bad table name: exit %d (%s), want 2", code, errb.String())
	}
}
