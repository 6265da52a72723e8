package bigqueryx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/internal/testenv"
)

// These tests run against the real BigQuery emulator (testenv). It mis-scales
// the sub-second part of TIMESTAMPs appended through the Storage Write API
// (base + 123456µs comes back as base + 123.456s), so rows written by Write
// here carry whole-second times only, and the dead letters' timestamps (the
// wall clock) are not compared.

// emulator starts the emulator and returns options pointing at it.
func emulator(t *testing.T) Options {
	t.Helper()
	h, g := testenv.BigQuery(t)
	return Options{Endpoint: "http://" + h, StorageEndpoint: g, Project: testenv.Project}
}

// freshTable names a table in a dataset of its own, so tests share nothing.
func freshTable(t *testing.T, name string) Table {
	var b [4]byte
	rand.Read(b[:])
	ds := "t_" + regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_") + "_" + hex.EncodeToString(b[:])
	return Table{Project: testenv.Project, Dataset: ds, Table: name}
}

func bqClient(t *testing.T, o Options) *bigquery.Client {
	t.Helper()
	c, err := newClient(context.Background(), o.Project, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var barSchema = func() bigquery.Schema { s, _ := SchemaOf(tickbeam.Bar{}); return s }()

func TestEnsureTableEmulator(t *testing.T) {
	o := emulator(t)
	ctx := context.Background()
	tb := freshTable(t, "bars")
	for range 2 { // the second call finds everything in place
		if err := EnsureTable(ctx, tb, barSchema, TableOptions{Options: o}); err != nil {
			t.Fatal(err)
		}
	}
	c := bqClient(t, o)
	for _, want := range []struct {
		table     Table
		schema    bigquery.Schema
		partition string
		cluster   []string
	}{
		{tb, barSchema, "window_start", []string{"symbol"}},
		{tb.ErrorTable(), DeadLetterSchema(), "timestamp", nil},
	} {
		md, err := c.DatasetInProject(want.table.Project, want.table.Dataset).Table(want.table.Table).Metadata(ctx)
		if err != nil {
			t.Fatalf("%s: %v", want.table, err)
		}
		if err := compatible(want.schema, md.Schema, ""); err != nil {
			t.Errorf("%s schema: %v", want.table, err)
		}
		if len(md.Schema) != len(want.schema) {
			t.Errorf("%s has %d columns, want %d", want.table, len(md.Schema), len(want.schema))
		}
		if p := md.TimePartitioning; p == nil || p.Field != want.partition || (p.Type != "" && p.Type != bigquery.DayPartitioningType) {
			t.Errorf("%s partitioning = %+v, want DAY on %s", want.table, p, want.partition)
		}
		var cluster []string
		if md.Clustering != nil {
			cluster = md.Clustering.Fields
		}
		if !cmp.Equal(cluster, want.cluster, cmpopts.EquateEmpty()) {
			t.Errorf("%s clustering = %q, want %q", want.table, cluster, want.cluster)
		}
	}

	missing := freshTable(t, "missing")
	if err := EnsureTable(ctx, missing, barSchema, TableOptions{Options: o, Create: CreateNever}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("CreateNever on a missing table: %v", err)
	}
	tickSchema, _ := SchemaOf(tickbeam.Tick{})
	if err := EnsureTable(ctx, tb, tickSchema, TableOptions{Options: o}); err == nil || !strings.Contains(err.Error(), "exists with another schema") {
		t.Errorf("EnsureTable with the Tick schema over the bars table: %v", err)
	}
}

var w0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

// Hand-computed bars. AAPL 14:30: trades 100 x 10 BUY, 101 x 5 SELL,
// 99.5 x 5 BUY: notional 1000 + 505 + 497.5 = 2002.5 over volume 20, VWAP
// 100.125. AAPL 14:31: one trade 99 x 2 of unknown side. MSFT 14:30: 410.5 x
// 4 SELL then 411 x 6 BUY: notional 1642 + 2466 = 4108 over 10, VWAP 410.8.
func knownBars() []tickbeam.Bar {
	return []tickbeam.Bar{
		{Symbol: "AAPL", Resolution: "1m", WindowStart: w0, WindowEnd: w0.Add(time.Minute), Open: 100, High: 101, Low: 99.5, Close: 99.5,
			Volume: 20, Notional: 2002.5, VWAP: 100.125, Trades: 3, BuyVolume: 15, SellVolume: 5, Timing: tickbeam.OnTime},
		{Symbol: "AAPL", Resolution: "1m", WindowStart: w0.Add(time.Minute), WindowEnd: w0.Add(2 * time.Minute), Open: 99, High: 99, Low: 99, Close: 99,
			Volume: 2, Notional: 198, VWAP: 99, Trades: 1, Timing: tickbeam.OnTime},
		{Symbol: "MSFT", Resolution: "1m", WindowStart: w0, WindowEnd: w0.Add(time.Minute), Open: 410.5, High: 411, Low: 410.5, Close: 411,
			Volume: 10, Notional: 4108, VWAP: 410.8, Trades: 2, BuyVolume: 6, SellVolume: 4, Timing: tickbeam.OnTime},
	}
}

// runWrite writes rows to tb in a pipeline of its own.
func runWrite(t *testing.T, tb Table, rows []tickbeam.Bar, opts WriteOptions, wantDead int) beam.PipelineResult {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	passert.Count(s, Write(s, tb.String(), beam.CreateList(s, rows), opts), "dead letters", wantDead)
	r, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatalf("pipeline writing %s: %v", tb, err)
	}
	return r
}

func TestWriteEmulator(t *testing.T) {
	o := emulator(t)
	ctx := context.Background()
	tb := freshTable(t, "bars")
	// Another table with an open default stream first: the emulator routes
	// a request that names no stream to any of its streams, so rows could
	// land there (see appender.oneShot).
	decoy := tb
	decoy.Table = "decoy"
	runWrite(t, decoy, knownBars()[:1], WriteOptions{TableOptions: TableOptions{Options: o}}, 0)

	want := knownBars()
	for i := range 9 { // more rows, so that many requests follow each other
		b := want[2]
		b.Symbol = fmt.Sprintf("SYM%d", i)
		want = append(want, b)
	}
	// Batches of 2 rows over 2 shards: several appends per worker.
	r := runWrite(t, tb, want, WriteOptions{TableOptions: TableOptions{Options: o}, Shards: 2, MaxBatchRows: 2}, 0)
	got, err := QueryRows[tickbeam.Bar](ctx, "SELECT * FROM "+tb.SQL()+" ORDER BY symbol, window_start", o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows in BigQuery (-want +got):\n%s", diff)
	}
	for name, want := range map[string]int64{"rows_written": int64(len(want)), "rows_failed": 0, "retries": 0} {
		if got := beamtest.Counter(t, r, counterNamespace, name); got != want {
			t.Errorf("counter %s = %d, want %d", name, got, want)
		}
	}
	if n := beamtest.Counter(t, r, counterNamespace, "appends"); n < int64(len(want)/2) {
		t.Errorf("appends = %d, want >= %d (batches of at most 2 rows)", n, len(want)/2)
	}
	decoyRows, err := ReadRows[tickbeam.Bar](ctx, decoy, o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(knownBars()[:1], decoyRows); diff != "" {
		t.Errorf("rows in %s (-want +got):\n%s", decoy, diff)
	}
}

// The emulator refuses a row that leaves a REQUIRED column NULL: a Bar whose
// WindowStart is unset. Such a row and one that cannot even be converted
// (invalid UTF-8) land in the error table; the other rows of their batch land
// in the table.
func TestWriteRejectedRowEmulator(t *testing.T) {
	o := emulator(t)
	ctx := context.Background()
	tb := freshTable(t, "bars")
	good := knownBars()
	noStart := tickbeam.Bar{Symbol: "NOSTART", Resolution: "1m", WindowEnd: w0.Add(time.Minute), Open: 1, High: 1, Low: 1, Close: 1, Volume: 1, Notional: 1, VWAP: 1, Trades: 1}
	badUTF8 := tickbeam.Bar{Symbol: "BAD\xff", Resolution: "1m", WindowStart: w0, WindowEnd: w0.Add(time.Minute)}
	rows := []tickbeam.Bar{good[0], noStart, good[1], badUTF8, good[2]}

	p, s := beam.NewPipelineWithRoot()
	// One shard and one batch: the bad rows share a request with the good.
	dead := Write(s, tb.String(), beam.CreateList(s, rows), WriteOptions{TableOptions: TableOptions{Options: o}, Shards: 1,
		InitialBackoff: 10 * time.Millisecond})
	passert.Count(s, dead, "dead letters", 2)
	start := time.Now()
	r, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pipeline took %v", time.Since(start))

	got, err := QueryRows[tickbeam.Bar](ctx, "SELECT * FROM "+tb.SQL()+" ORDER BY symbol, window_start", o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(good, got); diff != "" {
		t.Errorf("rows in BigQuery (-want +got):\n%s", diff)
	}

	dls, err := ReadRows[tickbeam.DeadLetter](ctx, tb.ErrorTable(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Fatalf("error table holds %d rows, want 2: %+v", len(dls), dls)
	}
	bySymbol := map[string]tickbeam.DeadLetter{}
	for _, d := range dls {
		var b tickbeam.Bar
		if err := json.Unmarshal([]byte(d.PayloadString), &b); err != nil {
			t.Fatalf("payload %q: %v", d.PayloadString, err)
		}
		if string(d.PayloadBytes) != d.PayloadString {
			t.Errorf("payload_bytes %q differs from payload_string %q", d.PayloadBytes, d.PayloadString)
		}
		if d.Stage != StageSink || d.Timestamp.IsZero() {
			t.Errorf("dead letter stage %q timestamp %v", d.Stage, d.Timestamp)
		}
		if diff := cmp.Diff([]tickbeam.Attribute{{Key: "table", Value: tb.String()}}, d.Attributes); diff != "" {
			t.Errorf("attributes (-want +got):\n%s", diff)
		}
		t.Logf("dead letter for %q: %s", b.Symbol, d.ErrorMessage)
		bySymbol[b.Symbol] = d
	}
	if d, ok := bySymbol["NOSTART"]; !ok || d.ErrorMessage == "" {
		t.Errorf("no dead letter with BigQuery's reason for the bar without window_start: %+v", bySymbol)
	}
	if d, ok := bySymbol["BAD\ufffd"]; !ok || !strings.Contains(d.ErrorMessage, "not valid UTF-8") {
		t.Errorf("no dead letter for the bar with invalid UTF-8: %+v", bySymbol)
	}
	for name, want := range map[string]int64{"rows_written": 3, "rows_failed": 2, "error_rows_lost": 0} {
		if got := beamtest.Counter(t, r, counterNamespace, name); got != want {
			t.Errorf("counter %s = %d, want %d", name, got, want)
		}
	}
	t.Logf("appends %d, retries %d", beamtest.Counter(t, r, counterNamespace, "appends"), beamtest.Counter(t, r, counterNamespace, "retries"))
}

// Panes of one window written one after another, and a pane appended twice
// (as a retried bundle does), come back as one row per window.
func TestFinalBarsEmulator(t *testing.T) {
	o := emulator(t)
	ctx := context.Background()
	tb := freshTable(t, "bars")
	final := knownBars()
	early := final[0]
	early.High, early.Low, early.Close, early.Volume, early.Notional, early.VWAP = 101, 100, 101, 15, 1505, 1505.0/15
	early.Trades, early.BuyVolume, early.SellVolume, early.Timing, early.PaneIndex = 2, 10, 5, tickbeam.Early, 0
	onTime := final[0]
	onTime.PaneIndex = 1
	final[0] = onTime
	rows := append([]tickbeam.Bar{early, onTime, onTime}, final[1:]...)

	p, s := beam.NewPipelineWithRoot()
	passert.Empty(s, Write(s, tb.String(), beam.CreateList(s, rows), WriteOptions{TableOptions: TableOptions{Options: o}}))
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	all, err := Query(ctx, "SELECT COUNT(*) AS n FROM "+tb.SQL(), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := all[0]["n"]; n != int64(len(rows)) {
		t.Fatalf("table holds %v rows, want %d", n, len(rows))
	}

	q, err := FinalBarsSQL(tb)
	if err != nil {
		t.Fatal(err)
	}
	got, err := QueryRows[tickbeam.Bar](ctx, q+" ORDER BY symbol, window_start", o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(final, got); diff != "" {
		t.Errorf("FinalBarsSQL (-want +got):\n%s", diff)
	}

	view := tb
	view.Table = "bars_final"
	if err := EnsureFinalBarsView(ctx, tb, view, o); err != nil {
		t.Fatal(err)
	}
	if err := EnsureFinalBarsView(ctx, tb, view, o); err != nil {
		t.Fatalf("second EnsureFinalBarsView: %v", err)
	}
	got, err = QueryRows[tickbeam.Bar](ctx, "SELECT * FROM "+view.SQL()+" ORDER BY symbol, window_start", o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(final, got); diff != "" {
		t.Errorf("view %s (-want +got):\n%s", view, diff)
	}
}
