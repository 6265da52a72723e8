package enrich

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Reference is one previous close from reference data: PrevClose is the
// close that Symbol's trading day Date ("2026-01-16") moves against, i.e.
// the close of the trading day before Date. Its JSON names are the columns
// ParseReferenceCSV and CheckReferences read.
type Reference struct {
	Symbol    string  `json:"symbol"`
	Date      string  `json:"date"`
	PrevClose float64 `json:"prev_close"`
}

// ReferenceHeader is the header line of a reference CSV file.
const ReferenceHeader = "symbol,date,prev_close"

func init() {
	beam.RegisterCoder(reflect.TypeOf(Reference{}), encodeReference, decodeReference)
	register.DoFn4x0[context.Context, string, func(Reference), func(tickbeam.DeadLetter)](&referenceLineFn{})
	register.Emitter1[Reference]()
	register.Emitter1[tickbeam.DeadLetter]()
	register.Function3x0(validateReference)
	register.Function2x0(keyReference)
	register.Emitter2[string, Reference]()
	register.Function3x0(countReferenceConflicts)
	register.Iter1[Reference]()
}

// ParseReferenceCSV parses reference previous closes from lines of text
// (io/lines.Read of local or gs:// files, or any other reader), source
// naming where they came from (a glob) on dead letters: CSV lines
// symbol,date,prev_close, with date as YYYY-MM-DD and prev_close a positive
// number. A header line (first field "symbol") may appear anywhere; fields
// may be quoted but a record must fit on one line. It returns
// PCollection<Reference> and PCollection<tickbeam.DeadLetter>: every line
// that is not a valid row or the header becomes a dead letter (stage parse)
// with the line and the reason. Dates are normalised ("2026-1-6" is refused,
// not guessed).
func ParseReferenceCSV(s beam.Scope, lines beam.PCollection, source string) (refs, deadLetters beam.PCollection) {
	s = s.Scope("enrich.ParseReferenceCSV")
	return beam.ParDo2(s, &referenceLineFn{Source: source}, lines)
}

// CheckReferences checks and normalises references read some other way,
// e.g. the rows of a BigQuery query (bigqueryx.QueryRows[Reference]), for
// beam.CreateList. The query must return the columns symbol (STRING), date
// (DATE, or a STRING in YYYY-MM-DD) and prev_close (FLOAT64: CAST a
// NUMERIC, which would not decode into a float), e.g.
//
//	SELECT symbol, trade_date AS date, CAST(prev_close AS FLOAT64) AS prev_close
//	FROM `proj.market.daily_closes` WHERE trade_date = @day
//
// Read at pipeline construction, references are fixed for the run: right for
// a batch job or a streaming job restarted daily. A row that is not a valid
// Reference fails the call with the row's index rather than being dropped.
func CheckReferences(rows []Reference) ([]Reference, error) {
	out := make([]Reference, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = validReference(r); err != nil {
			return nil, fmt.Errorf("enrich: reference row %d: %w", i, err)
		}
	}
	return out, nil
}

// validReference checks r and normalises its symbol and date.
func validReference(r Reference) (Reference, error) {
	r.Symbol = strings.TrimSpace(r.Symbol)
	if r.Symbol == "" {
		return r, errors.New("empty symbol")
	}
	d, err := calendar.ParseDate(strings.TrimSpace(r.Date))
	if err != nil {
		return r, fmt.Errorf("date: %w", err)
	}
	r.Date = d.String()
	if !positive(r.PrevClose) {
		return r, fmt.Errorf("prev_close %v is not a positive number", r.PrevClose)
	}
	return r, nil
}

func positive(f float64) bool { return f > 0 && !math.IsInf(f, 1) }

type referenceLineFn struct {
	Source string
}

func (f *referenceLineFn) ProcessElement(ctx context.Context, line string, emit func(Reference), dead func(tickbeam.DeadLetter)) {
	fields, header, err := csvLine(line, strings.Split(ReferenceHeader, ","))
	if header {
		return
	}
	var r Reference
	if err == nil {
		r = Reference{Symbol: fields[0], Date: fields[1]}
		if r.PrevClose, err = parseNumber(fields[2]); err != nil {
			err = fmt.Errorf("prev_close: %w", err)
		}
	}
	if err == nil {
		r, err = validReference(r)
	}
	if err != nil {
		dead(deadLine(line, f.Source, "reference", err))
		return
	}
	emit(r)
}

// csvLine splits one CSV line into want's number of fields. header reports
// that the line is the header: its first field is want[0] (any case); a
// header naming other columns is an error, so a file with columns in another
// order is not misread.
func csvLine(line string, want []string) (fields []string, header bool, err error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(line, "\ufeff")))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	fields, err = r.Read()
	if err != nil {
		return nil, false, fmt.Errorf("csv: %w", err)
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	if strings.EqualFold(fields[0], want[0]) {
		for i := range fields {
			fields[i] = strings.ToLower(fields[i])
		}
		if strings.Join(fields, ",") != strings.Join(want, ",") {
			return nil, false, fmt.Errorf("header %q: want %q", line, strings.Join(want, ","))
		}
		return nil, true, nil
	}
	if len(fields) != len(want) {
		return nil, false, fmt.Errorf("%d fields, want %d (%s)", len(fields), len(want), strings.Join(want, ","))
	}
	return fields, false, nil
}

// parseNumber parses a finite decimal number.
func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

// deadLine is the dead letter of a bad CSV line of kind ("reference",
// "split") read from glob.
func deadLine(line, glob, kind string, err error) tickbeam.DeadLetter {
	return tickbeam.NewDeadLetter(time.Now(), []byte(line), map[string]string{"file": glob, "kind": kind},
		tickbeam.StageParse, glob, fmt.Errorf("enrich: %s line: %w", kind, err))
}

// validateReference passes valid side-input rows (rows built by hand or
// queried may be bad); bad rows are counted.
func validateReference(ctx context.Context, r Reference, emit func(Reference)) {
	r, err := validReference(r)
	if err != nil {
		cBadReferences.Inc(ctx, 1)
		return
	}
	emit(r)
}

func keyReference(r Reference, emit func(string, Reference)) { emit(r.Symbol+"\x00"+r.Date, r) }

// countReferenceConflicts counts the (symbol, date) whose rows disagree;
// the lookup index drops them (see agreed).
func countReferenceConflicts(ctx context.Context, _ string, rows func(*Reference) bool) {
	var first, r Reference
	for n := 0; rows(&r); n++ {
		if n == 0 {
			first = r
		} else if r.PrevClose != first.PrevClose {
			cReferenceConflicts.Inc(ctx, 1)
			return
		}
	}
}

// cleanReferences returns the valid rows, for the side input, and counts
// conflicts on a branch of their own: the side input must not come out of
// a GroupByKey, which prism (v2.77) now and then let a consumer read
// before it had produced anything.
func cleanReferences(s beam.Scope, refs beam.PCollection) beam.PCollection {
	valid := beam.ParDo(s, validateReference, refs)
	beam.ParDo0(s, countReferenceConflicts, beam.GroupByKey(s, beam.ParDo(s, keyReference, valid)))
	return valid
}

func encodeReference(r Reference) ([]byte, error) {
	b := wire.AppendString(make([]byte, 0, 32), r.Symbol)
	b = wire.AppendString(b, r.Date)
	return wire.AppendFloat(b, r.PrevClose), nil
}

func decodeReference(b []byte) (Reference, error) {
	rd := wire.NewReader(b)
	r := Reference{Symbol: rd.String(), Date: rd.String(), PrevClose: rd.Float()}
	if err := rd.Err(); err != nil {
		return Reference{}, fmt.Errorf("decode Reference: %w", err)
	}
	return r, nil
}
