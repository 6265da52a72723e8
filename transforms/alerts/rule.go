package alerts

import (
	"fmt"
	"path"
	"reflect"
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
	defaultSeverity    = tickbeam.Warning
	defaultWindow      = 20
	defaultRSIPeriod   = 14
	defaultAcceptAfter = 3
	// defaultStateTTL is how long a symbol's rule state outlives its last
	// input (event time) before it is released; a weekend must not reset a
	// trailing volume mean, so it is a week.
	defaultStateTTL = 7 * 24 * time.Hour
)

// Rule is one alert rule. Build it in Go or load it from a rules file
// (LoadRules); Validate it before use. Fields that do not apply to the Kind
// must be zero. A Rule is plain data, so a Beam DoFn can carry it; its yaml
// tags are the keys of a rule in a rules file.
type Rule struct {
	// Name identifies the rule in alerts (rule) and alert ids: lower-case
	// letters, digits, '-', '_' and '.', unique in a RuleSet.
	Name        string `json:"name" yaml:"name"`
	Kind        Kind   `json:"kind" yaml:"kind"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Symbols are glob patterns (path.Match: *, ?, [a-z]), e.g. "BTC*";
	// empty means every symbol.
	Symbols []string `json:"symbols,omitempty" yaml:"symbols"`
	// Input: ticks or bars for price_level, price_cross and price_range
	// (default ticks), bars or indicators for rsi (default bars), bars or
	// crosses for ma_cross (default bars). Other kinds have one input.
	Input Input `json:"input,omitempty" yaml:"input"`
	// Resolution of the bars a bar rule reads, e.g. "1m".
	Resolution string `json:"resolution,omitempty" yaml:"resolution"`
	// Direction: above or below (price_level, price_cross,
	// position_value); above, below or both (change_pct, vwap_deviation;
	// default both); golden, death or both (ma_cross; default both).
	Direction Direction `json:"direction,omitempty" yaml:"direction"`
	// Threshold: the level (price_level, price_cross, position_value),
	// percent (change_pct, vwap_deviation, drawdown) or basis points
	// (spread).
	Threshold float64 `json:"threshold,omitempty" yaml:"threshold"`
	// Band is the hysteresis band, in the threshold's unit: a limit that
	// fired re-arms only once the value is back past it by Band.
	Band float64 `json:"band,omitempty" yaml:"band"`
	// Cooldown: after a firing for a symbol, the rule does not fire for it
	// again for this long (event time).
	Cooldown time.Duration `json:"cooldown,omitempty" yaml:"cooldown"`
	// Severity of the alerts; default WARNING. Recovery notices are INFO.
	Severity tickbeam.Severity `json:"severity,omitempty" yaml:"severity"`
	// Sessions: when the rule is active. Inputs outside are ignored, except
	// by stale_feed, for which they define when silence counts. Nil: always.
	Sessions *Sessions `json:"sessions,omitempty" yaml:"sessions"`
	// Notify names notifiers (a RuleSet's webhooks and emails); the alerts
	// carry them in the "notify" label.
	Notify []string `json:"notify,omitempty" yaml:"notify"`
	// Labels are added to every alert of the rule.
	Labels map[string]string `json:"labels,omitempty" yaml:"labels"`

	// Window: trailing bars (volume_spike) or prices (outlier); default 20.
	Window int `json:"window,omitempty" yaml:"window"`
	// Factor: volume_spike fires when volume >= Factor × trailing mean.
	Factor float64 `json:"factor,omitempty" yaml:"factor"`
	// ZScore: volume_spike fires when (volume − mean)/sd >= ZScore.
	ZScore float64 `json:"zscore,omitempty" yaml:"zscore"`
	// VWAP: "bar" (the bar's own VWAP, default) or "session" (cumulative
	// over the trading day of the Sessions calendar, else the UTC day).
	VWAP string `json:"vwap,omitempty" yaml:"vwap"`
	// Fast and Slow: ma_cross lines as indicator specs, e.g. "sma:50", "sma:200".
	Fast string `json:"fast,omitempty" yaml:"fast"`
	Slow string `json:"slow,omitempty" yaml:"slow"`
	// Period of the RSI (default 14); Overbought and Oversold its limits.
	Period     int     `json:"period,omitempty" yaml:"period"`
	Overbought float64 `json:"overbought,omitempty" yaml:"overbought"`
	Oversold   float64 `json:"oversold,omitempty" yaml:"oversold"`
	// MaxSilence: stale_feed fires after this long of open market without a tick.
	MaxSilence time.Duration `json:"max_silence,omitempty" yaml:"max_silence"`
	// Sigma and Pct: outlier limits; a tick is an outlier when it is beyond
	// every limit given: more than Sigma population standard deviations from
	// the mean of the last Window clean prices, and more than Pct percent
	// from the last clean price.
	Sigma float64 `json:"sigma,omitempty" yaml:"sigma"`
	Pct   float64 `json:"pct,omitempty" yaml:"pct"`
	// MinHistory: clean prices an outlier rule needs before it judges
	// (default Window).
	MinHistory int `json:"min_history,omitempty" yaml:"min_history"`
	// AcceptAfter: this many consecutive outliers on the same side are a
	// new price level, not bad prints: the last of them is accepted and the
	// history restarts from it (default 3; 0 keeps the default, -1 never).
	AcceptAfter int `json:"accept_after,omitempty" yaml:"accept_after"`
	// Low and High: the price_range; it fires at or below Low and at or
	// above High.
	Low  float64 `json:"low,omitempty" yaml:"low"`
	High float64 `json:"high,omitempty" yaml:"high"`
	// StateTTL: a symbol's state is released after this long (event time)
	// without input; default 7 days.
	StateTTL time.Duration `json:"state_ttl,omitempty" yaml:"state_ttl"`
}

// fieldError is a problem with one field of a rule.
type fieldError struct {
	Field   string // the rules-file key, e.g. "threshold", "symbols[1]"
	Message string
}

func (e fieldError) Error() string { return e.Field + ": " + e.Message }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// commonFields are the rules-file keys of every kind.
var commonFields = map[string]bool{"name": true, "kind": true, "description": true, "symbols": true, "cooldown": true,
	"severity": true, "sessions": true, "notify": true, "labels": true, "state_ttl": true}

// ruleFields are the fields of Rule by their rules-file key (yaml tag), in
// Rule's order.
var ruleFields = func() (fs []ruleField) {
	t := reflect.TypeOf(Rule{})
	for i := 0; i < t.NumField(); i++ {
		if key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); key != "" && key != "-" {
			fs = append(fs, ruleField{key, i})
		}
	}
	return fs
}()

type ruleField struct {
	key   string
	index int
}

// setFields returns the keys of the kind-specific fields that are set.
func (r *Rule) setFields() []string {
	v := reflect.ValueOf(r).Elem()
	var set []string
	for _, f := range ruleFields {
		if !commonFields[f.key] && !v.Field(f.index).IsZero() {
			set = append(set, f.key)
		}
	}
	sort.Strings(set)
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
func (r *Rule) validate() []fieldError {
	var errs []fieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, fieldError{field, fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Name == "":
		bad("name", "required")
	case !nameRE.MatchString(r.Name):
		bad("name", "%q: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit", r.Name)
	}
	k := r.spec()
	switch {
	case r.Kind == "":
		bad("kind", "required (one of %s)", kindList())
	case k == nil:
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
	if k == nil {
		return errs
	}
	ok := map[string]bool{}
	for _, f := range k.fields {
		ok[f] = true
	}
	for _, f := range r.setFields() {
		if !ok[f] {
			bad(f, "not used by kind %s", r.Kind)
		}
	}
	in := r.input()
	if r.Input != "" && !hasInput(k.inputs, r.Input) {
		bad("input", "%s cannot read %q (want %s)", r.Kind, r.Input, joinInputs(k.inputs))
	}
	if barInputs[in] {
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
	if r.Band < 0 {
		bad("band", "must be >= 0")
	}
	if ok["direction"] {
		k.checkDirection(r.Direction, bad)
	}
	if k.check != nil {
		k.check(r, bad)
	}
	return errs
}

// barInputs are the inputs computed from bars of a resolution: a rule
// reading them may name it (bars must).
var barInputs = map[Input]bool{InputBars: true, InputIndicators: true, InputCrosses: true}

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
	if k := r.spec(); k != nil {
		return k.inputs[0]
	}
	return ""
}

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
		return defaultSeverity
	}
	return r.Severity
}

func (r *Rule) window() int {
	if r.Window == 0 {
		return defaultWindow
	}
	return r.Window
}

func (r *Rule) period() int {
	if r.Period == 0 {
		return defaultRSIPeriod
	}
	return r.Period
}

func (r *Rule) stateTTL() time.Duration {
	if r.StateTTL == 0 {
		return defaultStateTTL
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
