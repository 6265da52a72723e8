package enrich

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Split is a stock split (a corporate action): from trading day ExDate
// ("2026-01-16") on, one old share is Ratio new shares. A 2-for-1 split has
// Ratio 2, a 3-for-2 split 1.5 and a 1-for-10 reverse split 0.1. A previous
// close from before ExDate is divided by Ratio for ticks of ExDate and later.
type Split struct {
	Symbol string  `json:"symbol"`
	ExDate string  `json:"ex_date"`
	Ratio  float64 `json:"ratio"`
}

// SplitHeader is the header line of a split CSV file.
const SplitHeader = "symbol,ex_date,ratio"

func init() {
	beam.RegisterCoder(reflect.TypeOf(Split{}), encodeSplit, decodeSplit)
	register.DoFn4x0[context.Context, string, func(Split), func(tickbeam.DeadLetter)](&splitLineFn{})
	register.Emitter1[Split]()
	register.Function3x0(validateSplit)
	register.Function2x0(keySplit)
	register.Emitter2[string, Split]()
	register.Function3x0(countSplitConflicts)
	register.Iter1[Split]()
}

// ParseSplitCSV parses splits from lines of text, like ParseReferenceCSV:
// CSV lines symbol,ex_date,ratio with an optional header. The ratio is new
// shares per old share, as a number ("2", "1.5", "0.1") or as new:old or
// new/old ("2:1", "3:2", "1:10"). Bad lines become dead letters (stage
// parse, source as given).
func ParseSplitCSV(s beam.Scope, lines beam.PCollection, source string) (splits, deadLetters beam.PCollection) {
	s = s.Scope("enrich.ParseSplitCSV")
	return beam.ParDo2(s, &splitLineFn{Source: source}, lines)
}

// ParseRatio parses a split ratio: a number, or new:old or new/old.
func ParseRatio(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, ":/"); i >= 0 {
		n, err1 := parseNumber(strings.TrimSpace(s[:i]))
		d, err2 := parseNumber(strings.TrimSpace(s[i+1:]))
		if err1 != nil || err2 != nil || !positive(n) || !positive(d) {
			return 0, fmt.Errorf("ratio %q: want new:old with positive numbers", s)
		}
		return n / d, nil
	}
	r, err := parseNumber(s)
	if err != nil || !positive(r) {
		return 0, fmt.Errorf("ratio %q is not a positive number", s)
	}
	return r, nil
}

func validSplit(sp Split) (Split, error) {
	sp.Symbol = strings.TrimSpace(sp.Symbol)
	if sp.Symbol == "" {
		return sp, errors.New("empty symbol")
	}
	d, err := calendar.ParseDate(strings.TrimSpace(sp.ExDate))
	if err != nil {
		return sp, fmt.Errorf("ex_date: %w", err)
	}
	sp.ExDate = d.String()
	if !positive(sp.Ratio) {
		return sp, fmt.Errorf("ratio %v is not a positive number", sp.Ratio)
	}
	return sp, nil
}

type splitLineFn struct {
	Source string
}

func (f *splitLineFn) ProcessElement(ctx context.Context, line string, emit func(Split), dead func(tickbeam.DeadLetter)) {
	fields, header, err := csvLine(line, strings.Split(SplitHeader, ","))
	if header {
		return
	}
	var sp Split
	if err == nil {
		sp = Split{Symbol: fields[0], ExDate: fields[1]}
		sp.Ratio, err = ParseRatio(fields[2])
	}
	if err == nil {
		sp, err = validSplit(sp)
	}
	if err != nil {
		dead(deadLine(line, f.Source, "split", err))
		return
	}
	emit(sp)
}

func validateSplit(ctx context.Context, sp Split, emit func(Split)) {
	sp, err := validSplit(sp)
	if err != nil {
		cBadSplits.Inc(ctx, 1)
		return
	}
	emit(sp)
}

func keySplit(sp Split, emit func(string, Split)) { emit(sp.Symbol+"\x00"+sp.ExDate, sp) }

// countSplitConflicts counts the (symbol, ex-date) whose ratios disagree;
// the index drops them rather than adjust by a guess.
func countSplitConflicts(ctx context.Context, _ string, rows func(*Split) bool) {
	var first, sp Split
	for n := 0; rows(&sp); n++ {
		if n == 0 {
			first = sp
		} else if sp.Ratio != first.Ratio {
			cSplitConflicts.Inc(ctx, 1)
			return
		}
	}
}

// cleanSplits is cleanReferences for splits.
func cleanSplits(s beam.Scope, splits beam.PCollection) beam.PCollection {
	valid := beam.ParDo(s, validateSplit, splits)
	beam.ParDo0(s, countSplitConflicts, beam.GroupByKey(s, beam.ParDo(s, keySplit, valid)))
	return valid
}

// agreed keeps one value per key; a key whose values disagree is dropped,
// since picking one would depend on arrival order.
type agreed[K comparable] struct {
	vals     map[K]float64
	conflict map[K]bool
}

func newAgreed[K comparable]() *agreed[K] {
	return &agreed[K]{vals: map[K]float64{}, conflict: map[K]bool{}}
}

func (a *agreed[K]) add(k K, v float64) {
	switch old, ok := a.vals[k]; {
	case a.conflict[k]:
	case ok && old != v:
		delete(a.vals, k)
		a.conflict[k] = true
	default:
		a.vals[k] = v
	}
}

// split is a Split parsed for lookups.
type split struct {
	ex    calendar.Date
	ratio float64
}

// splitIndex holds each symbol's splits by ex-date.
type splitIndex map[string][]split

// indexSplits indexes splits; of disagreeing copies of one (symbol,
// ex-date) none is kept.
func indexSplits(splits func(*Split) bool) splitIndex {
	type key struct {
		symbol string
		ex     calendar.Date
	}
	a := newAgreed[key]()
	var sp Split
	for splits(&sp) {
		if d, err := calendar.ParseDate(sp.ExDate); err == nil { // cleanSplits let only valid ones through
			a.add(key{sp.Symbol, d}, sp.Ratio)
		}
	}
	x := splitIndex{}
	for k, ratio := range a.vals {
		x[k.symbol] = append(x[k.symbol], split{k.ex, ratio})
	}
	for _, ss := range x {
		sort.Slice(ss, func(i, j int) bool { return ss[i].ex.Before(ss[j].ex) })
	}
	return x
}

// factor is what a close of trading day from divides by to be in the share
// terms of trading day to: the product of the ratios of the symbol's splits
// with from < ex-date <= to.
func (x splitIndex) factor(symbol string, from, to calendar.Date) float64 {
	f := 1.0
	for _, sp := range x[symbol] {
		if from.Before(sp.ex) && !to.Before(sp.ex) {
			f *= sp.ratio
		}
	}
	return f
}

func encodeSplit(sp Split) ([]byte, error) {
	b := wire.AppendString(make([]byte, 0, 32), sp.Symbol)
	b = wire.AppendString(b, sp.ExDate)
	return wire.AppendFloat(b, sp.Ratio), nil
}

func decodeSplit(b []byte) (Split, error) {
	r := wire.NewReader(b)
	sp := Split{Symbol: r.String(), ExDate: r.String(), Ratio: r.Float()}
	if err := r.Err(); err != nil {
		return Split{}, fmt.Errorf("decode Split: %w", err)
	}
	return sp, nil
}
