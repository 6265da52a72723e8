package monitor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/alerts"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/enrich"
	"github.com/tickbeam/tickbeam/transforms/indicators"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// AutoAllowedLateness, as Config.AllowedLateness, lets Resolve choose the
// lateness by runner: 0 on the local runner, whose prism fires a window's
// LATE pane only when the window expires and holds the watermark back until
// then (with 1m, the streaming benchmark's 1s bars became queryable after
// 51 s, p50, not 11 s), and DefaultAllowedLateness on the others. It is the
// CLI's value when --allowed_lateness is not given.
const AutoAllowedLateness time.Duration = math.MinInt64

// Plan is a Config resolved for a runner by Config.Resolve: every setting
// parsed and checked once, defaults and the runner's policy applied. Build
// adds it to a scope; Build takes only Plans made by Resolve.
type Plan struct {
	// Runner is the runner Resolve planned for (see runners.Options.Runner);
	// Local says it is prism in this process.
	Runner string
	Local  bool

	// Input is what the pipeline reads; Bounded says it ends by itself.
	Input   endpoint.Input
	Bounded bool
	// Parse configures the parser of file, Pub/Sub and live input.
	Parse parse.Config
	// PubSub reads an endpoint.PubSubInput: Native on runners other than the local
	// one; else by tickbeam's reader, which acks a message once every
	// output computed from it is written when Durable (not AckOnCommit).
	PubSub  pubsubx.ReadOptions
	Durable bool
	// Live reads an endpoint.LiveInput.
	Live live.ReadOptions
	// Dedupe drops redelivered trades (not KeepDuplicates), in windows of
	// DedupeWindow, which tile every bar window: Config.DedupeWindow, else
	// on a bounded input the bars' greatest common divisor and on a stream
	// DefaultStreamDedupeWindow.
	Dedupe       bool
	DedupeWindow time.Duration
	// EarlyTickRules: the rules on ticks read dedupe's batches before they
	// are grouped (Config.EarlyTickRules on a stream with such rules).
	EarlyTickRules bool
	// InferSide runs the tick test: Config.InferSide, for a format whose
	// trades may lack a side.
	InferSide bool
	// AllowedLateness is Config.AllowedLateness, AutoAllowedLateness
	// resolved.
	AllowedLateness time.Duration
	// Bars computes the bars; its AllowedLateness is 0 on bounded input.
	Bars bars.Options
	// Calendar is the calendar of session stats, previous closes and the
	// portfolio (Config.Calendar, default CRYPTO).
	Calendar *calendar.Calendar
	// Indicators are the parsed Config.Indicators.
	Indicators []indicators.Spec
	// RuleSet is the rules file, read once; Outliers are its outlier rules
	// and Rules the others (nil when there are none of a kind).
	RuleSet, Rules, Outliers *alerts.RuleSet
	Notify                   bool
	// Changes says PriceChange rows are computed: ChangesOut is set or a
	// rule reads them. PrevClose configures them, References and Splits
	// (CSV globs) still to be read.
	Changes            bool
	PrevClose          enrich.Options
	References, Splits string
	// Positions is Config.Positions parsed (a FileInput or TableInput;
	// no URI when not set); PositionsRefresh and BigQuery are as in Config.
	Positions        endpoint.Input
	PositionsRefresh time.Duration
	BigQuery         bigqueryx.Options
	// Outputs are where each kind of row goes; DeadLetters defaults to the
	// bars' directory or prefix.
	Outputs Outputs
	// Shards and Gzip shape output files; Duration is Config.Duration.
	Shards   int
	Gzip     bool
	Duration time.Duration
	// Taps observe the collections Build makes.
	Taps []Tap

	resolved bool
}

// Outputs are the parsed outputs of a Plan, one for each kind of row; those
// that are not set have Kind endpoint.NoOutput.
type Outputs struct {
	Bars, DeadLetters, Raw, Gaps, Indicators, Session, Alerts, Changes, Portfolio Output
}

// List returns the outputs that are set, in flag order.
func (o Outputs) List() []Output {
	all := []Output{o.Bars, o.DeadLetters, o.Raw, o.Gaps, o.Indicators, o.Session, o.Alerts, o.Changes, o.Portfolio}
	return slices.DeleteFunc(all, func(o Output) bool { return !o.Set() })
}

// Resolve parses and checks c once for runner (a runners.Options.Runner
// name: "" or "prism" is the local runner) and applies the runner's policy:
//
//   - AutoAllowedLateness is 0 on the local runner, DefaultAllowedLateness
//     on the others;
//   - on a runner other than the local one, every output must be remote
//     (gs://, bq: or pubsub:), Pub/Sub is read natively, and a live input
//     is refused (its connection is in this process);
//   - on the local runner a Pub/Sub message is acked once every output
//     computed from it is written, unless AckOnCommit or NativePubSub.
//
// It reads the rules file, once; the positions are read by Build. Its
// errors name the CLI flag of the setting at fault.
func (c Config) Resolve(runner string) (Plan, error) {
	p := Plan{Runner: runner, Local: runners.IsLocal(runner), Notify: c.Notify, Shards: max(c.Shards, 1), Gzip: c.Gzip,
		Duration: c.Duration, Taps: slices.Clone(c.Taps), PositionsRefresh: c.PositionsRefresh,
		BigQuery: c.BigQuery, References: c.References, Splits: c.Splits, resolved: true}
	native := c.NativePubSub || !p.Local
	if err := c.resolveInput(&p, native); err != nil {
		return Plan{}, err
	}
	if len(c.Bars) == 0 {
		return Plan{}, errors.New("--bar: at least one resolution is required")
	}
	if c.BarsOut == "" {
		return Plan{}, errors.New("--bars_out is required: a local directory, gs:// prefix, bq:P.D.T or pubsub:projects/P/topics/T")
	}
	if c.Shards < 0 || c.Shards > 1000 {
		return Plan{}, fmt.Errorf("--shards %d: want 1..1000", c.Shards)
	}
	if err := c.resolveOutputs(c.streamOutputs(&p.Outputs)); err != nil {
		return Plan{}, err
	}
	switch {
	case c.AllowedLateness == AutoAllowedLateness && p.Local:
		p.AllowedLateness = 0
	case c.AllowedLateness == AutoAllowedLateness:
		p.AllowedLateness = DefaultAllowedLateness
	case c.AllowedLateness < 0:
		return Plan{}, fmt.Errorf("--allowed_lateness %s: want >= 0", c.AllowedLateness)
	default:
		p.AllowedLateness = c.AllowedLateness
	}
	c.AllowedLateness = p.AllowedLateness // resolved, from here on
	if (c.Indicators == "") != (c.IndicatorsOut == "") {
		return Plan{}, errors.New("--indicators and --indicators_out go together")
	}
	if c.Indicators != "" {
		specs, err := indicators.ParseSpecs(c.Indicators)
		if err != nil {
			return Plan{}, fmt.Errorf("--indicators: %w", err)
		}
		p.Indicators = specs
	}
	cal, err := calendar.Lookup(c.calendarName())
	if err != nil {
		return Plan{}, fmt.Errorf("--calendar: %w", err)
	}
	p.Calendar = cal
	if (c.Rules == "") != (c.AlertsOut == "") {
		return Plan{}, errors.New("--rules and --alerts_out go together")
	}
	if c.Rules != "" {
		rs, err := alerts.LoadRules(c.Rules)
		if err != nil {
			return Plan{}, fmt.Errorf("--rules: %w", err)
		}
		p.RuleSet = rs
		p.Outliers, p.Rules = rs.Split()
		if len(p.Indicators) == 0 && (p.Rules.Needs(alerts.InputIndicators) || p.Rules.Needs(alerts.InputCrosses)) {
			return Plan{}, errors.New("--rules: a rule reads indicator rows (input: indicators or crosses); set --indicators")
		}
	}
	if p.PrevClose, err = c.prevCloseOptions(cal); err != nil {
		return Plan{}, err
	}
	if p.Positions, err = c.resolvePositions(); err != nil {
		return Plan{}, err
	}
	if err := c.resolveOutputs(c.analyticsOutputs(&p.Outputs)); err != nil {
		return Plan{}, err
	}
	p.Changes = p.Outputs.Changes.Set() || p.Rules.Needs(alerts.InputChanges)
	// Rules skip a change without a previous close; unless the changes are
	// written, a row for it is work for nothing (the first trading day of
	// every symbol: in a batch run of one day, every tick).
	p.PrevClose.SkipMissing = !p.Outputs.Changes.Set()
	if !p.Outputs.DeadLetters.Set() {
		// Dead letters go with the bars, as files named deadletters-*.
		if p.Outputs.Bars.Kind != endpoint.FileOutput {
			return Plan{}, errors.New("--deadletter_out is required when --bars_out is a table or topic (dead letters have another schema)")
		}
		p.Outputs.DeadLetters = p.Outputs.Bars
		p.Outputs.DeadLetters.Flag = "--deadletter_out"
	}
	if !p.Local {
		for _, o := range p.Outputs.List() {
			if !o.Remote() {
				return Plan{}, fmt.Errorf("%s %s is a local path, but --runner=%s writes from remote workers: use gs://, bq: or pubsub:", o.Flag, o.URI, runner)
			}
		}
	}

	p.Bounded = c.bounded(p.Input)
	p.Dedupe = !c.KeepDuplicates
	if p.DedupeWindow, err = c.dedupeWindow(p.Bounded); err != nil {
		return Plan{}, err
	}
	p.InferSide = c.InferSide && !feedformat.TradesHaveSide(c.Format)
	p.EarlyTickRules = c.EarlyTickRules && !p.Bounded && p.Dedupe && p.Rules.Needs(alerts.InputTicks)
	p.Bars = bars.Options{Resolutions: c.Bars}
	if c.Calendar != "" {
		p.Bars.Calendar = cal
	}
	if !p.Bounded {
		p.Bars.AllowedLateness = p.AllowedLateness
	}
	p.Live = live.ReadOptions{URI: c.Input, WatermarkDelay: c.watermarkDelay(endpoint.LiveInput), AllowedLateness: p.AllowedLateness}
	if p.Input.Kind == endpoint.PubSubInput {
		ts := c.TimestampAttribute
		if ts == "" {
			ts = DefaultTimestampAttribute
		}
		p.PubSub = pubsubx.ReadOptions{Subscription: p.Input.Subscription, TimestampAttribute: ts,
			WatermarkDelay: c.watermarkDelay(endpoint.PubSubInput), Native: native, AllowedLateness: p.AllowedLateness}
		if p.Durable = !native && !c.AckOnCommit; p.Durable {
			p.PubSub.AckWindow, p.PubSub.AckHorizon = c.ackTimes()
		}
	}
	return p, nil
}

// resolveInput parses the input and checks its format and runner.
func (c Config) resolveInput(p *Plan, native bool) error {
	if c.Input == "" {
		return errors.New("--input is required: a file path or glob, or synthetic:?symbols=...")
	}
	in, err := endpoint.ParseInput(c.Input)
	if in.Kind == endpoint.TableInput {
		return errors.New("--input: bq is an output, not an input")
	}
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	if c.GapsOut != "" && in.Kind != endpoint.LiveInput {
		return fmt.Errorf("--gaps_out needs a live --input (%s)", strings.Join(live.Schemes(), ":, ")+":")
	}
	p.Input = in
	p.Parse = parse.Config{Format: c.Format, Options: c.ParseOptions, Limits: c.Limits, MaxPayloadBytes: c.maxPayload()}
	switch in.Kind {
	case endpoint.SyntheticInput:
		if c.Duration > 0 && (in.Synthetic.Duration == 0 || c.Duration < in.Synthetic.Duration) {
			p.Input.Synthetic.Duration = c.Duration
		}
		return nil
	case endpoint.LiveInput:
		if c.Format != "" && c.Format != in.Live.Format {
			return fmt.Errorf("--format %s: a %s: input is read as %s", c.Format, in.Live.Vendor, in.Live.Format)
		}
		if native {
			return errors.New("--input: live inputs run on the local runner; for Dataflow, publish them with 'tickbeam feed --input=... --to=pubsub:...' and read the subscription")
		}
		return nil
	case endpoint.PubSubInput:
		if c.Format == "" {
			return nil
		}
	default:
		if c.Format == "" {
			return fmt.Errorf("--format is required for file input (one of %s)", strings.Join(feedformat.Formats(), ", "))
		}
	}
	if _, err := feedformat.New(c.Format, c.ParseOptions); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

// outputSetting is an output setting of Config and where Resolve puts it.
type outputSetting struct {
	dst         *Output
	flag, value string
}

// streamOutputs are the outputs of the input and its ticks and bars;
// Resolve checks them before the analytics settings.
func (c Config) streamOutputs(o *Outputs) []outputSetting {
	return []outputSetting{{&o.Bars, "--bars_out", c.BarsOut}, {&o.DeadLetters, "--deadletter_out", c.DeadLetterOut},
		{&o.Raw, "--raw_out", c.RawOut}, {&o.Gaps, "--gaps_out", c.GapsOut}}
}

// analyticsOutputs are the outputs of what is computed from ticks and bars;
// Resolve checks them after the settings that compute them.
func (c Config) analyticsOutputs(o *Outputs) []outputSetting {
	return []outputSetting{{&o.Indicators, "--indicators_out", c.IndicatorsOut}, {&o.Session, "--session_out", c.SessionOut},
		{&o.Alerts, "--alerts_out", c.AlertsOut}, {&o.Changes, "--changes_out", c.ChangesOut}, {&o.Portfolio, "--portfolio_out", c.PortfolioOut}}
}

// resolveOutputs parses outputs through the registry of io/endpoint.
func (c Config) resolveOutputs(outs []outputSetting) error {
	for _, out := range outs {
		parsed, err := endpoint.ParseOutput(out.value)
		if err == nil && parsed.Kind == endpoint.TableOutput {
			err = c.BigQuery.Validate()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", out.flag, err)
		}
		*out.dst = Output{Flag: out.flag, Output: parsed}
	}
	return nil
}

// prevCloseOptions checks the previous-close settings; its Options lack
// the References and Splits collections, which Build reads.
func (c Config) prevCloseOptions(cal *calendar.Calendar) (enrich.Options, error) {
	o := enrich.Options{Sources: c.PrevCloseSources, Calendar: cal, FlagThreshold: c.FlagThreshold}
	if err := o.Validate(); err != nil {
		return enrich.Options{}, fmt.Errorf("--prev_close: %w", err)
	}
	if c.References != "" && len(c.PrevCloseSources) > 0 && !slices.Contains(c.PrevCloseSources, enrich.SourceReference) {
		return enrich.Options{}, fmt.Errorf("--references is set but --prev_close does not list %s", enrich.SourceReference)
	}
	for _, g := range []struct{ flag, v string }{{"--references", c.References}, {"--splits", c.Splits}} {
		if g.v != "" {
			if err := lake.ValidatePrefix(g.v); err != nil {
				return enrich.Options{}, fmt.Errorf("%s: %w", g.flag, err)
			}
		}
	}
	return o, nil
}

// dedupeWindow is the dedupe window: it must tile every bar window. A
// stream's ticks leave dedupe only when their window closes, and rules on
// ticks see them only then, so a stream's window is short whatever the bars
// (with --bar=1m a tick waited up to a minute for its price alert); a batch
// run waits for nothing and takes the bars' window, the fewest keys.
func (c Config) dedupeWindow(bounded bool) (time.Duration, error) {
	bar := bars.GCD(c.Bars)
	w := c.DedupeWindow
	switch {
	case w < 0:
		return 0, fmt.Errorf("--dedupe_window %s: want > 0", w)
	case w == 0 && bounded:
		return bar, nil
	case w == 0:
		w = DefaultStreamDedupeWindow
	}
	if bar%w != 0 {
		return 0, fmt.Errorf("--dedupe_window %s must divide every --bar resolution (their greatest common divisor is %s)", w, bar)
	}
	return w, nil
}

// ackTimes are the AckWindow and AckHorizon of a durable Pub/Sub read (see
// pubsubx.ReadDurable): the window is the least common multiple of the
// windows rows are grouped in (bars, dedupe, the streaming sinks' batching
// windows), so that a crash leaves whole windows unacked and a restart
// writes them again whole, the same rows. Calendar days (1d bars of a
// Calendar) are not fixed windows; they go into the horizon instead, as
// does the allowed lateness (LATE panes come until then). Nothing more: the
// sinks' watermark reaching the window's end means their bundles are done,
// and a horizon past it would wait for the next window as well
// (pubsubx.ReadOptions.AckHorizon).
func (c Config) ackTimes() (window, horizon time.Duration) {
	window = globalRowsWindow
	if c.RawOut != "" || c.ChangesOut != "" {
		window = lcm(window, time.Minute) // the streaming rawWindow
	}
	for _, r := range c.Bars {
		if d := r.Duration(); c.Calendar != "" && d == 24*time.Hour {
			horizon = max(horizon, d)
		} else {
			window = lcm(window, d)
		}
	}
	return window, horizon + c.AllowedLateness
}

func lcm(a, b time.Duration) time.Duration {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// RunOptions are the runners.Options of a run of p: its Runner, and
// Duration, after which a local run stops. A synthetic feed with a Duration
// ends by itself; the stop, a minute later, is a safety net should the
// runner not drain.
func (p Plan) RunOptions() runners.Options {
	o := runners.Options{Runner: p.Runner, Duration: p.Duration}
	if p.Input.Kind == endpoint.SyntheticInput && p.Duration > 0 {
		o.Duration += time.Minute
	}
	return o
}
