package alerts

import (
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// Inputs are the collections a RuleSet's rules read. Leave a field zero when
// the pipeline does not have it; Apply then fails, naming the rules that
// need it.
type Inputs struct {
	// Ticks: tickbeam.Tick or dedupe.Batch (dedupe.Batches: no step per
	// tick): price_level/price_cross/price_range on ticks, spread,
	// stale_feed, outlier. The rules other than outlier evaluate a tick
	// that comes twice (the same time, trade id and prices) once, so they
	// may read dedupe.Options.Early's batches, which come before dedupe's
	// window closes.
	Ticks      beam.PCollection
	Bars       beam.PCollection // tickbeam.Bar, any resolutions: bar rules pick theirs
	Changes    beam.PCollection // tickbeam.PriceChange, alerts.Observation or a change struct (see Apply): change_pct
	Indicators beam.PCollection // tickbeam.IndicatorValue: rsi with input indicators
	Crosses    beam.PCollection // indicators.CrossEvent: ma_cross with input crosses
	Portfolio  beam.PCollection // tickbeam.PortfolioRow: drawdown, position_value
}

// Outputs are what Apply builds.
type Outputs struct {
	// Alerts of every rule, PCollection<tickbeam.Alert> in the global
	// window (one Flatten over the rules' outputs). Alert.Rule names the
	// rule.
	Alerts beam.PCollection
	// Quarantined are the outlier rules' dead letters,
	// PCollection<tickbeam.DeadLetter>; invalid (IsValid false) when the
	// set has no outlier rule.
	Quarantined beam.PCollection
	// CleanTicks are the ticks that passed every outlier rule (Inputs.Ticks
	// itself when there is none, batches included); the other tick rules
	// read them.
	CleanTicks beam.PCollection
}

func (in Inputs) of(i Input) (beam.PCollection, string) {
	switch i {
	case InputTicks:
		return in.Ticks, "Ticks"
	case InputBars:
		return in.Bars, "Bars"
	case InputChanges:
		return in.Changes, "Changes"
	case InputIndicators:
		return in.Indicators, "Indicators"
	case InputPortfolio:
		return in.Portfolio, "Portfolio"
	}
	return in.Crosses, "Crosses"
}

// Apply builds every rule of rs on the pipeline: outlier rules first, in
// file order, each reading the previous one's clean ticks; then the other
// rules, tick rules on the clean ticks (stale_feed on Inputs.Ticks: a
// quarantined tick still shows the feed is alive). The sequence rules of one
// input (all the price rules on ticks, all the bar rules, ...) share one
// stateful step, so fifty rules cost about what one does: per symbol one
// reorder buffer, and each row evaluated by the rules that read it. It checks first that every rule's
// input is present and of the right type and returns all problems at once,
// naming the rule and its line, before adding anything to the pipeline.
//
// Bar rules read the Bars of their resolution (other rows are skipped), rsi
// on indicators its rsi_N rows, ma_cross on crosses its fast/slow pair.
// Changes may be PCollection<tickbeam.PriceChange> (rows without a previous
// close are skipped), PCollection<alerts.Observation> (Symbol, Time, Value =
// change %, Ref = previous close), or of any struct with the fields Symbol
// string, EventTime time.Time and ChangePct float64 (PrevClose float64
// optional; 0 skips the row).
//
// Apply panics on those problems, as Beam transforms do at construction;
// TryApply returns them as an error instead.
func Apply(s beam.Scope, in Inputs, rs *RuleSet) Outputs {
	out, err := TryApply(s, in, rs)
	if err != nil {
		panic(err)
	}
	return out
}

// TryApply is Apply returning the problems of rs and in as an error instead
// of panicking.
func TryApply(s beam.Scope, in Inputs, rs *RuleSet) (Outputs, error) {
	if rs == nil || len(rs.Rules) == 0 {
		return Outputs{}, errors.New("alerts.Apply: no rules")
	}
	var errs []error
	for _, r := range rs.Rules {
		where := fmt.Sprintf("rule %s (%s", r.Name, r.Kind)
		if l := rs.Line(r.Name); l > 0 && rs.Source != "" {
			where += fmt.Sprintf(", %s:%d", rs.Source, l)
		}
		where += ")"
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("alerts.Apply: %s: %w", where, err))
			continue
		}
		col, field := in.of(r.input())
		if !col.IsValid() {
			errs = append(errs, fmt.Errorf("alerts.Apply: %s reads %s, but Inputs.%s is not set", where, r.input(), field))
			continue
		}
		if !r.sequence() {
			if got := col.Type().Type(); got != tickType && got != batchType {
				errs = append(errs, fmt.Errorf("alerts.Apply: %s: Inputs.Ticks must be a PCollection<%v> or PCollection<%v>, got PCollection<%v>", where, tickType, batchType, got))
			}
		} else if _, err := converter([]Rule{r}, col); err != nil {
			errs = append(errs, fmt.Errorf("alerts.Apply: %s: %w", where, err))
		}
	}
	if len(errs) > 0 {
		return Outputs{}, errors.Join(errs...)
	}
	s = s.Scope("alerts.Apply")
	out := Outputs{CleanTicks: in.Ticks}
	var all, dead []beam.PCollection
	for _, r := range rs.Rules {
		if k := r.spec(); k.filter {
			if out.CleanTicks.Type().Type() == batchType {
				out.CleanTicks = dedupe.Unbatch(s, out.CleanTicks) // the outlier rules judge ticks
			}
			clean, q, a, err := k.build(s, r, out.CleanTicks)
			if err != nil {
				return Outputs{}, err
			}
			out.CleanTicks = clean
			dead = append(dead, q)
			all = append(all, a)
		}
	}
	var groups []Input // sequence rules' inputs, in file order
	byInput := map[Input][]Rule{}
	for _, r := range rs.Rules {
		switch k := r.spec(); {
		case k.filter:
		case k.build != nil:
			ticks := out.CleanTicks
			if k.rawTicks {
				ticks = in.Ticks
			}
			_, q, a, err := k.build(s, r, ticks)
			if err != nil {
				return Outputs{}, err
			}
			if q.IsValid() {
				dead = append(dead, q)
			}
			all = append(all, a)
		default:
			if _, ok := byInput[r.input()]; !ok {
				groups = append(groups, r.input())
			}
			byInput[r.input()] = append(byInput[r.input()], r)
		}
	}
	for _, i := range groups {
		col, _ := in.of(i)
		if i == InputTicks {
			col = out.CleanTicks
		}
		rules := byInput[i]
		for n := 0; len(rules) > 0; n++ {
			k := min(len(rules), maxGroup)
			name := "alerts." + string(i)
			if n > 0 {
				name += fmt.Sprintf(".%d", n)
			}
			a, err := tryEvaluate(s, name, rules[:k], col)
			if err != nil {
				return Outputs{}, err
			}
			all = append(all, a)
			rules = rules[k:]
		}
	}
	out.Alerts = flatten(s, all)
	if len(dead) > 0 {
		out.Quarantined = flatten(s, dead)
	}
	return out, nil
}

func flatten(s beam.Scope, cols []beam.PCollection) beam.PCollection {
	if len(cols) == 1 {
		return cols[0]
	}
	return beam.Flatten(s, cols...)
}
