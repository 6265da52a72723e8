package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

var (
	cQuarantined = beam.NewCounter("tickbeam/alerts", "quarantined")
	cLevels      = beam.NewCounter("tickbeam/alerts", "new_levels")
	cUnjudged    = beam.NewCounter("tickbeam/alerts", "late_unjudged_ticks") // late trades passed on unjudged
)

func init() {
	register.DoFn4x0[context.Context, tickbeam.Tick, func(beam.EventTime, string, []byte), func(beam.EventTime, []byte)](&outlierKeyFn{})
	register.DoFn8x1[context.Context, state.Provider, timers.Provider, string, []byte,
		func(beam.EventTime, []byte), func(beam.EventTime, tickbeam.DeadLetter), func(beam.EventTime, tickbeam.Alert), error](&outlierFn{})
	register.Function2x1[[]byte, func(beam.EventTime, tickbeam.Tick), error](unbatchTicks)
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	register.Emitter2[beam.EventTime, []byte]()
	register.Emitter2[beam.EventTime, tickbeam.DeadLetter]()
}

// KindOutlier quarantines ticks whose price jumps beyond Sigma standard
// deviations of the recent prices and/or Pct percent of the last price.
const KindOutlier Kind = "outlier"

// outlierKind filters the ticks every later rule reads.
var outlierKind = kindSpec{
	kind:   KindOutlier,
	inputs: []Input{InputTicks},
	fields: []string{"input", "window", "sigma", "pct", "min_history", "accept_after"},
	check: func(r *Rule, bad problemFn) {
		checkWindow(r, bad)
		if r.Sigma == 0 && r.Pct == 0 {
			bad("sigma", "one of sigma or pct is required")
		}
		if r.Sigma < 0 {
			bad("sigma", "must be > 0")
		}
		if r.Pct < 0 {
			bad("pct", "must be > 0")
		}
		if r.MinHistory < 0 || r.MinHistory == 1 {
			bad("min_history", "must be >= 2")
		}
		if r.AcceptAfter < -1 {
			bad("accept_after", "must be >= 1, or -1 for never")
		}
	},
	build:  tryOutliers,
	filter: true,
}

// outlierKeyFn packs the bundle's judged trades per symbol into batches and
// every other tick into one batch passed on unshuffled.
type outlierKeyFn struct {
	Rule Rule

	sched  *sessionSchedule
	batch  reorder.Batcher[tickbeam.Tick]
	passed []tickbeam.Tick
}

func (f *outlierKeyFn) Setup() error {
	sc, err := newSchedule(f.Rule.Sessions)
	f.sched = sc
	f.batch = reorder.Batcher[tickbeam.Tick]{Codec: tickCodec, Time: tickTime}
	return err
}

func tickTime(t tickbeam.Tick) time.Time { return t.EventTime }

// judges reports whether r judges t: a trade with a price, of a symbol r
// watches, during r's sessions (sched). Other ticks pass as they are.
func judges(r *Rule, sched *sessionSchedule, t *tickbeam.Tick) bool {
	return t.Kind == tickbeam.Trade && t.Price > 0 && !math.IsInf(t.Price, 0) && r.Matches(t.Symbol) && sched.IsOpen(t.EventTime)
}

func (f *outlierKeyFn) ProcessElement(_ context.Context, t tickbeam.Tick, batches func(beam.EventTime, string, []byte), pass func(beam.EventTime, []byte)) {
	if judges(&f.Rule, f.sched, &t) {
		f.batch.Add(t.Symbol, t, batches)
		return
	}
	if f.passed = append(f.passed, t); len(f.passed) >= reorder.MaxBatched {
		f.passed = emitTicks(pass, f.passed)
	}
}

func (f *outlierKeyFn) FinishBundle(_ context.Context, batches func(beam.EventTime, string, []byte), pass func(beam.EventTime, []byte)) {
	f.batch.Flush(batches)
	f.passed = emitTicks(pass, f.passed)
}

// emitTicks emits ticks as one batch timestamped at the earliest, so the
// watermark downstream cannot pass a tick before its batch is read, and
// returns ticks emptied for reuse. On prism the clean ticks cross a Flatten,
// which the runner executes itself: one element per batch rather than per
// tick is most of what a quarantine costs (200k ticks: 1.8 s of CPU -> ~0.2 s).
func emitTicks(emit func(beam.EventTime, []byte), ticks []tickbeam.Tick) []tickbeam.Tick {
	if len(ticks) == 0 {
		return ticks
	}
	emit(mtime.FromTime(earliest(ticks)), tickCodec.Encode(ticks))
	return ticks[:0]
}

// earliest is the earliest event time of ticks, which are not empty.
func earliest(ticks []tickbeam.Tick) time.Time {
	first := ticks[0].EventTime
	for _, t := range ticks[1:] {
		if t.EventTime.Before(first) {
			first = t.EventTime
		}
	}
	return first
}

// unbatchTicks emits a batch's ticks, each at its event time.
func unbatchTicks(b []byte, emit func(beam.EventTime, tickbeam.Tick)) error {
	err := tickCodec.Each(b, func(t tickbeam.Tick) { emit(mtime.FromTime(t.EventTime), t) })
	if err != nil {
		return fmt.Errorf("alerts: clean ticks: %w", err)
	}
	return nil
}

// quarantineOutliers quarantines outlier trades of PCollection<tickbeam.Tick>. It
// returns the clean ticks (PCollection<tickbeam.Tick>, in the input's
// windowing), the quarantined ones as PCollection<tickbeam.DeadLetter>
// (stage tickbeam.StageOutlier, payload the tick's JSON, the reason in
// error_message) and PCollection<tickbeam.Alert> saying so (the rule's
// severity, at most one per Cooldown per symbol; dead letters are never
// held back), plus an INFO alert when a run of AcceptAfter outliers is
// accepted as a new price level. Alerts and dead letters are in the global
// window.
//
// Trades of watched symbols during the rule's Sessions are judged per symbol
// in event-time order by an outlierDetector (see its doc for Sigma, Pct,
// Window, MinHistory and AcceptAfter): they wait in state until the
// watermark passes them, so clean trades come out as the watermark moves.
// Quotes, trades without a price, other symbols and trades outside the
// Sessions pass on at once. A trade at or before one already judged (late)
// passes on unjudged, counted in tickbeam/alerts.late_unjudged_ticks:
// nothing is dropped. Judged trades cross the runner in one batch per symbol
// and bundle; the rule's state is read and written once per batch and per
// flush, not per trade.
func quarantineOutliers(s beam.Scope, r Rule, ticks beam.PCollection) (clean, quarantined, alerts beam.PCollection) {
	c, q, a, err := tryOutliers(s, r, ticks)
	if err != nil {
		panic(err)
	}
	return c, q, a
}

func tryOutliers(s beam.Scope, r Rule, ticks beam.PCollection) (clean, quarantined, alerts beam.PCollection, err error) {
	if err := r.Validate(); err != nil {
		return clean, quarantined, alerts, err
	}
	if r.Kind != KindOutlier {
		return clean, quarantined, alerts, fmt.Errorf("alerts: rule %s: Outliers takes an outlier rule, got %s", r.Name, r.Kind)
	}
	if !ticks.IsValid() {
		return clean, quarantined, alerts, fmt.Errorf("alerts: rule %s: no ticks input", r.Name)
	}
	if got := ticks.Type().Type(); got != tickType {
		return clean, quarantined, alerts, fmt.Errorf("alerts: rule %s: ticks input must be a PCollection<%v>, got PCollection<%v>", r.Name, tickType, got)
	}
	s = s.Scope("alerts." + r.Name)
	ws := ticks.WindowingStrategy()
	batches, passed := beam.ParDo2(s, &outlierKeyFn{Rule: r}, ticks)
	global := beam.WindowInto(s, window.NewGlobalWindows(), batches)
	c, q, a := beam.ParDo3(s, newOutlierFn(r, false), global)
	lateness := beam.AllowedLateness(time.Duration(ws.AllowedLateness) * time.Millisecond)
	cleanBatches := beam.Flatten(s, beam.WindowInto(s, window.NewGlobalWindows(), passed), c)
	clean = beam.WindowInto(s, ws.Fn, beam.ParDo(s, unbatchTicks, cleanBatches), lateness)
	return clean, q, a, nil
}

func newOutlierFn(r Rule, dropCopies bool) *outlierFn {
	return &outlierFn{
		Rule:       r,
		DropCopies: dropCopies,
		Meta:       state.MakeValueState[[]byte]("meta"),
		Buffer:     state.MakeBagState[[]byte]("buffer"),
		Timer:      timers.InEventTime("timer"),
	}
}

// outlierFn judges a symbol's trades in order with an outlierDetector.
type outlierFn struct {
	Rule        Rule
	MaxBuffered int
	// DropCopies drops the copies of a trade that meet in the buffer,
	// counted in dedupe.Duplicates: a Screen judges before dedupe groups.
	DropCopies bool

	Meta   state.Value[[]byte] // reorder.Meta; its Aux holds the detector's state
	Buffer state.Bag[[]byte]
	Timer  timers.EventTime // tags reorder.FlushTag(hold) and reorder.TagRelease

	ord    *reorder.Buffer[tickbeam.Tick]
	copies int64 // dropped since judge last counted them
}

// outlierState is the detector and the alert cooldown of one symbol.
type outlierState struct {
	D  outlierDetector
	CD eventCooldown
}

func compareTicks(a, b tickbeam.Tick) int {
	if c := a.EventTime.Compare(b.EventTime); c != 0 {
		return c
	}
	return reorder.CompareIDs(a.TradeID, b.TradeID)
}

func (f *outlierFn) Setup() error {
	f.ord = &reorder.Buffer[tickbeam.Tick]{Bag: &f.Buffer, Timer: &f.Timer, Codec: tickCodec, MaxBuffered: f.MaxBuffered,
		TTL: f.Rule.stateTTL(), Time: tickTime, Compare: compareTicks}
	if f.DropCopies {
		f.ord.Duplicate = f.isCopy
	}
	return nil
}

// isCopy reports whether next, following prev in order, is a copy of it. A
// trade without an id has copies of the same time and content that need
// not be next to each other: one judged twice is dropped by dedupe if clean.
func (f *outlierFn) isCopy(prev, next tickbeam.Tick) bool {
	if !prev.EventTime.Equal(next.EventTime) || prev.Source != next.Source || prev.TradeID != next.TradeID ||
		dedupe.Identity(&prev) != dedupe.Identity(&next) {
		return false
	}
	f.copies++
	return true
}

func (f *outlierFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, batch []byte,
	emitClean func(beam.EventTime, []byte), emitDead func(beam.EventTime, tickbeam.DeadLetter), emitAlert func(beam.EventTime, tickbeam.Alert)) error {
	m, _, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	prev := m
	late, forced, err := f.ord.AddBatch(sp, tp, &m, batch)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	emitTicks(emitClean, late)
	if len(late) > 0 {
		cUnjudged.Inc(ctx, int64(len(late)))
	}
	if len(forced) > 0 {
		cForced.Inc(ctx, int64(len(forced)))
		if err := f.judge(ctx, key, prev, &m.Aux, forced, emitClean, emitDead, emitAlert); err != nil {
			return err
		}
	}
	if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
		return f.errorf(key, "write state: %w", err)
	}
	return nil
}

func (f *outlierFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key string, timer timers.Context,
	emitClean func(beam.EventTime, []byte), emitDead func(beam.EventTime, tickbeam.DeadLetter), emitAlert func(beam.EventTime, tickbeam.Alert)) error {
	m, ok, err := reorder.ReadMeta(sp, &f.Meta)
	if err != nil {
		return f.errorf(key, "%w", err)
	}
	if !ok {
		return nil
	}
	prev := m
	switch {
	case reorder.IsFlush(timer.Tag):
		if !m.Current(timer.Tag) {
			return nil // a stale firing: flushed already, or the hold moved
		}
		due, err := f.ord.Flush(sp, tp, &m)
		if err != nil {
			return f.errorf(key, "%w", err)
		}
		if err := f.judge(ctx, key, prev, &m.Aux, due, emitClean, emitDead, emitAlert); err != nil {
			return err
		}
		if err := reorder.WriteMeta(sp, &f.Meta, m); err != nil {
			return f.errorf(key, "write state: %w", err)
		}
		return nil
	case timer.Tag == reorder.TagRelease:
		if !f.ord.Released(tp, &m, mtime.Time(ts)) {
			return nil // a later tick moved the release: re-armed
		}
		due, err := f.ord.Drain(sp, tp, &m, ts)
		if err != nil {
			return f.errorf(key, "%w", err)
		}
		if err := f.judge(ctx, key, prev, &m.Aux, due, emitClean, emitDead, emitAlert); err != nil {
			return err
		}
		for _, clear := range []func(state.Provider) error{f.Meta.Clear, f.Buffer.Clear} {
			if err := clear(sp); err != nil {
				return f.errorf(key, "release state: %w", err)
			}
		}
		cReleased.Inc(ctx, 1)
		return nil
	}
	return f.errorf(key, "unexpected timer %q/%q", timer.Family, timer.Tag)
}

func (f *outlierFn) newState() outlierState {
	r := &f.Rule
	minHist := r.MinHistory
	if minHist == 0 {
		minHist = r.window()
	}
	accept := r.AcceptAfter
	if accept == 0 {
		accept = defaultAcceptAfter
	}
	return outlierState{
		D:  outlierDetector{Window: r.window(), Sigma: r.Sigma, Pct: r.Pct, MinHistory: minHist, AcceptAfter: accept},
		CD: eventCooldown{Period: r.Cooldown},
	}
}

// judge runs trades, in order, through the symbol's detector, whose state
// is in *detector (the reorder Meta's Aux).
func (f *outlierFn) judge(ctx context.Context, key string, prev reorder.Meta, detector *[]byte, trades []tickbeam.Tick,
	emitClean func(beam.EventTime, []byte), emitDead func(beam.EventTime, tickbeam.DeadLetter), emitAlert func(beam.EventTime, tickbeam.Alert)) error {
	if f.copies > 0 { // dropped by the take that gave trades
		dedupe.Duplicates.Inc(ctx, f.copies)
		f.copies = 0
	}
	st := f.newState()
	if len(*detector) > 0 {
		if err := json.Unmarshal(*detector, &st); err != nil {
			return f.errorf(key, "decode state: %w", err)
		}
	}
	ttl := f.Rule.stateTTL()
	last, has := prev.Frontier, prev.HasFrontier
	now := time.Now().UTC()
	var clean []tickbeam.Tick
	for _, t := range trades {
		ts := mtime.FromTime(t.EventTime)
		if has && time.Duration(t.EventTime.UnixNano()-last) >= ttl {
			st = f.newState()
		}
		last, has = t.EventTime.UnixNano(), true
		v := st.D.Evaluate(t.Price)
		switch {
		case v.Outlier:
			reason := f.reason(t, v)
			payload, err := json.Marshal(t)
			if err != nil {
				return f.errorf(key, "encode tick: %w", err)
			}
			attrs := map[string]string{"rule": f.Rule.Name, "symbol": t.Symbol}
			if t.TradeID != "" {
				attrs["trade_id"] = t.TradeID
			}
			emitDead(ts, tickbeam.NewDeadLetter(t.EventTime, payload, attrs, tickbeam.StageOutlier, t.Source, fmt.Errorf("%s", reason)))
			cQuarantined.Inc(ctx, 1)
			if st.CD.Allow(t.EventTime) {
				a := f.Rule.newAlert(t.Symbol, t.EventTime, f.Rule.severity(), t.Price, v.Last,
					fmt.Sprintf("%s trade %s quarantined as an outlier: %s", t.Symbol, g(t.Price), reason),
					attr("quarantined", "true"), attr("trade_id", t.TradeID))
				a.DetectedAt = now
				emitAlert(ts, a)
				cFired.Inc(ctx, 1)
			}
		case v.Accepted:
			clean = append(clean, t)
			cLevels.Inc(ctx, 1)
			a := f.Rule.newAlert(t.Symbol, t.EventTime, tickbeam.Info, t.Price, v.Last,
				fmt.Sprintf("%s: %d trades in a row away from %s: accepted %s as a new price level", t.Symbol, st.D.AcceptAfter, g(v.Last), g(t.Price)),
				attr("state", "new_level"), attr("trade_id", t.TradeID))
			a.DetectedAt = now
			emitAlert(ts, a)
			cFired.Inc(ctx, 1)
		default:
			clean = append(clean, t)
		}
	}
	emitTicks(emitClean, clean)
	enc, err := json.Marshal(st)
	if err != nil {
		return f.errorf(key, "write state: %w", err)
	}
	*detector = enc
	return nil
}

// reason says which limits a trade broke, and against what.
func (f *outlierFn) reason(t tickbeam.Tick, v outlierVerdict) string {
	var parts []string
	if f.Rule.Pct > 0 {
		parts = append(parts, fmt.Sprintf("%s%% from the last clean price %s (limit %s%%)", g(v.DevPct), g(v.Last), g(f.Rule.Pct)))
	}
	if f.Rule.Sigma > 0 {
		sig := g(v.DevSigma)
		if math.IsInf(v.DevSigma, 1) {
			sig = "infinitely many"
		}
		parts = append(parts, fmt.Sprintf("%s standard deviations from the mean %s of the last %d prices (limit %s)",
			sig, g(v.Mean), v.N, g(f.Rule.Sigma)))
	}
	return fmt.Sprintf("rule %s: %s", f.Rule.Name, strings.Join(parts, " and "))
}

func (f *outlierFn) errorf(key, format string, args ...any) error {
	return fmt.Errorf("alerts: rule %s: %q: %w", f.Rule.Name, key, fmt.Errorf(format, args...))
}
