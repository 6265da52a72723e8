package monitor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/transforms/alerts"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/enrich"
	"github.com/tickbeam/tickbeam/transforms/indicators"
	"github.com/tickbeam/tickbeam/transforms/parse"
	"github.com/tickbeam/tickbeam/transforms/session"
	"github.com/tickbeam/tickbeam/transforms/tickrule"
)

// Schemes of inputs and outputs.
const (
	// SyntheticScheme prefixes an Input naming the synthetic feed.
	SyntheticScheme = "synthetic:"
	// PubSubScheme prefixes a subscription (input) or a topic (output):
	// pubsub:projects/P/subscriptions/S, pubsub:projects/P/topics/T.
	PubSubScheme = "pubsub:"
	// BigQueryScheme prefixes a table: bq:P.D.T.
	BigQueryScheme = "bq:"
)

// DefaultTimestampAttribute is the Pub/Sub attribute `tickbeam feed` sets to
// the earliest event time of a message's ticks, so the source's watermark
// follows event time and no tick is behind it.
const DefaultTimestampAttribute = "ts"

// DefaultWatermarkDelay is Config.WatermarkDelay's default: what the
// streaming benchmark needs at 5k ticks/s on the emulators with no late
// ticks (publish-to-pull reordering), with a margin.
const DefaultWatermarkDelay = time.Second

// Config is what the monitor pipeline reads, computes and writes.
type Config struct {
	// Input is a file path or glob, local or gs:// (.gz read transparently),
	// a Pub/Sub subscription "pubsub:projects/P/subscriptions/S", or a
	// synthetic feed "synthetic:?symbols=A,B&rate=N&seed=S".
	Input string
	// Format names the parser of file input (see feedformat.Formats). For Pub/Sub
	// it may be empty: each message's "format" attribute names its parser.
	Format string
	// TimestampAttribute is the Pub/Sub attribute holding a message's event
	// time (RFC 3339 or Unix milliseconds); default DefaultTimestampAttribute.
	// Messages without it are stamped with their publish time.
	TimestampAttribute string
	// WatermarkDelay holds the Pub/Sub reader's watermark this far behind
	// the event times it reads: the feed's latency, for messages stamped
	// with their publish time whose ticks are a little older, and for a live
	// feed that publishes out of order (a backlog needs none: the reader
	// holds its watermark at the oldest message of its recent batches).
	// Messages later than this become late dead letters. Default
	// DefaultWatermarkDelay.
	WatermarkDelay time.Duration
	// NativePubSub reads Pub/Sub with Beam's native read (Dataflow) instead
	// of tickbeam's own reader (the local runner).
	NativePubSub bool
	// AckOnCommit makes tickbeam's Pub/Sub reader ack a message once the
	// runner has committed the bundle that read it, as before durable acks.
	// By default (pubsubx.ReadDurable) a message is acked only once every
	// output computed from it has been written: prism keeps its state in
	// memory, so a process killed after the commit would otherwise lose what
	// it had not yet written, and its restart would not read it again.
	AckOnCommit bool
	// BigQuery says where BigQuery is for bq: outputs (emulator endpoints);
	// empty fields fall back to BIGQUERY_EMULATOR_HOST and
	// BIGQUERY_STORAGE_EMULATOR_HOST, then to Google Cloud.
	BigQuery bigqueryx.Options
	// ParseOptions configure the parser (source name, json/csv fields).
	ParseOptions feedformat.Options
	// Limits bound plausible event times.
	Limits feedformat.Limits
	// MaxPayloadBytes bounds one message; default parse.DefaultMaxPayloadBytes.
	MaxPayloadBytes int
	// Bars are the bar resolutions; at least one.
	Bars []bars.Resolution
	// BarsOut receives Bar rows: a local directory or gs:// prefix (JSONL
	// files), bq:P.D.T (a table; all resolutions in one, told apart by the
	// resolution column) or pubsub:projects/P/topics/T.
	BarsOut string
	// DeadLetterOut receives DeadLetter rows, in the same forms as BarsOut;
	// default BarsOut when that is a directory or prefix (files named
	// deadletters-*), else required.
	DeadLetterOut string
	// RawOut, when set, is a local directory or gs:// prefix receiving the
	// deduplicated ticks as Tick JSON under hive-style dt=/hour= partitions:
	// the raw archive, which replays with --format=tick.
	RawOut string
	// KeepDuplicates turns deduplication of redelivered trades off.
	KeepDuplicates bool
	// InferSide gives trades that the feed sends without an aggressor side
	// (Alpaca stocks, Alpha Vantage, json/csv without a side) the side of
	// the tick test (transforms/tickrule) before bars, session statistics
	// and rules see them, so their buy and sell volumes and trade strength
	// are filled rather than UNKNOWN. A no-op for formats whose trades all
	// have a side (feedformat.TradesHaveSide). Ticks carry no mark: the
	// count of inferred sides is the counter tickbeam/tickrule.inferred. The
	// raw archive (RawOut) keeps the feed's own sides. It costs a stateful
	// step per symbol holding trades until the watermark passes them: in a
	// batch run every trade (see the README's benchmarks).
	InferSide bool
	// Taps observe the collections Build made (live metrics, the dashboard)
	// without changing what the pipeline writes.
	Taps []Tap
	// Shards is the number of files per window and pane; default 1.
	Shards int
	// Gzip compresses output files.
	Gzip bool
	// Duration bounds a synthetic feed in event time (0: unbounded).
	Duration time.Duration
	// AllowedLateness, on a stream, keeps each bar window open this long
	// past the watermark: late trades fire LATE panes (accumulating: the
	// highest pane_index of a window is its whole truth). Pub/Sub messages
	// later than that become dead letters with stage late, never a silent
	// drop. 0: windows close at the watermark and Pub/Sub messages behind it
	// are dead letters (stage late). The CLI's default is
	// DefaultAllowedLateness.
	AllowedLateness time.Duration
	// Indicators over the bars of the first resolution (indicators.ParseSpecs,
	// e.g. "sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2"), written to
	// IndicatorsOut as IndicatorValue rows.
	Indicators    string
	IndicatorsOut string
	// SessionOut receives SessionStats rows at the first bar resolution, per
	// symbol and trading day of Calendar.
	SessionOut string
	// Calendar names the exchange calendar (calendar.Names) of session
	// stats and previous closes (default CRYPTO: UTC days) and, when set,
	// of 1d bars, which then cover its trading days (bars.Options.Calendar)
	// instead of UTC days.
	Calendar string
	// Rules is an alert rules file (YAML, see transforms/alerts); its alerts
	// go to AlertsOut and outlier ticks to the dead letters.
	Rules     string
	AlertsOut string
	// Notify delivers each alert to the notifiers its rule names (webhooks
	// and emails of the rules file, secrets read from the workers'
	// environment; see alerts.Deliver). Every alert is still written to
	// AlertsOut; a failed delivery is also a dead letter, stage notify.
	Notify bool
	// ChangesOut receives PriceChange rows: each priced tick's change and
	// change % against its previous close, with the ±FlagThreshold% flag
	// (transforms/enrich). They are computed when ChangesOut is set or a
	// change_pct rule reads them.
	ChangesOut string
	// PrevCloseSources is the priority order of previous-close sources
	// (enrich.SourceFeed, SourceReference, SourceLastClose); empty means
	// enrich.DefaultSources. Trading days follow Calendar.
	PrevCloseSources []enrich.Source
	// References is a CSV glob of reference previous closes
	// (symbol,date,prev_close); Splits a CSV glob of splits
	// (symbol,ex_date,ratio) that adjust previous closes. Bad lines become
	// dead letters.
	References string
	Splits     string
	// FlagThreshold is X of the ±X% flag; default enrich.DefaultFlagThreshold.
	FlagThreshold float64
	// GapsOut receives the Gap rows of a live input (io/live): every hole
	// its connector saw in the feed, filled by a backfill or not.
	GapsOut string
	// Positions is a portfolio's positions (transforms/portfolio): a CSV
	// file, local or gs://, or bq:P.D.T (see LoadHoldings), valued on the
	// bars of the first resolution into PortfolioOut's PortfolioRows. A
	// stream re-reads it every PositionsRefresh (the CLI's default is
	// DefaultPositionsRefresh; 0 reads it once, in Build) and values the
	// windows after a change with the new positions.
	Positions        string
	PortfolioOut     string
	PositionsRefresh time.Duration
}

// DefaultAllowedLateness is the CLI's --allowed_lateness default.
const DefaultAllowedLateness = time.Minute

// Synthetic reports whether the input is the synthetic feed.
func (c Config) Synthetic() bool { return strings.HasPrefix(c.Input, SyntheticScheme) }

// PubSub reports whether the input is a Pub/Sub subscription.
func (c Config) PubSub() bool { return strings.HasPrefix(c.Input, PubSubScheme) }

// Live reports whether the input is a live vendor connection (io/live).
func (c Config) Live() bool { return live.IsURI(c.Input) }

// Bounded reports whether the input ends by itself: files, and a synthetic
// feed that is not paced and has a count or duration.
func (c Config) Bounded() bool {
	switch {
	case c.PubSub(), c.Live():
		return false
	case c.Synthetic():
		sc, err := synthetic.ParseURI(c.Input)
		return err == nil && !sc.Paced && (sc.Count > 0 || sc.Duration > 0 || c.Duration > 0)
	}
	return true
}

// Validate checks the configuration before a pipeline is built, so bad flags
// fail fast with one clear reason.
func (c Config) Validate() error {
	if c.Input == "" {
		return errors.New("--input is required: a file path or glob, or synthetic:?symbols=...")
	}
	switch {
	case c.Synthetic():
		if _, err := synthetic.ParseURI(c.Input); err != nil {
			return fmt.Errorf("--input: %w", err)
		}
	case c.Live():
		if err := c.validateLive(); err != nil {
			return err
		}
	case c.PubSub():
		if _, _, err := pubsubx.ParseSubscription(strings.TrimPrefix(c.Input, PubSubScheme)); err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		if c.Format != "" {
			if _, err := feedformat.New(c.Format, c.ParseOptions); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
		}
	default:
		if c.Format == "" {
			return fmt.Errorf("--format is required for file input (one of %s)", strings.Join(feedformat.Formats(), ", "))
		}
		if _, err := feedformat.New(c.Format, c.ParseOptions); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if len(c.Bars) == 0 {
		return errors.New("--bar: at least one resolution is required")
	}
	if c.BarsOut == "" {
		return errors.New("--bars_out is required: a local directory, gs:// prefix, bq:P.D.T or pubsub:projects/P/topics/T")
	}
	if c.Shards < 0 || c.Shards > 1000 {
		return fmt.Errorf("--shards %d: want 1..1000", c.Shards)
	}
	if err := c.validateOutputs(c.streamOutputs()); err != nil {
		return err
	}
	if c.AllowedLateness < 0 {
		return fmt.Errorf("--allowed_lateness %s: want >= 0", c.AllowedLateness)
	}
	if (c.Indicators == "") != (c.IndicatorsOut == "") {
		return errors.New("--indicators and --indicators_out go together")
	}
	if c.Indicators != "" {
		if _, err := indicators.ParseSpecs(c.Indicators); err != nil {
			return fmt.Errorf("--indicators: %w", err)
		}
	}
	if c.Calendar != "" {
		if _, err := calendar.Lookup(c.Calendar); err != nil {
			return fmt.Errorf("--calendar: %w", err)
		}
	}
	if (c.Rules == "") != (c.AlertsOut == "") {
		return errors.New("--rules and --alerts_out go together")
	}
	if c.Rules != "" {
		if _, err := alerts.LoadRules(c.Rules); err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
	}
	if _, err := c.prevCloseOptions(); err != nil {
		return err
	}
	if err := c.validatePortfolio(); err != nil {
		return err
	}
	if err := c.validateOutputs(c.analyticsOutputs()); err != nil {
		return err
	}
	if c.DeadLetterOut == "" && isTableOrTopic(c.BarsOut) {
		return errors.New("--deadletter_out is required when --bars_out is a table or topic (dead letters have another schema)")
	}
	return nil
}

// Output is one output setting, named by its CLI flag.
type Output struct{ Flag, Value string }

// Outputs lists the outputs that are set.
func (c Config) Outputs() []Output { return append(c.streamOutputs(), c.analyticsOutputs()...) }

func (c Config) streamOutputs() []Output {
	return nonEmpty([]Output{{"--bars_out", c.BarsOut}, {"--deadletter_out", c.DeadLetterOut}, {"--raw_out", c.RawOut}, {"--gaps_out", c.GapsOut}})
}

func (c Config) analyticsOutputs() []Output {
	return nonEmpty([]Output{{"--indicators_out", c.IndicatorsOut}, {"--session_out", c.SessionOut}, {"--alerts_out", c.AlertsOut},
		{"--changes_out", c.ChangesOut}, {"--portfolio_out", c.PortfolioOut}})
}

func nonEmpty(outs []Output) []Output {
	return slices.DeleteFunc(outs, func(o Output) bool { return o.Value == "" })
}

func (c Config) validateOutputs(outs []Output) error {
	for _, o := range outs {
		if err := c.validateOutput(o.Value); err != nil {
			return fmt.Errorf("%s: %w", o.Flag, err)
		}
	}
	return nil
}

func isTableOrTopic(out string) bool {
	return strings.HasPrefix(out, BigQueryScheme) || strings.HasPrefix(out, PubSubScheme)
}

func (c Config) validateOutput(out string) error {
	switch {
	case strings.HasPrefix(out, BigQueryScheme):
		if _, err := bigqueryx.ParseTable(strings.TrimPrefix(out, BigQueryScheme)); err != nil {
			return err
		}
		return c.BigQuery.Validate()
	case strings.HasPrefix(out, PubSubScheme):
		_, _, err := pubsubx.ParseTopic(strings.TrimPrefix(out, PubSubScheme))
		return err
	}
	return lake.ValidatePrefix(out)
}

// Tap observes the collections Build made, e.g. to add metrics or send rows
// to a live dashboard. It must leave them as they are.
type Tap func(s beam.Scope, c Collections)

// Collections are what a Tap sees; the invalid ones were not computed.
type Collections struct {
	// Ticks are the deduplicated ticks, outliers removed.
	Ticks beam.PCollection
	// Bars holds the Bar rows of each Config.Bars resolution, in order.
	Bars []beam.PCollection
	// Indicators holds IndicatorValue rows (Config.Indicators).
	Indicators beam.PCollection
	// Alerts holds Alert rows (Config.Rules).
	Alerts beam.PCollection
	// DeadLetters holds every DeadLetter row.
	DeadLetters beam.PCollection
}

// globalRowsWindow batches a stream's rows that come in the global window
// (dead letters, alerts) for writing.
const globalRowsWindow = 5 * time.Second

// Build adds the monitor pipeline to s.
func Build(s beam.Scope, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s = s.Scope("monitor")
	var ticks beam.PCollection
	var dead, written []beam.PCollection
	var durable *pubsubx.Durable
	bounded := c.Bounded()
	pc := parse.Config{Format: c.Format, Options: c.ParseOptions, Limits: c.Limits, MaxPayloadBytes: c.maxPayload()}
	switch {
	case c.Synthetic():
		sc, _ := synthetic.ParseURI(c.Input)
		if c.Duration > 0 && (sc.Duration == 0 || c.Duration < sc.Duration) {
			sc.Duration = c.Duration
		}
		ticks = synthetic.Ticks(s, sc)
	case c.Live():
		msgs, d, gaps := live.Read(s, live.ReadOptions{URI: c.Input, WatermarkDelay: c.watermarkDelay(), AllowedLateness: c.AllowedLateness})
		t, pd := parse.Messages(s, pc, msgs)
		ticks = t
		dead = append(dead, d, pd)
		if c.GapsOut != "" {
			if err := c.writeTo(&written, s, c.GapsOut, "gaps", gaps, globalRowsWindow, false); err != nil {
				return fmt.Errorf("--gaps_out: %w", err)
			}
		}
	case c.PubSub():
		ts := c.TimestampAttribute
		if ts == "" {
			ts = DefaultTimestampAttribute
		}
		delay := c.WatermarkDelay
		if delay == 0 {
			delay = DefaultWatermarkDelay
		}
		opts := pubsubx.ReadOptions{Subscription: strings.TrimPrefix(c.Input, PubSubScheme),
			TimestampAttribute: ts, WatermarkDelay: delay, Native: c.NativePubSub, AllowedLateness: c.AllowedLateness}
		var msgs, late beam.PCollection
		if c.NativePubSub || c.AckOnCommit {
			msgs, late = pubsubx.ReadWithLate(s, opts)
		} else {
			opts.AckWindow, opts.AckHorizon = c.ackTimes()
			d := pubsubx.ReadDurable(s, opts)
			durable, msgs, late = &d, d.Messages, d.Late
		}
		t, d := parse.Messages(s, pc, msgs)
		ticks = t
		// A late message that would not parse is a parse dead letter.
		dead = append(dead, parse.Late(s, pc, late), d)
	default:
		raw, oversized := lines.Read(s, c.Input, lines.MaxLineBytes(c.maxPayload()))
		t, d := parse.Lines(s, pc, raw)
		ticks = t
		dead = append(dead, oversized, d)
	}
	if !c.KeepDuplicates {
		// Deduplicated ticks leave each dedupe window when it closes; every
		// bar window must then still be open, so dedupe windows must tile
		// every bar window: their length divides every resolution.
		ticks = dedupe.Ticks(s, ticks, dedupe.Options{Window: bars.GCD(c.Bars), AllowedLateness: c.AllowedLateness})
	}
	var ruleSet, rules, outlierRules *alerts.RuleSet
	if c.Rules != "" {
		rs, err := alerts.LoadRules(c.Rules)
		if err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
		ruleSet = rs
		rules, outlierRules = splitOutliers(rs)
	}
	var alertCols []beam.PCollection
	if outlierRules != nil {
		// Outliers are quarantined before anything is computed from ticks.
		out, err := alerts.Apply(s, outlierRules, alerts.Inputs{Ticks: ticks})
		if err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
		ticks = out.CleanTicks
		dead = append(dead, out.Quarantined)
		alertCols = append(alertCols, out.Alerts)
	}
	// Bounded runs write one file per day and resolution, not one per bar
	// window; streaming runs write each bar window's panes as they fire.
	var fileWindow time.Duration
	rawWindow := time.Minute
	if bounded {
		fileWindow, rawWindow = 24*time.Hour, time.Hour
	}
	if c.RawOut != "" {
		if err := c.writeTo(&written, s, c.RawOut, "ticks", ticks, rawWindow, true); err != nil {
			return fmt.Errorf("--raw_out: %w", err)
		}
	}
	// The tick test buffers every trade per symbol until the watermark
	// passes it: skipped for formats whose trades all have a side.
	if c.InferSide && !feedformat.TradesHaveSide(c.Format) {
		ticks = tickrule.Classify(s, ticks)
	}
	barOpts := bars.Options{Resolutions: c.Bars}
	if c.Calendar != "" {
		// Validate checked the name.
		barOpts.Calendar, _ = calendar.Lookup(c.Calendar)
	}
	if !bounded {
		barOpts.AllowedLateness = c.AllowedLateness
	}
	barCols := bars.Compute(s, ticks, barOpts)
	tapped := Collections{Ticks: ticks, Bars: barCols}
	for i, b := range barCols {
		// Each resolution gets its own sink, also when they share one table
		// or topic (the resolution column tells them apart): a Flatten would
		// hold the 1s bars back until the coarsest window's watermark.
		name := "bars-" + c.Bars[i].String()
		if isTableOrTopic(c.BarsOut) {
			name = "bars"
		}
		if err := c.writeTo(&written, s, c.BarsOut, name, b, fileWindow, false); err != nil {
			return fmt.Errorf("--bars_out: %w", err)
		}
	}
	var crosses beam.PCollection
	if c.Indicators != "" {
		specs, _ := indicators.ParseSpecs(c.Indicators)
		values, cx := indicators.Compute(s, barCols[0], indicators.Options{Specs: specs})
		crosses = cx
		tapped.Indicators = values
		if err := c.writeTo(&written, s, c.IndicatorsOut, "indicators", values, fileWindow, false); err != nil {
			return fmt.Errorf("--indicators_out: %w", err)
		}
	}
	var positions beam.PCollection
	if c.Positions != "" {
		rows, d, err := c.buildPortfolio(s, barCols[0], bounded, fileWindow, &written)
		if err != nil {
			return err
		}
		positions = rows
		dead = append(dead, d...)
	}
	if c.SessionOut != "" {
		cal, err := calendar.Lookup(c.calendarName())
		if err != nil {
			return fmt.Errorf("--calendar: %w", err)
		}
		stats := session.Stats(s, ticks, session.Options{Resolution: c.Bars[0].Duration(), Calendar: cal, AllowedLateness: c.AllowedLateness})
		if err := c.writeTo(&written, s, c.SessionOut, "session", stats, fileWindow, false); err != nil {
			return fmt.Errorf("--session_out: %w", err)
		}
	}
	var changes beam.PCollection
	if c.ChangesOut != "" || readsChanges(rules) {
		changes, dead = c.priceChanges(s, ticks, dead)
		if c.ChangesOut != "" {
			if err := c.writeTo(&written, s, c.ChangesOut, "changes", changes, rawWindow, true); err != nil {
				return fmt.Errorf("--changes_out: %w", err)
			}
		}
	}
	if rules != nil {
		in := alerts.Inputs{Ticks: ticks, Bars: barCols[0], Crosses: crosses, Changes: changes, Portfolio: positions}
		out, err := alerts.Apply(s, rules, in)
		if err != nil {
			return fmt.Errorf("--rules: %w", err)
		}
		alertCols = append(alertCols, out.Alerts)
	}
	// Dead letters and alerts keep their input's windowing, the global
	// window for unbounded input: give them short windows so a streaming
	// sink writes them within seconds of the watermark passing.
	globalWindow := time.Duration(0)
	if !bounded {
		globalWindow = globalRowsWindow
	}
	if len(alertCols) > 0 {
		all := beam.Flatten(s, alertCols...)
		tapped.Alerts = all
		if err := c.writeTo(&written, s, c.AlertsOut, "alerts", all, globalWindow, false); err != nil {
			return fmt.Errorf("--alerts_out: %w", err)
		}
		if c.Notify {
			_, failed, err := alerts.Deliver(s, ruleSet, all, alerts.DeliverOptions{})
			if err != nil {
				return fmt.Errorf("--notify: %w", err)
			}
			dead = append(dead, failed)
		}
	}
	if len(dead) > 0 {
		out := c.DeadLetterOut
		if out == "" {
			out = c.BarsOut
		}
		tapped.DeadLetters = beam.Flatten(s, dead...)
		if err := c.writeTo(&written, s, out, "deadletters", tapped.DeadLetters, globalWindow, false); err != nil {
			return fmt.Errorf("--deadletter_out: %w", err)
		}
	}
	for _, tap := range c.Taps {
		tap(s, tapped)
	}
	if durable != nil {
		durable.AckWhenWritten(s, written...)
	}
	return nil
}

// ackTimes are the AckWindow and AckHorizon of a durable Pub/Sub read (see
// pubsubx.ReadDurable): the window is the least common multiple of the
// windows rows are grouped in (bars, dedupe, the streaming sinks' batching
// windows), so that a crash leaves whole windows unacked and a restart
// writes them again whole, the same rows. Calendar days (1d bars of a
// Calendar) are not fixed windows; they go into the horizon instead, as
// does the allowed lateness (LATE panes come until then), plus a second
// for the sinks' bundles.
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
	return window, horizon + c.AllowedLateness + time.Second
}

func lcm(a, b time.Duration) time.Duration {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// writeTo sends rows to out (see write) and adds what the sink returns to
// written: its watermark says what has been written (durable Pub/Sub acks).
func (c Config) writeTo(written *[]beam.PCollection, s beam.Scope, out, name string, rows beam.PCollection, window time.Duration, partition bool) error {
	w, err := c.write(s, out, name, rows, window, partition)
	if err == nil {
		*written = append(*written, w)
	}
	return err
}

// write sends rows to out: a BigQuery table, a Pub/Sub topic, or files named
// name-* under a directory or prefix. window > 0 re-windows rows first. It
// returns the sink's output.
func (c Config) write(s beam.Scope, out, name string, rows beam.PCollection, window time.Duration, partition bool) (beam.PCollection, error) {
	switch {
	case strings.HasPrefix(out, BigQueryScheme):
		opts := bigqueryx.WriteOptions{TableOptions: bigqueryx.TableOptions{Options: c.BigQuery}, Window: window}
		if c.Shards > 1 {
			opts.Shards = c.Shards
		}
		return bigqueryx.TryWrite(s, strings.TrimPrefix(out, BigQueryScheme), rows, opts)
	case strings.HasPrefix(out, PubSubScheme):
		topic := strings.TrimPrefix(out, PubSubScheme)
		opts := pubsubx.WriteOptions{Attributes: map[string]string{"kind": name}}
		if err := opts.Validate(topic); err != nil {
			return beam.PCollection{}, err
		}
		return pubsubx.Write(s, topic, rows, opts), nil
	}
	return lake.TryWrite(s, out, rows, lake.Options{Name: name, Shards: c.Shards, Gzip: c.Gzip, Window: window, Partition: partition})
}

// splitOutliers returns rs without its outlier rules, and those rules alone
// (nil when there are none of either kind).
func splitOutliers(rs *alerts.RuleSet) (rest, outliers *alerts.RuleSet) {
	r, o := *rs, *rs
	r.Rules, o.Rules = nil, nil
	for _, rule := range rs.Rules {
		if rule.Kind == alerts.KindOutlier {
			o.Rules = append(o.Rules, rule)
		} else {
			r.Rules = append(r.Rules, rule)
		}
	}
	if len(r.Rules) > 0 {
		rest = &r
	}
	if len(o.Rules) > 0 {
		outliers = &o
	}
	return rest, outliers
}

// readsChanges reports whether a rule of rs reads PriceChange rows.
func readsChanges(rs *alerts.RuleSet) bool {
	if rs == nil {
		return false
	}
	for _, r := range rs.Rules {
		if r.Kind == alerts.KindChangePct {
			return true
		}
	}
	return false
}

// prevCloseOptions checks the previous-close settings; its Options lack
// the References and Splits collections, which priceChanges reads.
func (c Config) prevCloseOptions() (enrich.Options, error) {
	cal, err := calendar.Lookup(c.calendarName())
	if err != nil {
		return enrich.Options{}, fmt.Errorf("--calendar: %w", err)
	}
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

// priceChanges enriches ticks with their previous close; bad reference and
// split lines join dead.
func (c Config) priceChanges(s beam.Scope, ticks beam.PCollection, dead []beam.PCollection) (beam.PCollection, []beam.PCollection) {
	o, _ := c.prevCloseOptions() // checked by Validate
	if c.References != "" {
		text, oversized := lines.Read(s, c.References)
		refs, bad := enrich.ParseReferenceCSV(s, text, c.References)
		o.References = refs
		dead = append(dead, bad, oversized)
	}
	if c.Splits != "" {
		text, oversized := lines.Read(s, c.Splits)
		splits, bad := enrich.ParseSplitCSV(s, text, c.Splits)
		o.Splits = splits
		dead = append(dead, bad, oversized)
	}
	return enrich.PrevClose(s, ticks, o), dead
}

func (c Config) calendarName() string {
	if c.Calendar != "" {
		return c.Calendar
	}
	return "CRYPTO"
}

func (c Config) maxPayload() int {
	if c.MaxPayloadBytes > 0 {
		return c.MaxPayloadBytes
	}
	return parse.DefaultMaxPayloadBytes
}

// validateLive checks a live input: its URI, and that the pipeline runs
// where the connection is (the local runner).
func (c Config) validateLive() error {
	spec, err := live.Parse(c.Input)
	if err != nil {
		return fmt.Errorf("--input: %w", err)
	}
	if c.Format != "" && c.Format != spec.Format {
		return fmt.Errorf("--format %s: a %s: input is read as %s", c.Format, spec.Vendor, spec.Format)
	}
	if c.NativePubSub {
		return errors.New("--input: live inputs run on the local runner; for Dataflow, publish them with 'tickbeam feed --input=... --to=pubsub:...' and read the subscription")
	}
	return nil
}

// watermarkDelay is WatermarkDelay or its default.
func (c Config) watermarkDelay() time.Duration {
	if c.WatermarkDelay == 0 {
		return DefaultWatermarkDelay
	}
	return c.WatermarkDelay
}
