package tickbeamtest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
)

func init() {
	register.DoFn3x1[[]byte, func(*beam.T) bool, func(*beam.T) bool, error](&matchFn{})
	register.Iter1[beam.T]()
}

// Row is a row type the matchers compare.
type Row interface {
	tickbeam.Tick | tickbeam.Bar | tickbeam.Alert | tickbeam.SessionStats |
		tickbeam.IndicatorValue | tickbeam.DeadLetter | tickbeam.PriceChange
}

// Match says when two rows are equal. Rows are compared as multisets: order
// does not matter, each row of want must be matched by one row of got.
//
// Some fields are never compared because a run sets them from the wall
// clock: Tick.IngestTime, Alert.DetectedAt and DeadLetter.Timestamp.
type Match struct {
	// Floats (pointers to floats too) are equal when they differ by at most
	// Margin, or by at most Fraction of the smaller magnitude
	// (cmpopts.EquateApprox). NaN equals NaN.
	Fraction, Margin float64
	// Ignore names more fields to skip, by Go field name ("PaneIndex").
	Ignore []string
}

// DefaultMatch is what AssertBars and the other Assert functions use: floats
// within 1e-9, absolute or relative, which absorbs the rounding of sums in
// a different order and nothing a bug would produce.
var DefaultMatch = Match{Fraction: 1e-9, Margin: 1e-9}

// AssertBars checks that bars, a PCollection<tickbeam.Bar>, holds exactly
// want (see DefaultMatch), in any windows and panes: the pipeline fails with
// a go-cmp diff otherwise. Call it before running the pipeline, as
// passert's functions.
func AssertBars(s beam.Scope, bars beam.PCollection, want ...tickbeam.Bar) {
	Assert(s, DefaultMatch, bars, want...)
}

// AssertAlerts is AssertBars for PCollection<tickbeam.Alert>.
func AssertAlerts(s beam.Scope, alerts beam.PCollection, want ...tickbeam.Alert) {
	Assert(s, DefaultMatch, alerts, want...)
}

// AssertSessionStats is AssertBars for PCollection<tickbeam.SessionStats>.
func AssertSessionStats(s beam.Scope, stats beam.PCollection, want ...tickbeam.SessionStats) {
	Assert(s, DefaultMatch, stats, want...)
}

// AssertIndicatorValues is AssertBars for PCollection<tickbeam.IndicatorValue>.
func AssertIndicatorValues(s beam.Scope, values beam.PCollection, want ...tickbeam.IndicatorValue) {
	Assert(s, DefaultMatch, values, want...)
}

// AssertDeadLetters is AssertBars for PCollection<tickbeam.DeadLetter>
// (Timestamp not compared).
func AssertDeadLetters(s beam.Scope, dead beam.PCollection, want ...tickbeam.DeadLetter) {
	Assert(s, DefaultMatch, dead, want...)
}

// Assert checks that col, a PCollection<T>, holds exactly want under m;
// the pipeline fails with a go-cmp diff (-want +got) otherwise. It panics at
// construction when col is not of T or m ignores a field T does not have.
func Assert[T Row](s beam.Scope, m Match, col beam.PCollection, want ...T) {
	typ := reflect.TypeFor[T]()
	s = s.Scope("tickbeamtest.Assert[" + typ.Name() + "]")
	if got := col.Type().Type(); got != typ {
		panic(fmt.Sprintf("tickbeamtest.Assert[%v]: PCollection of %v", typ, got))
	}
	_ = options[T](m) // panics now, not in the pipeline, on a bad Ignore
	if want == nil {
		want = []T{}
	}
	global := beam.WindowInto(s, window.NewGlobalWindows(), col)
	beam.ParDo0(s, &matchFn{Type: typ.String(), Match: m}, beam.Impulse(s),
		beam.SideInput{Input: global}, beam.SideInput{Input: beam.CreateList(s, want)})
}

// Diff compares rows outside a pipeline (read back from BigQuery, files or
// Pub/Sub) as Assert does, returning "" when they match and a go-cmp diff
// (-want +got) otherwise.
func Diff[T Row](m Match, got, want []T) string {
	got, want = slices.Clone(got), slices.Clone(want)
	less := func(a, b T) int { return slices.Compare(sortKey(a), sortKey(b)) }
	slices.SortStableFunc(got, less)
	slices.SortStableFunc(want, less)
	if len(got) == 0 && len(want) == 0 {
		return ""
	}
	return cmp.Diff(want, got, options[T](m)...)
}

func options[T Row](m Match) cmp.Options {
	var zero T
	ignore := append([]string{}, m.Ignore...)
	switch any(zero).(type) {
	case tickbeam.Tick:
		ignore = append(ignore, "IngestTime")
	case tickbeam.Alert:
		ignore = append(ignore, "DetectedAt")
	case tickbeam.DeadLetter:
		ignore = append(ignore, "Timestamp")
	}
	opts := cmp.Options{cmpopts.EquateApprox(m.Fraction, m.Margin), cmpopts.EquateNaNs(), cmpopts.EquateEmpty()}
	if len(ignore) > 0 {
		opts = append(opts, cmpopts.IgnoreFields(zero, ignore...))
	}
	return opts
}

// sortKey orders rows so that the rows a test means to pair meet at the
// same index of got and want.
func sortKey(r any) []string {
	ts := func(t interface{ UnixNano() int64 }) string { return fmt.Sprintf("%020d", t.UnixNano()) }
	switch r := r.(type) {
	case tickbeam.Tick:
		return []string{ts(r.EventTime), r.Symbol, r.Source, r.TradeID, fmt.Sprint(r.Price)}
	case tickbeam.Bar:
		return []string{r.Symbol, r.Resolution, ts(r.WindowStart), fmt.Sprintf("%06d", r.PaneIndex)}
	case tickbeam.Alert:
		return []string{ts(r.EventTime), r.Rule, r.Symbol, r.AlertID}
	case tickbeam.SessionStats:
		return []string{r.Symbol, r.SessionDate, ts(r.AsOf), fmt.Sprintf("%06d", r.Revision)}
	case tickbeam.IndicatorValue:
		return []string{r.Symbol, r.Resolution, ts(r.WindowStart), r.Indicator}
	case tickbeam.DeadLetter:
		return []string{r.Stage, r.Source, r.PayloadString, r.ErrorMessage}
	case tickbeam.PriceChange:
		return []string{ts(r.EventTime), r.Symbol, r.Source, r.TradeID}
	}
	return nil
}

// differs holds Diff per row type, for the DoFn, which sees rows as any.
var differs = map[string]func(m Match, got, want []any) string{}

func addDiffer[T Row]() {
	differs[reflect.TypeFor[T]().String()] = func(m Match, got, want []any) string {
		return Diff(m, cast[T](got), cast[T](want))
	}
}

func init() {
	addDiffer[tickbeam.Tick]()
	addDiffer[tickbeam.Bar]()
	addDiffer[tickbeam.Alert]()
	addDiffer[tickbeam.SessionStats]()
	addDiffer[tickbeam.IndicatorValue]()
	addDiffer[tickbeam.DeadLetter]()
	addDiffer[tickbeam.PriceChange]()
}

func cast[T any](xs []any) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = x.(T)
	}
	return out
}

// matchFn runs once, on an impulse, with every row of the PCollection under
// test and every wanted row as side inputs.
type matchFn struct {
	Type  string
	Match Match
}

func (fn *matchFn) ProcessElement(_ []byte, got, want func(*beam.T) bool) error {
	read := func(iter func(*beam.T) bool) []any {
		var out []any
		var v beam.T
		for iter(&v) {
			out = append(out, v)
		}
		return out
	}
	g, w := read(got), read(want)
	if d := differs[fn.Type](fn.Match, g, w); d != "" {
		return fmt.Errorf("tickbeamtest: %s rows differ: got %d, want %d (-want +got):\n%s", fn.Type, len(g), len(w), strings.TrimSpace(d))
	}
	return nil
}
