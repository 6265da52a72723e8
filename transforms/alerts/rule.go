package alerts

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

// Kind names what a rule watches.
type Kind string

// Rule kinds.
const (
	// KindPriceLevel fires when the price is at or beyond a level (above or
	// below), including the first price seen: "value below a level".
	KindPriceLevel Kind = "price_level"
	// KindPriceCross fires when the price crosses a level from the other side.
	KindPriceCross Kind = "price_cross"
	// KindVWAPDeviation fires when a bar's close is Threshold percent or more
	// away from the bar's VWAP or from the session VWAP.
	KindVWAPDeviation Kind = "vwap_deviation"
	// KindVolumeSpike fires when a bar's volume is Factor times the mean of
	// the previous Window bars or more, or ZScore standard deviations above it.
	KindVolumeSpike Kind = "volume_spike"
	// KindChangePct fires when the change versus the previous close is
	// Threshold percent or more, up, down or both.
	KindChangePct Kind = "change_pct"
	// KindMACross fires on a golden or death cross of a fast and a slow
	// moving average.
	KindMACross Kind = "ma_cross"
	// KindRSI fires when RSI reaches Overbought or Oversold.
	KindRSI Kind = "rsi"
	// KindSpread fires when a quote's ask−bid spread is Threshold basis
	// points of the mid or more.
	KindSpread Kind = "spread"
	// KindStaleFeed fires when a symbol has had no tick for MaxSilence of
	// open market, and sends an INFO recovery notice when data returns.
	KindStaleFeed Kind = "stale_feed"
	// KindOutlier quarantines ticks whose price jumps beyond Sigma standard
	// deviations of the recent prices and/or Pct percent of the last price.
	KindOutlier Kind = "outlier"
	// KindDrawdown fires when a position's price, or a currency's portfolio
	// value index, is Threshold percent or more below its peak
	// (tickbeam.PortfolioRow's drawdown_pct).
	KindDrawdown Kind = "drawdown"
	// KindPositionValue fires when a position's market value, or a
	// currency's portfolio value, is at or beyond a level (above or below),
	// in that currency.
	KindPositionValue Kind = "position_value"
)

// Kinds lists the rule kinds.
func Kinds() []Kind {
	return []Kind{KindPriceLevel, KindPriceCross, KindVWAPDeviation, KindVolumeSpike, KindChangePct,
		KindMACross, KindRSI, KindSpread, KindStaleFeed, KindOutlier, KindDrawdown, KindPositionValue}
}

// Input names the collection a rule reads.
type Input string

// Inputs a rule can read.
const (
	InputTicks      Input = "ticks"      // tickbeam.Tick
	InputBars       Input = "bars"       // tickbeam.Bar, one resolution
	InputChanges    Input = "changes"    // change versus previous close rows
	InputIndicators Input = "indicators" // indicator value rows
	InputCrosses    Input = "crosses"    // moving-average crossover events
	InputPortfolio  Input = "portfolio"  // tickbeam.PortfolioRow
)

// Direction says which way a threshold or crossover fires.
type Direction string

// Directions. Up and Down are accepted as Above and Below in rules files.
const (
	Above  Direction = "above"
	Below  Direction = "below"
	Both   Direction = "both"
	Golden Direction = "golden" // ma_cross: the fast line crosses above the slow one
	Death  Direction = "death"  // ma_cross: the fast line crosses below the slow one
)

// Defaults.
const (
	DefaultSeverity    = tickbeam.Warning
	DefaultWindow      = 20
	DefaultRSIPeriod   = 14
	DefaultAcceptAfter = 3
	// DefaultStateTTL is how long a symbol's rule state outlives its last
	// input (event time) before it is released; a weekend must not reset a
	// trailing volume mean, so it is a week.
	DefaultStateTTL = 7 * 24 * time.Hour
)

// Rule is one alert rule. Build it in Go or load it from a rules file
// (LoadRules); Validate it before use. Fields that do not apply to the Kind
// must be zero. A Rule is plain data, so a Beam DoFn can carry it.
type Rule struct {
	// Name identifies the rule in alerts (rule) and alert ids: lower-case
	// letters, digits, '-', '_' and '.', unique in a RuleSet.
	Name        string `json:"name"`
	Kind        Kind   `json:"kind"`
	Description string `json:"description,omitempty"`
	// Symbols are glob patterns (path.Match: *, ?, [a-z]), e.g. "BTC*";
	// empty means every symbol.
	Symbols []string `json:"symbols,omitempty"`
	// Input: ticks or bars for price_level and price_cross (default ticks),
	// bars or indicators for rsi (default bars), bars or crosses for
	// ma_cross (default bars). Other kinds have one input.
	Input Input `json:"input,omitempty"`
	// Resolution of the bars a bar rule reads, e.g. "1m".
	Resolution string `json:"resolution,omitempty"`
	// Direction: above or below (price_level, price_cross); above, below or
	// both (change_pct, vwap_deviation; default both); golden, death or
	// both (ma_cross; default both).
	Direction Direction `json:"direction,omitempty"`
	// Threshold: the price level (price_level, price_cross), percent
	// (change_pct, vwap_deviation) or basis points (spread).
	Threshold float64 `json:"threshold,omitempty"`
	// Band is the hysteresis band, in the threshold's unit: a limit that
	// fired re-arms only once the value is back past it by Band.
	Band float64 `json:"band,omitempty"`
	// Cooldown: after a firing for a symbol, the rule does not fire for it
	// again for this long (event time).
	Cooldown time.Duration `json:"cooldown,omitempty"`
	// Severity of the alerts; default WARNING. Recovery notices are INFO.
	Severity tickbeam.Severity `json:"severity,omitempty"`
	// Sessions: when the rule is active. Inputs outside are ignored, except
	// by stale_feed, for which they define when silence counts. Nil: always.
	Sessions *Sessions `json:"sessions,omitempty"`
	// Notify names notifiers (a RuleSet's webhooks and emails); the alerts
	// carry them in the "notify" label.
	Notify []string `json:"notify,omitempty"`
	// Labels are added to every alert of the rule.
	Labels map[string]string `json:"labels,omitempty"`

	// Window: trailing bars (volume_spike) or prices (outlier); default 20.
	Window int `json:"window,omitempty"`
	// Factor: volume_spike fires when volume >= Factor × trailing mean.
	Factor float64 `json:"factor,omitempty"`
	// ZScore: volume_spike fires when (volume − mean)/sd >= ZScore.
	ZScore float64 `json:"zscore,omitempty"`
	// VWAP: "bar" (the bar's own VWAP, default) or "session" (cumulative
	// over the trading day of the Sessions calendar, else the UTC day).
	VWAP string `json:"vwap,omitempty"`
	// Fast and Slow: ma_cross lines as indicator specs, e.g. "sma:50", "sma:200".
	Fast string `json:"fast,omitempty"`
	Slow string `json:"slow,omitempty"`
	// Period of the RSI (default 14); Overbought and Oversold its limits.
	Period     int     `json:"period,omitempty"`
	Overbought float64 `json:"overbought,omitempty"`
	Oversold   float64 `json:"oversold,omitempty"`
	// MaxSilence: stale_feed fires after this long of open market without a tick.
	MaxSilence time.Duration `json:"max_silence,omitempty"`
	// Sigma and Pct: outlier limits; a tick is an outlier when it is beyond
	// every limit given: more than Sigma population standard deviations from
	// the mean of the last Window clean prices, and more than Pct percent
	// from the last clean price.
	Sigma float64 `json:"sigma,omitempty"`
	Pct   float64 `json:"pct,omitempty"`
	// MinHistory: clean prices an outlier rule needs before it judges
	// (default Window).
	MinHistory int `json:"min_history,omitempty"`
	// AcceptAfter: this many consecutive outliers on the same side are a
	// new price level, not bad prints: the last of them is accepted and the
	// history restarts from it (default 3; 0 keeps the default, -1 never).
	AcceptAfter int `json:"accept_after,omitempty"`
	// StateTTL: a symbol's state is released after this long (event time)
	// without input; default 7 days.
	StateTTL time.Duration `json:"state_ttl,omitempty"`
}

// FieldError is a problem with one field of a rule.
type FieldError struct {
	Field   string // the rules-file key, e.g. "threshold", "symbols[1]"
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// kindFields lists, per kind, the optional and kind-specific fields it
// accepts (beyond name, kind, description, symbols, cooldown, severity,
// sessions, notify, labels and state_ttl, which every kind accepts).
var kindFields = map[Kind][]string{
	KindPriceLevel:    {"input", "resolution", "direction", "threshold", "band"},
	KindPriceCross:    {"input", "resolution", "direction", "threshold", "band"},
	KindVWAPDeviation: {"input", "resolution", "direction", "threshold", "band", "vwap"},
	KindVolumeSpike:   {"input", "resolution", "window", "factor", "zscore", "band"},
	KindChangePct:     {"input", "direction", "threshold", "band"},
	KindMACross:       {"input", "resolution", "direction", "fast", "slow"},
	KindRSI:           {"input", "resolution", "period", "overbought", "oversold", "band"},
	KindSpread:        {"input", "threshold", "band"},
	KindStaleFeed:     {"input", "max_silence"},
	KindOutlier:       {"input", "window", "sigma", "pct", "min_history", "accept_after"},
	KindDrawdown:      {"input", "threshold", "band"},
	KindPositionValue: {"input", "direction", "threshold", "band"},
}

// kindInputs lists the inputs of each kind, the default first.
var kindInputs = map[Kind][]Input{
	KindPriceLevel:    {InputTicks, InputBars},
	KindPriceCross:    {InputTicks, InputBars},
	KindVWAPDeviation: {InputBars},
	KindVolumeSpike:   {InputBars},
	KindChangePct:     {InputChanges},
	KindMACross:       {InputBars, InputCrosses},
	KindRSI:           {InputBars, InputIndicators},
	KindSpread:        {InputTicks},
	KindStaleFeed:     {InputTicks},
	KindOutlier:       {InputTicks},
	KindDrawdown:      {InputPortfolio},
	KindPositionValue: {InputPortfolio},
}

// setFields returns the names of the kind-specific fields that are set.
func (r *Rule) setFields() map[string]bool {
	set := map[string]bool{
		"input": r.Input != "", "resolution": r.Resolution != "", "direction": r.Direction != "",
		"threshold": r.Threshold != 0, "band": r.Band != 0, "window": r.Window != 0, "factor": r.Factor != 0,
		"zscore": r.ZScore != 0, "vwap": r.VWAP != "", "fast": r.Fast != "", "slow": r.Slow != "",
		"period": r.Period != 0, "overbought": r.Overbought != 0, "oversold": r.Oversold != 0,
		"max_silence": r.MaxSilence != 0, "sigma": r.Sigma != 0, "pct": r.Pct != 0,
		"min_history": r.MinHistory != 0, "accept_after": r.AcceptAfter != 0,
	}
	for k, v := range set {
		if !v {
			delete(set, k)
		}
	}
	return set
}

// Validate reports whether r is a complete, consistent rule.
func (r *Rule) Validate() error {
	errs := r.validate()
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	name := r.Name
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Errorf("alerts: rule %s: %s", name, strings.Join(msgs, "; "))
}

// validate returns every problem of r, in field order.
func (r *Rule) validate() []FieldError {
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{field, fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Name == "":
		bad("name", "required")
	case !nameRE.MatchString(r.Name):
		bad("name", "%q: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit", r.Name)
	}
	allowed, known := kindFields[r.Kind]
	switch {
	case r.Kind == "":
		bad("kind", "required (one of %s)", kindList())
	case !known:
		bad("kind", "unknown kind %q (want one of %s)", r.Kind, kindList())
	}
	for i, p := range r.Symbols {
		if p == "" {
			bad(fmt.Sprintf("symbols[%d]", i), "empty pattern")
		} else if _, err := path.Match(p, ""); err != nil {
			bad(fmt.Sprintf("symbols[%d]", i), "bad pattern %q", p)
		}
	}
	if r.Cooldown < 0 {
		bad("cooldown", "must be >= 0")
	}
	if r.StateTTL < 0 {
		bad("state_ttl", "must be >= 0")
	}
	switch r.Severity {
	case "", tickbeam.Info, tickbeam.Warning, tickbeam.Critical:
	default:
		bad("severity", "unknown severity %q (want INFO, WARNING or CRITICAL)", r.Severity)
	}
	if r.Sessions != nil {
		for _, e := range r.Sessions.problems() {
			bad("sessions."+e.Field, "%s", e.Message)
		}
	}
	for k := range r.Labels {
		if k == "" || k == "kind" || k == "notify" {
			bad("labels", "label key %q is reserved or empty", k)
		}
	}
	if !known {
		return errs
	}
	set := r.setFields()
	ok := map[string]bool{}
	for _, f := range allowed {
		ok[f] = true
	}
	for _, f := range sortedKeys(set) {
		if !ok[f] {
			bad(f, "not used by kind %s", r.Kind)
		}
	}
	in := r.input()
	if r.Input != "" && !hasInput(kindInputs[r.Kind], r.Input) {
		bad("input", "%s cannot read %q (want %s)", r.Kind, r.Input, joinInputs(kindInputs[r.Kind]))
	}
	if in == InputBars || (r.Kind == KindRSI && in == InputIndicators) || (r.Kind == KindMACross && in == InputCrosses) {
		if r.Resolution == "" {
			if in == InputBars {
				bad("resolution", "required for bar input, e.g. 1m")
			}
		} else if _, err := bars.ParseResolution(r.Resolution); err != nil {
			bad("resolution", "%s", strings.TrimPrefix(err.Error(), "bars: "))
		}
	} else if r.Resolution != "" && ok["resolution"] {
		bad("resolution", "only for bar input")
	}
	positive := func(field string, v float64) {
		if !(v > 0) {
			bad(field, "must be > 0")
		}
	}
	if r.Band < 0 {
		bad("band", "must be >= 0")
	}
	switch r.Kind {
	case KindPriceLevel, KindPriceCross, KindPositionValue:
		if r.Direction != Above && r.Direction != Below {
			bad("direction", "%s (want above or below)", dirProblem(r.Direction))
		}
		positive("threshold", r.Threshold)
	case KindChangePct, KindVWAPDeviation:
		switch r.Direction {
		case "", Above, Below, Both:
		default:
			bad("direction", "%s (want above, below or both)", dirProblem(r.Direction))
		}
		positive("threshold", r.Threshold)
		if r.Kind == KindVWAPDeviation && r.VWAP != "" && r.VWAP != "bar" && r.VWAP != "session" {
			bad("vwap", "%q: want bar or session", r.VWAP)
		}
	case KindSpread:
		positive("threshold", r.Threshold)
	case KindDrawdown:
		if !(r.Threshold > 0 && r.Threshold < 100) {
			bad("threshold", "must be a percent between 0 and 100")
		}
	case KindVolumeSpike:
		if r.Window < 0 || r.Window == 1 {
			bad("window", "must be >= 2")
		}
		switch {
		case r.Factor == 0 && r.ZScore == 0:
			bad("factor", "one of factor or zscore is required")
		case r.Factor != 0 && r.ZScore != 0:
			bad("zscore", "give factor or zscore, not both")
		case r.Factor < 0:
			bad("factor", "must be > 0")
		case r.ZScore < 0:
			bad("zscore", "must be > 0")
		}
	case KindMACross:
		switch r.Direction {
		case "", Golden, Death, Both:
		default:
			bad("direction", "%s (want golden, death or both)", dirProblem(r.Direction))
		}
		if r.Fast == "" {
			bad("fast", "required, e.g. sma:50")
		}
		if r.Slow == "" {
			bad("slow", "required, e.g. sma:200")
		}
		if r.Fast != "" && r.Slow != "" {
			if _, err := r.crossover(); err != nil {
				bad("fast", "%s", strings.TrimPrefix(err.Error(), "indicators: "))
			}
		}
	case KindRSI:
		if r.Period < 0 || r.Period == 1 || r.Period > indicators.MaxPeriod {
			bad("period", "must be from 2 to %d", indicators.MaxPeriod)
		}
		if r.Overbought == 0 && r.Oversold == 0 {
			bad("overbought", "one of overbought or oversold is required")
		}
		if r.Overbought < 0 || r.Overbought >= 100 {
			bad("overbought", "must be between 0 and 100")
		}
		if r.Oversold < 0 || r.Oversold >= 100 {
			bad("oversold", "must be between 0 and 100")
		}
		if r.Overbought != 0 && r.Oversold != 0 && r.Oversold >= r.Overbought {
			bad("oversold", "must be below overbought")
		}
	case KindStaleFeed:
		positive("max_silence", float64(r.MaxSilence))
	case KindOutlier:
		if r.Window < 0 || r.Window == 1 {
			bad("window", "must be >= 2")
		}
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
	}
	return errs
}

func dirProblem(d Direction) string {
	if d == "" {
		return "required"
	}
	return fmt.Sprintf("unknown direction %q", d)
}

func kindList() string {
	var ks []string
	for _, k := range Kinds() {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}

func hasInput(ins []Input, in Input) bool {
	for _, x := range ins {
		if x == in {
			return true
		}
	}
	return false
}

func joinInputs(ins []Input) string {
	var s []string
	for _, in := range ins {
		s = append(s, string(in))
	}
	return strings.Join(s, " or ")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// input is the rule's input, its kind's default when unset.
func (r *Rule) input() Input {
	if r.Input != "" {
		return r.Input
	}
	if ins := kindInputs[r.Kind]; len(ins) > 0 {
		return ins[0]
	}
	return ""
}

// InputOf is the collection the rule reads: its Input, or its kind's default.
func (r *Rule) InputOf() Input { return r.input() }

// Matches reports whether the rule watches symbol.
func (r *Rule) Matches(symbol string) bool {
	if len(r.Symbols) == 0 {
		return true
	}
	for _, p := range r.Symbols {
		if ok, _ := path.Match(p, symbol); ok {
			return true
		}
	}
	return false
}

func (r *Rule) severity() tickbeam.Severity {
	if r.Severity == "" {
		return DefaultSeverity
	}
	return r.Severity
}

func (r *Rule) window() int {
	if r.Window == 0 {
		return DefaultWindow
	}
	return r.Window
}

func (r *Rule) period() int {
	if r.Period == 0 {
		return DefaultRSIPeriod
	}
	return r.Period
}

func (r *Rule) stateTTL() time.Duration {
	if r.StateTTL == 0 {
		return DefaultStateTTL
	}
	return r.StateTTL
}

func (r *Rule) direction() Direction {
	if r.Direction == "" {
		return Both
	}
	return r.Direction
}

func (r *Rule) crossover() (indicators.Crossover, error) {
	cs, err := indicators.ParseCrossovers(r.Fast + "/" + r.Slow)
	if err != nil {
		return indicators.Crossover{}, err
	}
	return cs[0], nil
}

// labels are the alert labels of the rule: kind, notify, the user's labels
// and extra, sorted by key.
func (r *Rule) labels(extra ...tickbeam.Attribute) []tickbeam.Attribute {
	ls := []tickbeam.Attribute{{Key: "kind", Value: string(r.Kind)}}
	if len(r.Notify) > 0 {
		ls = append(ls, tickbeam.Attribute{Key: "notify", Value: strings.Join(r.Notify, ",")})
	}
	for _, k := range sortedKeys(r.Labels) {
		ls = append(ls, tickbeam.Attribute{Key: k, Value: r.Labels[k]})
	}
	ls = append(ls, extra...)
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].Key < ls[j].Key })
	return ls
}

// newAlert builds an alert of r; DetectedAt is left zero for the caller.
func (r *Rule) newAlert(symbol string, at time.Time, sev tickbeam.Severity, value, threshold float64, msg string, extra ...tickbeam.Attribute) tickbeam.Alert {
	return tickbeam.Alert{
		AlertID:   tickbeam.NewAlertID(r.Name, symbol, at),
		Rule:      r.Name,
		Symbol:    symbol,
		Severity:  sev,
		EventTime: at.UTC(),
		Value:     value,
		Threshold: threshold,
		Message:   msg,
		Labels:    r.labels(extra...),
	}
}
