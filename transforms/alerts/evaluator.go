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
// outlier, which Apply runs as transforms of their own); Apply keeps one
// Evaluator state per rule and symbol. Its state survives MarshalState and
// UnmarshalState.
type Evaluator struct {
	rule  Rule
	kind  *kindSpec
	sched *sessionSchedule
	cross indicators.Crossover
	st    evalState

	set       *indicators.Set   // decoded st.Set
	lastEvent *indicators.Event // the crossover of the last updateSet
}

type evalState struct {
	Th   limitState    `json:"th"`
	CD   eventCooldown `json:"cd"`
	VWAP sessionVWAP   `json:"vwap"`
	Vol  *volumeSpike  `json:"vol,omitempty"`
	Set  []byte        `json:"set,omitempty"` // indicators.Set, for rsi and ma_cross on bars
}

// NewEvaluator validates r and returns its Evaluator in the initial state.
func NewEvaluator(r Rule) (*Evaluator, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if !r.sequence() {
		return nil, fmt.Errorf("alerts: rule %s: %s is not a sequence rule (Apply runs it)", r.Name, r.Kind)
	}
	sc, err := newSchedule(r.Sessions)
	if err != nil {
		return nil, fmt.Errorf("alerts: rule %s: %w", r.Name, err)
	}
	e := &Evaluator{rule: r, kind: r.spec(), sched: sc}
	e.st = e.initial()
	if r.Fast != "" {
		e.cross, _ = r.crossover()
	}
	return e, nil
}

// initial is the rule's initial state: the kind's limits, with the rule's
// band and cooldown.
func (e *Evaluator) initial() evalState {
	r := &e.rule
	st := evalState{CD: eventCooldown{Period: r.Cooldown}, Th: limitState{Band: r.Band, Cooldown: r.Cooldown}}
	e.kind.start(r, &st)
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

// updateSet feeds a bar to the rule's indicators, which newSet makes at
// the first bar (RSI, or the crossover's lines).
func (e *Evaluator) updateSet(o Observation, newSet func() (*indicators.Set, error)) ([]indicators.Result, bool) {
	if e.set == nil {
		var err error
		if len(e.st.Set) > 0 {
			e.set = &indicators.Set{}
			err = e.set.UnmarshalBinary(e.st.Set)
		} else {
			e.set, err = newSet()
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

func sideName(s limitSide, high, low string) string {
	if s == highSide {
		return high
	}
	return low
}

// Observe evaluates o, which must be the symbol's next observation in
// event-time order, and returns the alerts it fires (DetectedAt zero).
func (e *Evaluator) Observe(o Observation) []tickbeam.Alert { return e.kind.observe(e, o) }

// fire is the alert of a firing at o: value v against limit, with the
// rule's labels, the resolution of a bar rule and more.
func (e *Evaluator) fire(o Observation, v, limit float64, msg string, more ...tickbeam.Attribute) []tickbeam.Alert {
	r := &e.rule
	var extra []tickbeam.Attribute
	if r.input() == InputBars || r.Resolution != "" {
		extra = append(extra, attr("resolution", r.Resolution))
	}
	return []tickbeam.Alert{r.newAlert(o.Symbol, o.Time, r.severity(), v, limit, msg, append(extra, more...)...)}
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
