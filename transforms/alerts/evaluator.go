package alerts

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

// Observation is one input row of a rule, reduced to the fields rules read.
// The transforms build it from ticks, bars, change rows, indicator values and
// crossover events; build it yourself to run a rule on any series (a
// change_pct rule reads Symbol, Time and Value).
type Observation struct {
	Symbol string
	// Time is the event time the rule evaluates at: a tick's event time, a
	// bar's window end (its close is known then), a row's event time.
	Time time.Time
	// ID breaks ties between equal Times (a tick's trade id).
	ID string
	// Pane is a bar's pane index: of several panes of one window, the
	// highest wins.
	Pane int64

	Price, Bid, Ask float64 // ticks (Price: last trade price; Bid, Ask: quotes)

	WindowStart                   time.Time // bars
	Close, VWAP, Volume, Notional float64   // bars

	Value float64 // change rows: change %; indicator rows: the value
	Ref   float64 // change rows: the previous close

	Name       string  // indicator or crossover name
	Cross      int8    // crossover events: +1 golden, -1 death
	Fast, Slow float64 // crossover events: the lines' values
}

// Evaluator runs one rule over one symbol's observations in event-time order.
// It is the pure-Go core of the sequence rules (every kind but stale_feed and
// outlier, which have their own state machines, Staleness and
// OutlierDetector); the Beam transforms keep one Evaluator state per rule and
// symbol. Its state survives MarshalState and UnmarshalState.
type Evaluator struct {
	rule  Rule
	sched *Schedule
	cross indicators.Crossover
	st    evalState

	set       *indicators.Set   // decoded st.Set
	lastEvent *indicators.Event // the crossover of the last updateSet
}

type evalState struct {
	Th   Threshold    `json:"th"`
	CD   Cooldown     `json:"cd"`
	VWAP SessionVWAP  `json:"vwap"`
	Vol  *VolumeSpike `json:"vol,omitempty"`
	Set  []byte       `json:"set,omitempty"` // indicators.Set, for rsi and ma_cross on bars
}

// NewEvaluator validates r and returns its Evaluator in the initial state.
func NewEvaluator(r Rule) (*Evaluator, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Kind == KindStaleFeed || r.Kind == KindOutlier {
		return nil, fmt.Errorf("alerts: rule %s: %s is not a sequence rule (use Staleness or OutlierDetector)", r.Name, r.Kind)
	}
	sc, err := NewSchedule(r.Sessions)
	if err != nil {
		return nil, fmt.Errorf("alerts: rule %s: %w", r.Name, err)
	}
	e := &Evaluator{rule: r, sched: sc}
	e.st = e.initial()
	if r.Kind == KindMACross {
		e.cross, _ = r.crossover()
	}
	return e, nil
}

func (e *Evaluator) initial() evalState {
	r := &e.rule
	st := evalState{CD: Cooldown{Period: r.Cooldown}}
	th := Threshold{Band: r.Band, Cooldown: r.Cooldown}
	switch r.Kind {
	case KindPriceLevel, KindPriceCross, KindPositionValue:
		th.Cross = r.Kind == KindPriceCross
		if r.Direction == Above {
			th.HasHigh, th.High = true, r.Threshold
		} else {
			th.HasLow, th.Low = true, r.Threshold
		}
	case KindChangePct, KindVWAPDeviation:
		d := r.direction()
		th.HasHigh, th.High = d == Above || d == Both, r.Threshold
		th.HasLow, th.Low = d == Below || d == Both, -r.Threshold
	case KindSpread, KindDrawdown:
		th.HasHigh, th.High = true, r.Threshold
	case KindRSI:
		th.HasHigh, th.High = r.Overbought > 0, r.Overbought
		th.HasLow, th.Low = r.Oversold > 0, r.Oversold
	case KindVolumeSpike:
		st.Vol = NewVolumeSpike(r.window(), r.Factor, r.ZScore, r.Band, r.Cooldown)
	}
	st.Th = th
	return st
}

// Rule returns the evaluator's rule.
func (e *Evaluator) Rule() Rule { return e.rule }

// Reset returns the evaluator to its initial state.
func (e *Evaluator) Reset() { e.st, e.set = e.initial(), nil }

// MarshalState encodes the evaluator's state.
func (e *Evaluator) MarshalState() ([]byte, error) {
	if e.set != nil {
		b, err := e.set.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("alerts: rule %s: encode indicators: %w", e.rule.Name, err)
		}
		e.st.Set = b
	}
	return json.Marshal(e.st)
}

// UnmarshalState restores a state written by MarshalState.
func (e *Evaluator) UnmarshalState(b []byte) error {
	st := e.initial()
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("alerts: rule %s: decode state: %w", e.rule.Name, err)
	}
	e.st, e.set = st, nil
	return nil
}

// updateSet feeds a bar to the rule's indicators (RSI, or the crossover's lines).
func (e *Evaluator) updateSet(o Observation) ([]indicators.Result, bool) {
	if e.set == nil {
		var err error
		if len(e.st.Set) > 0 {
			e.set = &indicators.Set{}
			err = e.set.UnmarshalBinary(e.st.Set)
		} else if e.rule.Kind == KindRSI {
			e.set, err = indicators.NewSet([]indicators.Spec{indicators.RSI(e.rule.period())})
		} else {
			e.set, err = indicators.NewSet(nil, e.cross)
		}
		if err != nil {
			e.set = nil
			return nil, false
		}
	}
	e.lastEvent = nil
	res, evs, err := e.set.Update(o.Close, o.VWAP)
	if err != nil {
		return nil, false
	}
	if len(evs) > 0 {
		e.lastEvent = &evs[0]
	}
	return res, true
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// round9 rounds a derived metric (percent, basis points) to 1e-9 so that
// binary rounding of its inputs does not decide a comparison with a round
// threshold: 100.1 − 99.9 is 0.19999999999999574 in float64, and a 20 bps
// spread must compare equal to a 20 bps threshold.
func round9(x float64) float64 { return math.Round(x*1e9) / 1e9 }

func g(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func attr(k, v string) tickbeam.Attribute { return tickbeam.Attribute{Key: k, Value: v} }

func sideName(s Side, high, low string) string {
	if s == High {
		return high
	}
	return low
}

// Observe evaluates o, which must be the symbol's next observation in
// event-time order, and returns the alerts it fires (DetectedAt zero).
func (e *Evaluator) Observe(o Observation) []tickbeam.Alert {
	r := &e.rule
	st := &e.st
	in := r.input()
	var extra []tickbeam.Attribute
	if in == InputBars || r.Resolution != "" {
		extra = append(extra, attr("resolution", r.Resolution))
	}
	fire := func(v, limit float64, msg string, more ...tickbeam.Attribute) []tickbeam.Alert {
		return []tickbeam.Alert{r.newAlert(o.Symbol, o.Time, r.severity(), v, limit, msg, append(extra, more...)...)}
	}
	switch r.Kind {
	case KindDrawdown, KindPositionValue:
		return e.observePortfolio(o)
	case KindPriceLevel, KindPriceCross:
		v, what := o.Price, "price"
		if in == InputBars {
			v, what = o.Close, r.Resolution+" close"
		}
		if !(v > 0) || !finite(v) {
			return nil
		}
		s := st.Th.Evaluate(v, o.Time)
		if s == NoSide {
			return nil
		}
		dir := sideName(s, "above", "below")
		if r.Kind == KindPriceCross {
			return fire(v, r.Threshold, fmt.Sprintf("%s %s %s crossed %s %s", o.Symbol, what, g(v), dir, g(r.Threshold)), attr("direction", dir))
		}
		return fire(v, r.Threshold, fmt.Sprintf("%s %s %s is at or %s %s", o.Symbol, what, g(v), dir, g(r.Threshold)), attr("direction", dir))

	case KindChangePct:
		if !finite(o.Value) {
			return nil
		}
		s := st.Th.Evaluate(o.Value, o.Time)
		if s == NoSide {
			return nil
		}
		dir, limit := sideName(s, "up", "down"), sideName(s, "+", "-")+g(r.Threshold)+"%"
		msg := fmt.Sprintf("%s is %s %s%% vs the previous close (limit %s)", o.Symbol, dir, g(math.Abs(o.Value)), limit)
		if o.Ref > 0 {
			msg = fmt.Sprintf("%s is %s %s%% vs the previous close %s (limit %s)", o.Symbol, dir, g(math.Abs(o.Value)), g(o.Ref), limit)
		}
		return fire(o.Value, float64(s)*r.Threshold, msg, attr("direction", dir))

	case KindVWAPDeviation:
		ref, what := o.VWAP, "bar VWAP"
		if r.VWAP == "session" {
			var ok bool
			if ref, ok = st.VWAP.Add(e.sessionDay(o), o.Notional, o.Volume); !ok {
				return nil
			}
			what = "session VWAP"
		}
		if !(ref > 0) || !finite(ref, o.Close) {
			return nil
		}
		dev := round9((o.Close - ref) / ref * 100)
		s := st.Th.Evaluate(dev, o.Time)
		if s == NoSide {
			return nil
		}
		dir := sideName(s, "above", "below")
		return fire(dev, float64(s)*r.Threshold, fmt.Sprintf("%s %s close %s is %s%% %s the %s %s (limit %s%%)",
			o.Symbol, r.Resolution, g(o.Close), g(math.Abs(dev)), dir, what, g(ref), g(r.Threshold)), attr("direction", dir), attr("vwap", g(ref)))

	case KindSpread:
		if !(o.Bid > 0 && o.Ask >= o.Bid) || !finite(o.Bid, o.Ask) {
			return nil
		}
		bps := round9((o.Ask - o.Bid) / ((o.Ask + o.Bid) / 2) * 1e4)
		if st.Th.Evaluate(bps, o.Time) == NoSide {
			return nil
		}
		return fire(bps, r.Threshold, fmt.Sprintf("%s spread %s bps (bid %s, ask %s) is at or above %s bps",
			o.Symbol, g(bps), g(o.Bid), g(o.Ask), g(r.Threshold)))

	case KindVolumeSpike:
		if !finite(o.Volume) || o.Volume < 0 {
			return nil
		}
		ok, metric, level := st.Vol.Evaluate(o.Volume, o.Time)
		if !ok {
			return nil
		}
		var msg string
		if r.Factor > 0 {
			msg = fmt.Sprintf("%s %s volume %s is %s× the mean of the last %d bars (limit %s×)", o.Symbol, r.Resolution, g(o.Volume), g(metric), r.window(), g(r.Factor))
		} else {
			msg = fmt.Sprintf("%s %s volume %s is %s standard deviations above the mean of the last %d bars (limit %s)", o.Symbol, r.Resolution, g(o.Volume), g(metric), r.window(), g(r.ZScore))
		}
		return fire(o.Volume, level, msg, attr("metric", g(metric)))

	case KindRSI:
		v := o.Value
		if in == InputBars {
			res, ok := e.updateSet(o)
			if !ok || len(res) == 0 {
				return nil
			}
			v = res[0].Value.Value
		}
		if !finite(v) {
			return nil
		}
		s := st.Th.Evaluate(v, o.Time)
		if s == NoSide {
			return nil
		}
		state, limit := sideName(s, "overbought", "oversold"), r.Overbought
		cmp := ">="
		if s == Low {
			limit, cmp = r.Oversold, "<="
		}
		return fire(v, limit, fmt.Sprintf("%s RSI(%d) %s is %s (%s %s)", o.Symbol, r.period(), g(v), state, cmp, g(limit)), attr("direction", state))

	case KindMACross:
		cross, fast, slow := indicators.Cross(o.Cross), o.Fast, o.Slow
		if in == InputBars {
			_, ok := e.updateSet(o)
			if !ok || e.lastEvent == nil {
				return nil
			}
			cross, fast, slow = e.lastEvent.Cross, e.lastEvent.FastValue, e.lastEvent.SlowValue
		}
		if cross == indicators.NoCross {
			return nil
		}
		d := r.direction()
		if (cross == indicators.GoldenCross && d == Death) || (cross == indicators.DeathCross && d == Golden) {
			return nil
		}
		if !st.CD.Allow(o.Time) {
			return nil
		}
		dir := "above"
		if cross == indicators.DeathCross {
			dir = "below"
		}
		return fire(fast, slow, fmt.Sprintf("%s %s %s: %s %s crossed %s %s %s", o.Symbol, r.Resolution, cross,
			e.cross.Fast.Name(), g(fast), dir, e.cross.Slow.Name(), g(slow)), attr("direction", cross.String()))
	}
	return nil
}

// sessionDay is the trading day of a bar for the session VWAP: the
// calendar's session day of its window start, else its local (or UTC) date.
func (e *Evaluator) sessionDay(o Observation) string {
	t := o.WindowStart
	if t.IsZero() {
		t = o.Time
	}
	if cal := e.sched.Calendar(); cal != nil {
		if d, ok := cal.SessionDay(t); ok {
			return d.String()
		}
		return t.In(cal.Location()).Format(time.DateOnly)
	}
	return t.UTC().Format(time.DateOnly)
}
