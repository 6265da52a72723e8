package alerts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

func init() {
	register.DoFn5x1[context.Context, string, dedupe.Batch, func(string, dedupe.Batch), func(beam.EventTime, string, []byte), error](&screenFn{})
	register.Emitter2[string, dedupe.Batch]()
	register.DoFn2x1[[]byte, func(beam.EventTime, string, dedupe.Batch), error](&rebatchFn{})
	register.Emitter3[beam.EventTime, string, dedupe.Batch]()
}

// Screen runs the outlier rules of a RuleSet inside dedupe, as its
// dedupe.Options.Screen: each rule judges the trades it watches before
// copies are dropped, and the batches of every other symbol pass on
// untouched. The clean ticks are those of dedupe.Ticks; outliers become
// dead letters as with Apply (CleanTicks, Quarantined, Alerts), with the
// same verdicts.
//
// Why: Apply's clean ticks are a Flatten of the ticks a rule passes and
// those it judged, which prism executes in the runner, so every tick
// crosses it once more (1M trades: ~2.5 s of CPU for a rule watching none
// of them). Inside dedupe that Flatten feeds its GroupByKey, which every
// tick crosses anyway. Copies of a judged trade that meet in the rule's
// buffer are dropped there and counted as dedupe duplicates.
//
//	scr := &alerts.Screen{Rules: rs}
//	ticks := dedupe.Ticks(s, parsed, dedupe.Options{Screen: scr.Batches})
//	if err := scr.Err(); err != nil { ... }
//	// scr.Quarantined, scr.Alerts
type Screen struct {
	// Rules holds the outlier rules to run, in file order (each judging
	// what the one before passed); its other rules are not run.
	Rules *RuleSet

	// Quarantined and Alerts are set by Batches: the outliers as
	// PCollection<tickbeam.DeadLetter> and the rules' alerts as
	// PCollection<tickbeam.Alert>, both in the global window.
	Quarantined, Alerts beam.PCollection

	err error
}

// Err reports why Batches added nothing: no outlier rule, or an invalid one.
func (q *Screen) Err() error { return q.err }

// Batches is the dedupe.Options.Screen: it takes dedupe's
// PCollection<KV<string, dedupe.Batch>> and returns the batches to group.
func (q *Screen) Batches(s beam.Scope, batches beam.PCollection, w time.Duration) []beam.PCollection {
	s = s.Scope("alerts.Screen")
	branches := []beam.PCollection{batches}
	var dead, alerts []beam.PCollection
	if q.Rules != nil {
		for _, r := range q.Rules.Rules {
			if r.Kind != KindOutlier {
				continue
			}
			if err := r.Validate(); err != nil {
				q.err = fmt.Errorf("alerts.Screen: rule %s: %w", r.Name, err)
				return []beam.PCollection{batches}
			}
			rs := s.Scope("alerts." + r.Name)
			var pass, judge []beam.PCollection
			for _, b := range branches {
				p, j := beam.ParDo2(rs, &screenFn{Rule: r}, b)
				pass = append(pass, p)
				judge = append(judge, beam.WindowInto(rs, window.NewGlobalWindows(), j))
			}
			c, qd, a := beam.ParDo3(rs, newOutlierFn(r, true), flatten(rs, judge))
			branches = append(pass, beam.ParDo(rs, &rebatchFn{Window: w}, c))
			dead, alerts = append(dead, qd), append(alerts, a)
		}
	}
	if len(dead) == 0 {
		q.err = errors.New("alerts.Screen: no outlier rule")
		return branches
	}
	q.Quarantined, q.Alerts = flatten(s, dead), flatten(s, alerts)
	return branches
}

// screenFn passes on a batch whose symbol its rule does not watch as it
// is, and otherwise takes out the trades the rule judges, packed per
// symbol for outlierFn.
type screenFn struct {
	Rule Rule

	sched *sessionSchedule
	batch reorder.Batcher[tickbeam.Tick]
}

func (f *screenFn) Setup() error {
	sc, err := newSchedule(f.Rule.Sessions)
	f.sched = sc
	f.batch = reorder.Batcher[tickbeam.Tick]{Codec: tickCodec, Time: tickTime}
	return err
}

func (f *screenFn) ProcessElement(_ context.Context, key string, b dedupe.Batch, pass func(string, dedupe.Batch), judge func(beam.EventTime, string, []byte)) error {
	if !f.Rule.Matches(dedupe.SymbolOf(key)) {
		pass(key, b)
		return nil
	}
	ticks, err := b.All()
	if err != nil {
		return fmt.Errorf("alerts: rule %s: %q: %w", f.Rule.Name, key, err)
	}
	var rest []tickbeam.Tick
	for _, t := range ticks {
		if judges(&f.Rule, f.sched, &t) {
			f.batch.Add(t.Symbol, t, judge)
		} else {
			rest = append(rest, t)
		}
	}
	switch len(rest) {
	case len(ticks):
		pass(key, b)
	case 0:
	default:
		pass(key, dedupe.Batch{Ticks: rest})
	}
	return nil
}

func (f *screenFn) FinishBundle(_ context.Context, _ func(string, dedupe.Batch), judge func(beam.EventTime, string, []byte)) error {
	f.batch.Flush(judge)
	return nil
}

// rebatchFn turns a batch of outlierFn's clean ticks back into dedupe
// batches: one per source, symbol and dedupe window, timestamped at its
// earliest tick.
type rebatchFn struct {
	Window time.Duration
}

type rebatchKey struct {
	key   string
	start int64
}

func (f *rebatchFn) ProcessElement(b []byte, emit func(beam.EventTime, string, dedupe.Batch)) error {
	groups := map[rebatchKey][]tickbeam.Tick{}
	var order []rebatchKey
	err := tickCodec.Each(b, func(t tickbeam.Tick) {
		k := rebatchKey{dedupe.KeyOf(t.Source, t.Symbol), dedupe.WindowStart(t.EventTime, f.Window)}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	})
	if err != nil {
		return fmt.Errorf("alerts: clean ticks: %w", err)
	}
	for _, k := range order {
		emit(mtime.FromTime(earliest(groups[k])), k.key, dedupe.Batch{Ticks: groups[k]})
	}
	return nil
}
