package indicators

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Indicator kinds, as written in a spec string.
const (
	KindSMA          = "sma"      // sma:PERIOD
	KindEMA          = "ema"      // ema:PERIOD
	KindRSI          = "rsi"      // rsi:PERIOD
	KindMACD         = "macd"     // macd:FAST:SLOW:SIGNAL
	KindBollinger    = "bb"       // bb:PERIOD:K
	KindVWAPDistance = "vwapdist" // vwapdist
)

// MaxPeriod is the largest period accepted (TA-Lib's limit). State per
// indicator is at most one float64 per period unit.
const MaxPeriod = 100000

// Spec names one indicator and its parameters: Kind is one of the Kind
// constants and Params its numbers in spec-string order (all integer periods,
// except Bollinger's K). Build one with SMA, EMA, RSI, MACD, Bollinger or
// VWAPDistance, or parse one with ParseSpecs.
type Spec struct {
	Kind   string
	Params []float64
}

// SMA is the spec of the simple moving average over period closes.
func SMA(period int) Spec { return Spec{Kind: KindSMA, Params: []float64{float64(period)}} }

// EMA is the spec of the exponential moving average of period closes.
func EMA(period int) Spec { return Spec{Kind: KindEMA, Params: []float64{float64(period)}} }

// RSI is the spec of Wilder's relative strength index over period changes.
func RSI(period int) Spec { return Spec{Kind: KindRSI, Params: []float64{float64(period)}} }

// MACD is the spec of the moving average convergence/divergence.
func MACD(fast, slow, signal int) Spec {
	return Spec{Kind: KindMACD, Params: []float64{float64(fast), float64(slow), float64(signal)}}
}

// Bollinger is the spec of Bollinger bands: SMA(period) ± k population
// standard deviations.
func Bollinger(period int, k float64) Spec {
	return Spec{Kind: KindBollinger, Params: []float64{float64(period), k}}
}

// VWAPDistance is the spec of the close's distance from the bar's VWAP in
// percent.
func VWAPDistance() Spec { return Spec{Kind: KindVWAPDistance} }

// kindInfo describes the parameters of a kind.
type kindInfo struct {
	params []string // parameter names, as used in error messages
	usage  string
}

var kinds = map[string]kindInfo{
	KindSMA:          {[]string{"period"}, "sma:PERIOD"},
	KindEMA:          {[]string{"period"}, "ema:PERIOD"},
	KindRSI:          {[]string{"period"}, "rsi:PERIOD"},
	KindMACD:         {[]string{"fast period", "slow period", "signal period"}, "macd:FAST:SLOW:SIGNAL"},
	KindBollinger:    {[]string{"period", "k"}, "bb:PERIOD:K"},
	KindVWAPDistance: {nil, "vwapdist"},
}

const knownKinds = "sma, ema, rsi, macd, bb, vwapdist"

func formatParam(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

// Name is the indicator's name in IndicatorValue rows: the kind and the
// parameters joined by underscores (sma_20, macd_12_26_9, bb_20_2,
// bb_20_2.5), and vwap_distance for VWAPDistance.
func (s Spec) Name() string {
	if s.Kind == KindVWAPDistance {
		return "vwap_distance"
	}
	return s.join("_")
}

// String is the spec in ParseSpecs syntax: sma:20, bb:20:2.5, vwapdist.
func (s Spec) String() string { return s.join(":") }

func (s Spec) join(sep string) string {
	var b strings.Builder
	b.WriteString(s.Kind)
	for _, p := range s.Params {
		b.WriteString(sep)
		b.WriteString(formatParam(p))
	}
	return b.String()
}

// period returns the i-th parameter as an int; valid only after Validate.
func (s Spec) period(i int) int { return int(s.Params[i]) }

// Validate reports whether s is a spec New accepts, with the same messages
// as ParseSpecs.
func (s Spec) Validate() error {
	return s.validate(strconv.Quote(s.String()), func(i int) string { return formatParam(s.Params[i]) })
}

// validate checks s; item names the spec in messages and shown(i) renders
// parameter i as the user wrote it.
func (s Spec) validate(item string, shown func(i int) string) error {
	info, ok := kinds[s.Kind]
	if !ok {
		return fmt.Errorf("indicators: %s: unknown indicator %q (known: %s)", item, s.Kind, knownKinds)
	}
	if len(s.Params) != len(info.params) {
		return fmt.Errorf("indicators: %s: %s takes %s (%s), got %d", item, s.Kind, plural(len(info.params)), info.usage, len(s.Params))
	}
	for i, name := range info.params {
		p := s.Params[i]
		if name == "k" {
			if !(p > 0) || math.IsInf(p, 0) {
				return fmt.Errorf("indicators: %s: k must be a positive number, got %s", item, shown(i))
			}
			continue
		}
		if !(p >= 1 && p <= MaxPeriod && p == math.Trunc(p)) {
			return fmt.Errorf("indicators: %s: %s must be an integer from 1 to %d, got %s", item, name, MaxPeriod, shown(i))
		}
	}
	if s.Kind == KindMACD && s.Params[0] >= s.Params[1] {
		return fmt.Errorf("indicators: %s: fast period (%s) must be less than slow period (%s)",
			item, formatParam(s.Params[0]), formatParam(s.Params[1]))
	}
	return nil
}

func plural(n int) string {
	switch n {
	case 0:
		return "no parameters"
	case 1:
		return "1 parameter"
	}
	return strconv.Itoa(n) + " parameters"
}

// ParseSpec parses one indicator spec such as "sma:20", "macd:12:26:9",
// "bb:20:2.5" or "vwapdist". The kind is case-insensitive and spaces around
// the parts are ignored.
func ParseSpec(item string) (Spec, error) {
	label := strconv.Quote(strings.TrimSpace(item))
	parts := strings.Split(item, ":")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	kind := strings.ToLower(parts[0])
	if kind == "" {
		return Spec{}, fmt.Errorf("indicators: %s: missing indicator kind (known: %s)", label, knownKinds)
	}
	info, ok := kinds[kind]
	if !ok {
		return Spec{}, fmt.Errorf("indicators: %s: unknown indicator %q (known: %s)", label, parts[0], knownKinds)
	}
	raw := parts[1:]
	if len(raw) != len(info.params) {
		return Spec{}, fmt.Errorf("indicators: %s: %s takes %s (%s), got %d", label, kind, plural(len(info.params)), info.usage, len(raw))
	}
	s := Spec{Kind: kind}
	if len(raw) > 0 {
		s.Params = make([]float64, len(raw))
	}
	shown := func(i int) string { return strconv.Quote(raw[i]) }
	for i, tok := range raw {
		if info.params[i] == "k" {
			k, err := strconv.ParseFloat(tok, 64)
			if err != nil || math.IsNaN(k) || math.IsInf(k, 0) || k <= 0 {
				return Spec{}, fmt.Errorf("indicators: %s: k must be a positive number, got %s", label, shown(i))
			}
			s.Params[i] = k
			continue
		}
		n, err := parsePeriod(tok)
		if err != nil {
			return Spec{}, fmt.Errorf("indicators: %s: %s must be an integer from 1 to %d, got %s", label, info.params[i], MaxPeriod, shown(i))
		}
		s.Params[i] = float64(n)
	}
	if err := s.validate(label, shown); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// parsePeriod accepts decimal digits only: no sign, exponent or fraction.
func parsePeriod(tok string) (int, error) {
	if tok == "" || len(tok) > 9 {
		return 0, errors.New("bad period")
	}
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, errors.New("bad period")
		}
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 1 || n > MaxPeriod {
		return 0, errors.New("bad period")
	}
	return n, nil
}

// ParseSpecs parses a comma-separated list of specs (the monitor command's
// --indicators flag), e.g. "sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2". An
// empty or blank string is no indicators. Two specs with the same Name (say
// "bb:20:2" and "bb:20:2.0") are an error.
func ParseSpecs(list string) ([]Spec, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	items := strings.Split(list, ",")
	specs := make([]Spec, 0, len(items))
	seen := make(map[string]string, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("indicators: item %d of %q is empty", i+1, list)
		}
		s, err := ParseSpec(item)
		if err != nil {
			return nil, err
		}
		name := s.Name()
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("indicators: duplicate indicator %s (%q and %q)", name, prev, item)
		}
		seen[name] = item
		specs = append(specs, s)
	}
	return specs, nil
}

func (s Spec) clone() Spec {
	if s.Params != nil {
		s.Params = append([]float64(nil), s.Params...)
	}
	return s
}
