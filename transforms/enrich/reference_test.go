package enrich

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func init() {
	register.Function1x1(describeDead)
	register.Function1x2(dedupe.DecodeBatch)
}

// describeDead is a dead letter without its wall-clock timestamp, as one
// line: stage | source | attributes | payload | error.
func describeDead(d tickbeam.DeadLetter) string {
	var attrs []string
	for _, a := range d.Attributes {
		attrs = append(attrs, a.Key+"="+a.Value)
	}
	if d.PayloadString != string(d.PayloadBytes) {
		return "PAYLOAD MISMATCH " + d.PayloadString
	}
	return strings.Join([]string{d.Stage, d.Source, strings.Join(attrs, ","), d.PayloadString, d.ErrorMessage}, " | ")
}

// deadWant is describeDead's line for a bad line of kind read from glob.
func deadWant(glob, kind, line, reason string) string {
	return fmt.Sprintf("parse | %s | file=%s,kind=%s | %s | enrich: %s line: %s", glob, glob, kind, line, kind, reason)
}

// testdata/references.csv: a header, 5 valid rows (two of them quoted, one
// with spaces around its fields) and 11 bad ones; testdata/references-kr.csv:
// a header with a byte-order mark in other letter case, 1 valid row and a
// header naming the columns in another order. 20 lines in all.
func TestParseReferenceCSV(t *testing.T) {
	const glob = "testdata/references*.csv"
	wantRefs := []Reference{
		{"AAPL", "2026-01-16", 200},
		{"AAPL", "2026-01-16", 200}, // "200.0", quoted: the reader keeps copies, PrevClose dedupes
		{"MSFT", "2026-01-16", 400},
		{"MSFT", "2026-01-16", 410}, // disagrees: PrevClose drops both
		{"BRK.B", "2026-01-16", 480.25},
		{"005930", "2026-01-16", 70000},
	}
	ref := func(line, reason string) string { return deadWant(glob, "reference", line, reason) }
	wantDead := []string{
		ref("AAPL,2026-1-6,190", `date: invalid date "2026-1-6" (want YYYY-MM-DD)`),
		ref("AAPL,2026-01-20,-190", "prev_close -190 is not a positive number"),
		ref("AAPL,2026-01-21,0", "prev_close 0 is not a positive number"),
		ref("AAPL,2026-01-22", "2 fields, want 3 (symbol,date,prev_close)"),
		ref("AAPL,2026-01-23,abc", `prev_close: "abc" is not a number`),
		ref(`"AAPL","2026-01-26","1,234.5"`, `prev_close: "1,234.5" is not a number`),
		ref("AAPL,2026-01-27,NaN", `prev_close: "NaN" is not a number`),
		ref(",2026-01-16,10", "empty symbol"),
		ref("AAPL,2026-01-16,200,extra", "4 fields, want 3 (symbol,date,prev_close)"),
		ref(`"AAPL,2026-01-28,200`, `csv: parse error on line 1, column 21: extraneous or missing " in quoted-field`),
		ref("AAPL,2026-02-30,100", `date: invalid date "2026-02-30" (want YYYY-MM-DD)`),
		ref("symbol,prev_close,date", `header "symbol,prev_close,date": want "symbol,date,prev_close"`),
	}
	const headers = 2

	p, s := beam.NewPipelineWithRoot()
	refs, dead := readReferenceCSV(s, glob)
	beamtest.Equals(s, refs, wantRefs)
	beamtest.Equals(s, beam.ParDo(s, describeDead, dead), wantDead)
	r := ptest.RunAndValidate(t, p)
	// Every line read is a row, a dead letter or a header: 20 = 6 + 12 + 2.
	if got, want := beamtest.Counter(t, r, "tickbeam/lines", "lines"), int64(len(wantRefs)+len(wantDead)+headers); got != want {
		t.Errorf("lines read = %d, want %d", got, want)
	}
}

func TestValidReference(t *testing.T) {
	for _, c := range []struct {
		in      Reference
		want    Reference
		wantErr string
	}{
		{in: Reference{" AAPL ", " 2026-01-16 ", 200.5}, want: Reference{"AAPL", "2026-01-16", 200.5}},
		{in: Reference{"", "2026-01-16", 1}, wantErr: "empty symbol"},
		{in: Reference{"AAPL", "16/01/2026", 1}, wantErr: `date: invalid date "16/01/2026"`},
		{in: Reference{"AAPL", "2026-01-16", 0}, wantErr: "prev_close 0 is not a positive number"},
		{in: Reference{"AAPL", "2026-01-16", -3}, wantErr: "prev_close -3 is not a positive number"},
	} {
		got, err := validReference(c.in)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("validReference(%+v): %v", c.in, err)
		case c.wantErr == "" && got != c.want:
			t.Errorf("validReference(%+v) = %+v, want %+v", c.in, got, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("validReference(%+v) error = %v, want one containing %q", c.in, err, c.wantErr)
		}
	}
}

func TestReferenceCoderRoundTrip(t *testing.T) {
	r := Reference{"005930", "2026-01-16", 70000.5}
	b, _ := encodeReference(r)
	got, err := decodeReference(b)
	if err != nil || got != r {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, r)
	}
	if _, err := decodeReference(b[:len(b)-1]); err == nil {
		t.Error("truncated Reference decoded")
	}
}

// Friday 2026-01-16, XNYS regular session 14:30Z-21:00Z, against the
// references read from testdata with Sources [REFERENCE] only.
func TestPrevCloseReferenceCSV(t *testing.T) {
	a1 := trade("AAPL", "1", utc(2026, 1, 16, 15, 0, 0), 210)
	a2 := trade("AAPL", "2", utc(2026, 1, 16, 16, 0, 0), 189.5)
	// A TradingView quote with its own previous close: FEED is not among
	// the sources, so the reference still decides.
	q := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: utc(2026, 1, 16, 16, 30, 0), Price: 211, PrevClose: 150, Source: "test"}
	m := trade("MSFT", "3", utc(2026, 1, 16, 15, 0, 0), 420)
	b := trade("BRK.B", "4", utc(2026, 1, 16, 15, 0, 0), 480.25)
	tue := trade("AAPL", "5", utc(2026, 1, 20, 15, 0, 0), 180)
	kr := trade("005930", "6", utc(2026, 1, 16, 0, 5, 0), 66150) // 09:05 KST

	qRow := row("AAPL", "", q.EventTime, "2026-01-16", 211, 200, "REFERENCE", 1, 11, 5.5, "POSITIVE")
	qRow.Kind = tickbeam.Quote
	want := []tickbeam.PriceChange{
		// 210 − 200 = 10: 1000 / 200 = exactly +5%, not above it.
		row("AAPL", "1", a1.EventTime, "2026-01-16", 210, 200, "REFERENCE", 1, 10, 5, "NEUTRAL"),
		// 189.5 − 200 = −10.5: −1050 / 200 = −5.25%.
		row("AAPL", "2", a2.EventTime, "2026-01-16", 189.5, 200, "REFERENCE", 1, -10.5, -5.25, "NEGATIVE"),
		// 211 − 200 = 11: +5.5% (against the feed's 150 it would be +40.67%).
		qRow,
		// 400 and 410 disagree: no reference, and no other source.
		none("MSFT", "3", m.EventTime, "2026-01-16", 420),
		// 480.25 − 480.25 = 0.
		row("BRK.B", "4", b.EventTime, "2026-01-16", 480.25, 480.25, "REFERENCE", 1, 0, 0, "NEUTRAL"),
		// Tuesday's row "-190" was a dead letter.
		none("AAPL", "5", tue.EventTime, "2026-01-20", 180),
		// 66150 − 70000 = −3850: −385000 / 70000 = −5.5%.
		row("005930", "6", kr.EventTime, "2026-01-16", 66150, 70000, "REFERENCE", 1, -3850, -5.5, "NEGATIVE"),
	}

	p, s := beam.NewPipelineWithRoot()
	refs, _ := readReferenceCSV(s, "testdata/references*.csv")
	got := PrevClose(s, beamtest.Ticks(s, a1, a2, q, m, b, tue, kr), Options{
		Sources:    []Source{SourceReference},
		References: refs,
		Calendars:  map[string]*calendar.Calendar{"005930": mustCal(t, "XKRX")},
	})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"from_reference": 5, "no_prev_close": 2, "reference_conflicts": 1,
		"bad_references": 0, "from_feed": 0, "from_last_close": 0})
}

// References built by hand (as beam.CreateList of CheckReferences' rows)
// under the default priority FEED, REFERENCE, LAST_CLOSE: invalid rows are
// counted and ignored, copies that agree are one reference and copies that
// disagree are none, so LAST_CLOSE answers.
func TestPrevCloseReferencePriority(t *testing.T) {
	a1 := trade("AAPL", "1", utc(2026, 1, 16, 15, 0, 0), 220.5)
	a1.PrevClose = 210
	a2 := trade("AAPL", "2", utc(2026, 1, 16, 16, 0, 0), 211)
	mThu := trade("MSFT", "3", utc(2026, 1, 15, 20, 59, 0), 405) // Thursday's last regular trade
	mFri := trade("MSFT", "4", utc(2026, 1, 16, 15, 0, 0), 384.75)
	ts := trade("TSLA", "5", utc(2026, 1, 16, 15, 0, 0), 250)
	want := []tickbeam.PriceChange{
		// The feed first: 220.5 − 210 = 10.5, 1050 / 210 = 5%.
		row("AAPL", "1", a1.EventTime, "2026-01-16", 220.5, 210, "FEED", 1, 10.5, 5, "NEUTRAL"),
		// No feed: the reference, 211 − 200 = 11, +5.5%.
		row("AAPL", "2", a2.EventTime, "2026-01-16", 211, 200, "REFERENCE", 1, 11, 5.5, "POSITIVE"),
		// Thursday: no reference, no Wednesday trade.
		none("MSFT", "3", mThu.EventTime, "2026-01-15", 405),
		// References in conflict: Thursday's close 405; 384.75 − 405 =
		// −20.25, −2025 / 405 = exactly −5%.
		row("MSFT", "4", mFri.EventTime, "2026-01-16", 384.75, 405, "LAST_CLOSE", 1, -20.25, -5, "NEUTRAL"),
		// TSLA's reference of 0 is invalid.
		none("TSLA", "5", ts.EventTime, "2026-01-16", 250),
	}

	p, s := beam.NewPipelineWithRoot()
	refs := beam.CreateList(s, []Reference{
		{" AAPL ", "2026-01-16", 200}, // normalised: the same as the next
		{"AAPL", "2026-01-16", 200},
		{"MSFT", "2026-01-16", 400},
		{"MSFT", "2026-01-16", 410},
		{"MSFT", "2026-01-16", 400},
		{"AAPL", "2026-1-16", 5}, // bad date
		{"TSLA", "2026-01-16", 0},
	})
	got := PrevClose(s, beamtest.Ticks(s, a1, a2, mThu, mFri, ts), Options{References: refs})
	beamtest.Equals(s, got, want)
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"from_feed": 1, "from_reference": 1, "from_last_close": 1, "no_prev_close": 2,
		"reference_conflicts": 1, "bad_references": 2})
}

// References given while REFERENCE is not among the sources are not read.
func TestPrevCloseReferenceNotListed(t *testing.T) {
	a := trade("AAPL", "1", utc(2026, 1, 16, 15, 0, 0), 210)
	p, s := beam.NewPipelineWithRoot()
	refs := beam.CreateList(s, []Reference{{"AAPL", "2026-01-16", 200}, {"AAPL", "2026-01-16", 201}, {"X", "bad", 1}})
	got := PrevClose(s, beamtest.Ticks(s, a), Options{Sources: []Source{SourceFeed}, References: refs})
	beamtest.Equals(s, got, []tickbeam.PriceChange{none("AAPL", "1", a.EventTime, "2026-01-16", 210)})
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"no_prev_close": 1, "from_reference": 0, "reference_conflicts": 0, "bad_references": 0})
}

// On a stream in 1-minute windows, the side inputs serve every window: MSFT's
// reference goes straight through, AAPL's Friday tick waits for Thursday's
// close and is split-adjusted.
func TestPrevCloseStreamingSideInputs(t *testing.T) {
	cfg := teststream.NewConfig()
	add := func(tk tickbeam.Tick) {
		if err := cfg.AddElements(tk.EventTime.UnixMilli(), tk); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(tm time.Time) {
		if err := cfg.AdvanceWatermark(tm.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	thu := trade("AAPL", "1", utc(2026, 1, 15, 20, 59, 0), 400)
	fri := trade("AAPL", "2", utc(2026, 1, 16, 15, 0, 0), 210)
	m := trade("MSFT", "3", utc(2026, 1, 16, 15, 0, 0), 420)
	advance(utc(2026, 1, 15, 12, 0, 0))
	add(thu)
	advance(utc(2026, 1, 16, 12, 0, 0))
	add(fri)
	add(m)
	if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}

	p, s := beam.NewPipelineWithRoot()
	in := beam.WindowInto(s, window.NewFixedWindows(time.Minute), teststream.Create(s, cfg))
	refs := beam.CreateList(s, []Reference{{"MSFT", "2026-01-16", 400}})
	splits := beam.CreateList(s, []Split{{"AAPL", "2026-01-16", 2}})
	got := PrevClose(s, in, Options{References: refs, Splits: splits})
	beamtest.Equals(s, got, []tickbeam.PriceChange{
		none("AAPL", "1", thu.EventTime, "2026-01-15", 400),
		// 400 / 2 = 200: 210 − 200 = 10, exactly 5%.
		row("AAPL", "2", fri.EventTime, "2026-01-16", 210, 200, "LAST_CLOSE", 2, 10, 5, "NEUTRAL"),
		// 420 − 400 = 20, exactly 5%.
		row("MSFT", "3", m.EventTime, "2026-01-16", 420, 400, "REFERENCE", 1, 20, 5, "NEUTRAL"),
	})
	r := ptest.RunAndValidate(t, p)
	wantCounters(t, r, map[string]int64{"from_reference": 1, "from_last_close": 1, "no_prev_close": 1})
}

// freshTable names a table in a dataset of its own, as io/bigqueryx's
// emulator tests do, so runs share nothing.
func freshTable(t *testing.T, name string) bigqueryx.Table {
	var b [4]byte
	rand.Read(b[:])
	ds := "t_" + regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_") + "_" + hex.EncodeToString(b[:])
	return bigqueryx.Table{Project: testenv.Project, Dataset: ds, Table: name}
}

// References from the real BigQuery emulator (testenv): a daily_closes
// table with a DATE and a NUMERIC column, read with the query of
// CheckReferences' documentation, then used by PrevClose.
func TestCheckReferencesEmulator(t *testing.T) {
	h, g := testenv.BigQuery(t)
	o := bigqueryx.Options{Endpoint: "http://" + h, StorageEndpoint: g, Project: testenv.Project}
	ctx := context.Background()
	tb := freshTable(t, "daily_closes")
	schema := bigquery.Schema{
		{Name: "symbol", Type: bigquery.StringFieldType, Required: true},
		{Name: "trade_date", Type: bigquery.DateFieldType, Required: true},
		{Name: "prev_close", Type: bigquery.NumericFieldType},
	}
	if err := bigqueryx.EnsureTable(ctx, tb, schema, bigqueryx.TableOptions{Options: o}); err != nil {
		t.Fatal(err)
	}
	if _, err := bigqueryx.Query(ctx, "INSERT INTO "+tb.SQL()+` (symbol, trade_date, prev_close) VALUES
		('AAPL', DATE '2026-01-16', NUMERIC '200.5'),
		('005930', DATE '2026-01-16', NUMERIC '70000'),
		('AAPL', DATE '2026-01-15', NUMERIC '198'),
		('MSFT', DATE '2026-01-20', NULL)`, o); err != nil {
		t.Fatal(err)
	}
	sql := "SELECT symbol, trade_date AS date, CAST(prev_close AS FLOAT64) AS prev_close FROM " + tb.SQL() +
		" WHERE trade_date = @day ORDER BY symbol"
	day := func(d string) bigquery.QueryParameter { // a DATE parameter
		return bigquery.QueryParameter{Name: "day", Value: &bigquery.QueryParameterValue{
			Type: bigquery.StandardSQLDataType{TypeKind: "DATE"}, Value: d}}
	}
	query := func(sql string, params ...bigquery.QueryParameter) ([]Reference, error) {
		rows, err := bigqueryx.QueryRows[Reference](ctx, sql, o, params...)
		if err != nil {
			return nil, err
		}
		return CheckReferences(rows)
	}
	got, err := query(sql, day("2026-01-16"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Reference{{"005930", "2026-01-16", 70000}, {"AAPL", "2026-01-16", 200.5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}

	// A NULL prev_close is not a reference: the call fails, naming the row.
	if _, err := query(sql, day("2026-01-20")); err == nil ||
		!strings.Contains(err.Error(), "reference row 0: prev_close 0 is not a positive number") {
		t.Errorf("references with a NULL prev_close: %v", err)
	}
	// Without the CAST a NUMERIC does not decode into a float.
	if _, err := query("SELECT symbol, trade_date AS date, prev_close FROM " + tb.SQL()); err == nil {
		t.Error("CheckReferences decoded a NUMERIC prev_close")
	}

	// As PrevClose's side input: 210 − 200.5 = 9.5, 950 / 200.5 = 4.738...%.
	a := trade("AAPL", "1", utc(2026, 1, 16, 15, 0, 0), 210)
	p, s := beam.NewPipelineWithRoot()
	rows := PrevClose(s, beamtest.Ticks(s, a), Options{Sources: []Source{SourceReference}, References: beam.CreateList(s, got)})
	beamtest.Equals(s, rows, []tickbeam.PriceChange{
		row("AAPL", "1", a.EventTime, "2026-01-16", 210, 200.5, "REFERENCE", 1, 9.5, 950/200.5, "NEUTRAL"),
	})
	ptest.RunAndValidate(t, p)
}

// readReferenceCSV reads reference files as monitor does: io/lines, then
// ParseReferenceCSV, oversized lines joining the dead letters.
func readReferenceCSV(s beam.Scope, glob string) (refs, dead beam.PCollection) {
	text, oversized := lines.Read(s, glob)
	refs, bad := ParseReferenceCSV(s, text, glob)
	return refs, beam.Flatten(s, bad, oversized)
}
