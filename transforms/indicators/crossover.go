package indicators

import (
	"fmt"
	"strconv"
	"strings"
)

// Cross is what a Crossover reports for one pair of values.
type Cross int8

// Crossover outcomes.
const (
	NoCross     Cross = 0
	GoldenCross Cross = 1  // the fast line crossed above the slow line
	DeathCross  Cross = -1 // the fast line crossed below the slow line
)

// String is "golden_cross", "death_cross" or "none".
func (c Cross) String() string {
	switch c {
	case GoldenCross:
		return "golden_cross"
	case DeathCross:
		return "death_cross"
	case NoCross:
		return "none"
	}
	return "Cross(" + strconv.Itoa(int(c)) + ")"
}

// Crossover detects a fast moving average crossing a slow one, in both
// directions. Fast and Slow are SMA or EMA specs; fed to a Set, their values
// come from the Set's indicators of those specs.
//
// The rule: a cross is a change of sign of fast − slow from strictly negative
// to strictly positive (GoldenCross) or from strictly positive to strictly
// negative (DeathCross). Bars where the lines are equal do not change the
// remembered sign, so a touch (−, 0, −) is not a cross, while (−, 0, +) is a
// GoldenCross reported on the bar where fast is first strictly above. The
// first strict comparison only sets the sign: no cross is reported for it.
type Crossover struct {
	Fast, Slow Spec
	// LastSign is the crossover's state: +1 if fast was above slow at the
	// last bar where they differed, −1 if below, 0 before any such bar.
	LastSign int8
}

// Update compares one bar's fast and slow values and reports a cross. NaN
// values are ignored (no cross, no change of state).
func (c *Crossover) Update(fast, slow float64) Cross {
	var sign int8
	switch {
	case fast > slow:
		sign = 1
	case fast < slow:
		sign = -1
	default: // equal, or a NaN
		return NoCross
	}
	last := c.LastSign
	c.LastSign = sign
	if last == 0 || last == sign {
		return NoCross
	}
	return Cross(sign)
}

// Name identifies the crossover in events: the two indicator names joined by
// "_x_", e.g. sma_50_x_sma_200.
func (c Crossover) Name() string { return c.Fast.Name() + "_x_" + c.Slow.Name() }

// String is the crossover in ParseCrossovers syntax, e.g. sma:50/sma:200.
func (c Crossover) String() string { return c.Fast.String() + "/" + c.Slow.String() }

// Validate reports whether both lines are valid SMA or EMA specs, different,
// with the fast period no longer than the slow one.
func (c Crossover) Validate() error {
	return c.validate(strconv.Quote(c.String()))
}

func (c Crossover) validate(label string) error {
	for _, s := range []struct {
		role string
		spec Spec
	}{{"fast", c.Fast}, {"slow", c.Slow}} {
		if err := s.spec.Validate(); err != nil {
			return fmt.Errorf("indicators: crossover %s: %s line: %s", label, s.role, unprefixed(err))
		}
		if s.spec.Kind != KindSMA && s.spec.Kind != KindEMA {
			return fmt.Errorf("indicators: crossover %s: %s line must be sma or ema, got %s", label, s.role, s.spec.Kind)
		}
	}
	if c.Fast.Name() == c.Slow.Name() {
		return fmt.Errorf("indicators: crossover %s: fast and slow lines are the same", label)
	}
	if c.Fast.Params[0] > c.Slow.Params[0] {
		return fmt.Errorf("indicators: crossover %s: fast period (%s) must not exceed slow period (%s)",
			label, formatParam(c.Fast.Params[0]), formatParam(c.Slow.Params[0]))
	}
	return nil
}

// ParseCrossovers parses a comma-separated list of FAST/SLOW pairs, e.g.
// "sma:50/sma:200,ema:12/ema:26". An empty or blank string is none.
func ParseCrossovers(list string) ([]Crossover, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	items := strings.Split(list, ",")
	out := make([]Crossover, 0, len(items))
	seen := make(map[string]string, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("indicators: crossover %d of %q is empty", i+1, list)
		}
		label := strconv.Quote(item)
		fast, slow, ok := strings.Cut(item, "/")
		if !ok || strings.Contains(slow, "/") {
			return nil, fmt.Errorf("indicators: crossover %s: want FAST/SLOW, e.g. sma:50/sma:200", label)
		}
		var c Crossover
		var err error
		if c.Fast, err = ParseSpec(fast); err != nil {
			return nil, fmt.Errorf("indicators: crossover %s: fast line: %s", label, unprefixed(err))
		}
		if c.Slow, err = ParseSpec(slow); err != nil {
			return nil, fmt.Errorf("indicators: crossover %s: slow line: %s", label, unprefixed(err))
		}
		if err := c.validate(label); err != nil {
			return nil, err
		}
		name := c.Name()
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("indicators: duplicate crossover %s (%q and %q)", name, prev, item)
		}
		seen[name] = item
		out = append(out, c)
	}
	return out, nil
}

// unprefixed is err's message without the package prefix, for nesting.
func unprefixed(err error) string { return strings.TrimPrefix(err.Error(), "indicators: ") }
