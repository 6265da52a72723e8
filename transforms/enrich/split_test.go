package enrich

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func TestParseRatio(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    float64
		wantErr string
	}{
		{in: "2", want: 2},
		{in: "1.5", want: 1.5},
		{in: "0.1", want: 0.1},
		{in: "2:1", want: 2},
		{in: "3:2", want: 1.5},
		{in: "3/2", want: 1.5},
		{in: " 3 : 2 ", want: 1.5},
		{in: "1:10", want: 0.1}, // a 1-for-10 reverse split
		{in: "1/10", want: 0.1},
		{in: "", wantErr: `ratio "" is not a positive number`},
		{in: "0", wantErr: `ratio "0" is not a positive number`},
		{in: "-2", wantErr: `ratio "-2" is not a positive number`},
		{in: "abc", wantErr: `ratio "abc" is not a positive number`},
		{in: "NaN", wantErr: `ratio "NaN" is not a positive number`},
		{in: "Inf", wantErr: `ratio "Inf" is not a positive number`},
		{in: "1e400", wantErr: `ratio "1e400" is not a positive number`},
		{in: "2:0", wantErr: `ratio "2:0": want new:old with positive numbers`},
		{in: "1/0", wantErr: `ratio "1/0": want new:old with positive numbers`},
		{in: "0:1", wantErr: `ratio "0:1": want new:old with positive numbers`},
		{in: "-1:2", wantErr: `ratio "-1:2": want new:old with positive numbers`},
		{in: ":2", wantErr: `ratio ":2": want new:old with positive numbers`},
		{in: "2:", wantErr: `ratio "2:": want new:old with positive numbers`},
		{in: "1:2:3", wantErr: `ratio "1:2:3": want new:old with positive numbers`},
		{in: "a:b", wantErr: `ratio "a:b": want new:old with positive numbers`},
	} {
		got, err := ParseRatio(c.in)
		switch {
		case c.wantErr == "" && (err != nil || got != c.want):
			t.Errorf("ParseRatio(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.wantErr != "" && (err == nil || err.Error() != c.wantErr):
			t.Errorf("ParseRatio(%q) = %v, %v; want error %q", c.in, got, err, c.wantErr)
		}
	}
}

func TestSplitFactor(t *testing.T) {
	d := func(s string) calendar.Date {
		v, err := calendar.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	x := indexSplits(iterate([]Split{{"AAPL", "2026-01-20", 2}, {"AAPL", "2026-01-16", 3}, {"AAPL", "2026-01-22", 0.5},
		{"MSFT", "2026-01-16", 4}, {"MSFT", "2026-01-16", 4}, // copies agree: one split
		{"GE", "2026-01-16", 2}, {"GE", "2026-01-16", 3}, {"GE", "2026-01-16", 2}, // disagree: none
	}))
	if got := x.factor("MSFT", d("2026-01-15"), d("2026-01-16")); got != 4 {
		t.Errorf("MSFT factor %v, want 4 (agreeing copies count once)", got)
	}
	if got := x.factor("GE", d("2026-01-15"), d("2026-01-16")); got != 1 {
		t.Errorf("GE factor %v, want 1 (disagreeing ratios ignored)", got)
	}
	for _, c := range []struct {
		from, to string
		want     float64
	}{
		{"2026-01-15", "2026-01-16", 3},   // ex-date is the tick's day
		{"2026-01-16", "2026-01-20", 2},   // a split on the close's own day is in that close already
		{"2026-01-15", "2026-01-20", 6},   // 3 × 2
		{"2026-01-15", "2026-01-22", 3},   // 3 × 2 × 0.5
		{"2026-01-20", "2026-01-21", 1},   // none between
		{"2026-01-13", "2026-01-15", 1},   // all after
		{"2026-01-19", "2026-01-20", 2},   // a holiday as the close's day
		{"2026-01-15", "2026-01-15", 1},   // same day
		{"2026-01-17", "2026-01-21", 2},   // weekend to Wednesday
		{"2026-01-16", "2026-01-16", 1},   // empty interval on an ex-date
		{"2026-01-21", "2026-01-22", 0.5}, // a 1-for-2 reverse split
		{"2026-01-19", "2026-01-22", 1},   // 2 × 0.5
	} {
		if got := x.factor("AAPL", d(c.from), d(c.to)); got != c.want {
			t.Errorf("factor(AAPL, %s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if got := x.factor("TSLA", d("2026-01-01"), d("2026-12-31")); got != 1 {
		t.Errorf("factor of a symbol without splits = %v, want 1", got)
	}
}

func TestSplitCoderRoundTrip(t *testing.T) {
	sp := Split{"GE", "2026-01-20", 0.1}
	b, _ := encodeSplit(sp)
	got, err := decodeSplit(b)
	if err != nil || got != sp {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, sp)
	}
	if _, err := decodeSplit(b[:len(b)-1]); err == nil {
		t.Error("truncated Split decoded")
	}
}

// testdata/splits.csv: a header, 7 valid rows (ratios as numbers, new:old
// and new/old, one row quoted) and 7 bad ones: 15 lines.
func TestParseSplitCSV(t *testing.T) {
	const glob = "testdata/splits.csv"
	wantSplits := []Split{
		{"AAPL", "2026-01-16", 2},
		{"NVDA", "2026-01-20", 1.5},
		{"GE", "2026-01-20", 0.1},
		{"TSLA", "2026-01-16", 2}, // "2:1"
		{"TSLA", "2026-01-16", 2}, // "2": agrees, one split for PrevClose
		{"AMZN", "2026-01-16", 2},
		{"AMZN", "2026-01-16", 3}, // disagrees: PrevClose drops both
	}
	sp := func(line, reason string) string { return deadWant(glob, "split", line, reason) }
	wantDead := []string{
		sp("AAPL,2026-1-6,2", `ex_date: invalid date "2026-1-6" (want YYYY-MM-DD)`),
		sp("AAPL,2026-01-21,0", `ratio "0" is not a positive number`),
		sp("AAPL,2026-01-22,-2", `ratio "-2" is not a positive number`),
		sp("AAPL,2026-01-23,2:0", `ratio "2:0": want new:old with positive numbers`),
		sp("AAPL,2026-01-26,abc", `ratio "abc" is not a positive number`),
		sp("AAPL,2026-01-27,1:2:3", `ratio "1:2:3": want new:old with positive numbers`),
		sp("AAPL,2026-01-28", "2 fields, want 3 (symbol,ex_date,ratio)"),
	}
	const headers = 1

	p, s := beam.NewPipelineWithRoot()
	splits, dead := readSplitCSV(s, glob)
	beamtest.Equals(s, splits, wantSplits)
	beamtest.Equals(s, beam.ParDo(s, describeDead, dead), wantDead)
	r := ptest.RunAndValidate(t, p)
	// 15 = 7 + 7 + 1.
	if got, want := beamtest.Counter(t, r, "tickbeam/lines", "lines"), int64(len(wantSplits)+len(wantDead)+headers); got != want {
		t.Errorf("lines read = %d, want %d", got, want)
	}
}

// LAST_CLOSE across the splits of testdata/splits.csv, on XNYS: Thursday
// 2026-01-15, Friday the 16th (AAPL 2-for-1, TSLA 2:1 given twice, AMZN in
// conflict), Monday the 19th a holiday and Tuesday the 20th (NVDA 3:2, GE
// 1/10). SkipMissing drops the rows of days without a previous day in the
// input.
func TestPrevCloseSplitLastClose(t *testing.T) {
	thu := func(sym, id string, price float64) tickbeam.Tick {
		return trade(sym, id, utc(2026, 1, 15, 20, 59, 0), price)
	}
	aThu, tThu, zThu := thu("AAPL", "1", 400), thu("TSLA", "2", 440), thu("AMZN", "3", 230)
	aPre := trade("AAPL", "4", utc(2026, 1, 16, 12, 0, 0), 205) // 07:00 ET, pre-market of the ex-date
	aMid := trade("AAPL", "5", utc(2026, 1, 16, 15, 0, 0), 189)
	aFri := trade("AAPL", "6", utc(2026, 1, 16, 20, 59, 0), 190) // Friday's close
	tFri := trade("TSLA", "7", utc(2026, 1, 16, 15, 0, 0), 242)
	zFri := trade("AMZN", "8", utc(2026, 1, 16, 15, 0, 0), 241.5)
	nFri := trade("NVDA", "9", utc(2026, 1, 16, 20, 0, 0), 150)
	gFri := trade("GE", "10", utc(2026, 1, 16, 20, 0, 0), 10)
	aTue := trade("AAPL", "11", utc(2026, 1, 20, 14, 35, 0), 199.5)
	nTue := trade("NVDA", "12", utc(2026, 1, 20, 14, 35, 0), 94)
	gTue := trade("GE", "13", utc(2026, 1, 20, 14, 35, 0), 105)
	want := []tickbeam.PriceChange{
		// Thursday's close 400 / 2 = 200: 205 − 200 = 5, +2.5%.
		row("AAPL", "4", aPre.EventTime, "2026-01-16", 205, 200, "LAST_CLOSE", 2, 5, 2.5, "NEUTRAL"),
		// 189 − 200 = −11, −5.5%.
		row("AAPL", "5", aMid.EventTime, "2026-01-16", 189, 200, "LAST_CLOSE", 2, -11, -5.5, "NEGATIVE"),
		// 190 − 200 = −10, exactly −5%.
		row("AAPL", "6", aFri.EventTime, "2026-01-16", 190, 200, "LAST_CLOSE", 2, -10, -5, "NEUTRAL"),
		// 440 / 2 = 220: 242 − 220 = 22, +10%.
		row("TSLA", "7", tFri.EventTime, "2026-01-16", 242, 220, "LAST_CLOSE", 2, 22, 10, "POSITIVE"),
		// AMZN's 2 and 3 disagree: no adjustment, 241.5 − 230 = 11.5,
		// 1150 / 230 = 5%.
		row("AMZN", "8", zFri.EventTime, "2026-01-16", 241.5, 230, "LAST_CLOSE", 1, 11.5, 5, "NEUTRAL"),
		// Friday's close 190 is after the split: 199.5 − 190 = 9.5, 5%.
		row("AAPL", "11", aTue.EventTime, "2026-01-20", 199.5, 190, "LAST_CLOSE", 1, 9.5, 5, "NEUTRAL"),
		// 150 / 1.5 = 100: 94 − 100 = −6, −6%.
		row("NVDA", "12", nTue.EventTime, "2026-01-20", 94, 100, "LAST_CLOSE", 1.5, -6, -6, "NEGATIVE"),
		// Reverse split: 10 / 0.1 = 100; 105 − 100 = 5, 5%.
		row("GE", "13", gTue.EventTime, "2026-01-20", 105, 100, "LAST_CLOSE", 0.1, 5, 5, "NEUTRAL"),
	}

	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			splits, _ := readSplitCSV(s, "testdata/splits.csv")
			in := beamtest.Ticks(s, gTue, aMid, tThu, nTue, aFri, zThu, aThu, aPre, tFri, zFri, nFri, gFri, aTue)
			if batched { // dedupe's batches, packed for the step that reads the splits
				in = dedupe.Batches(s, in, dedupe.Options{Window: time.Hour})
			}
			got := PrevClose(s, in, Options{Sources: []Source{SourceLastClose}, Splits: splits, SkipMissing: true})
			beamtest.Equals(s, got, want)
			r := ptest.RunAndValidate(t, p)
			// Skipped, still counted: the three Thursday trades and NVDA's and GE's
			// Friday trades.
			wantCounters(t, r, map[string]int64{"from_last_close": 8, "no_prev_close": 5, "split_conflicts": 1, "bad_splits": 0})
		})
	}
}

// A reference close before a 2-for-1 split is divided by it unless
// ReferenceAdjusted says the vendor did that already.
func TestPrevCloseSplitReference(t *testing.T) {
	thu := trade("AAPL", "1", utc(2026, 1, 15, 15, 0, 0), 399)
	fri := trade("AAPL", "2", utc(2026, 1, 16, 15, 0, 0), 210)
	// Thursday moves against Wednesday's 380, before the split in every
	// case: 399 − 380 = 19, 1900 / 380 = 5%.
	thuRow := row("AAPL", "1", thu.EventTime, "2026-01-15", 399, 380, "REFERENCE", 1, 19, 5, "NEUTRAL")
	for _, c := range []struct {
		name     string
		ref      float64 // Friday's reference
		adjusted bool
		want     tickbeam.PriceChange
	}{
		// Thursday's raw close 400 / 2 = 200: 210 − 200 = 10, 5%.
		{"raw", 400, false, row("AAPL", "2", fri.EventTime, "2026-01-16", 210, 200, "REFERENCE", 2, 10, 5, "NEUTRAL")},
		// The vendor's adjusted 200 is taken as it is.
		{"adjusted", 200, true, row("AAPL", "2", fri.EventTime, "2026-01-16", 210, 200, "REFERENCE", 1, 10, 5, "NEUTRAL")},
		// ... even when it is wrong: 210 − 400 = −190, −47.5%.
		{"adjusted but raw", 400, true, row("AAPL", "2", fri.EventTime, "2026-01-16", 210, 400, "REFERENCE", 1, -190, -47.5, "NEGATIVE")},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			refs := beam.CreateList(s, []Reference{{"AAPL", "2026-01-15", 380}, {"AAPL", "2026-01-16", c.ref}})
			splits := beam.CreateList(s, []Split{
				{"AAPL", "2026-01-16", 2},
				{"AAPL", "2026-01-16", 2}, // a copy
				{"AAPL", "2026-01-17", 0}, // invalid: counted, ignored
				{"AAPL", "16.01.2026", 4}, // invalid
			})
			got := PrevClose(s, beamtest.Ticks(s, thu, fri), Options{Sources: []Source{SourceReference}, References: refs,
				Splits: splits, ReferenceAdjusted: c.adjusted})
			beamtest.Equals(s, got, []tickbeam.PriceChange{thuRow, c.want})
			r := ptest.RunAndValidate(t, p)
			wantCounters(t, r, map[string]int64{"from_reference": 2, "bad_splits": 2, "split_conflicts": 0})
		})
	}
}

func TestValidSplit(t *testing.T) {
	if got, err := validSplit(Split{" GE ", " 2026-01-20 ", 0.1}); err != nil || got != (Split{"GE", "2026-01-20", 0.1}) {
		t.Errorf("validSplit = %+v, %v", got, err)
	}
	for _, c := range []struct {
		in   Split
		want string
	}{
		{Split{"", "2026-01-20", 2}, "empty symbol"},
		{Split{"GE", "2026-1-20", 2}, `ex_date: invalid date "2026-1-20"`},
		{Split{"GE", "2026-01-20", 0}, "ratio 0 is not a positive number"},
		{Split{"GE", "2026-01-20", -2}, "ratio -2 is not a positive number"},
	} {
		if _, err := validSplit(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("validSplit(%+v) error = %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// iterate is a side-input iterator over xs.
func iterate[T any](xs []T) func(*T) bool {
	return func(v *T) bool {
		if len(xs) == 0 {
			return false
		}
		*v, xs = xs[0], xs[1:]
		return true
	}
}

// readSplitCSV reads split files as monitor does.
func readSplitCSV(s beam.Scope, glob string) (splits, dead beam.PCollection) {
	text, oversized := lines.Read(s, glob)
	splits, bad := ParseSplitCSV(s, text, glob)
	return splits, beam.Flatten(s, bad, oversized)
}
