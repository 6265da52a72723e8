package monitor

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/alerts"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/enrich"
	"github.com/tickbeam/tickbeam/transforms/indicators"
	"github.com/tickbeam/tickbeam/transforms/parse"
	"github.com/tickbeam/tickbeam/transforms/session"
	"github.com/tickbeam/tickbeam/transforms/tickrule"
)

// DefaultTimestampAttribute is the Pub/Sub attribute `tickbeam feed` sets to
// the earliest event time of a message's ticks, so the source's watermark
// follows event time and no tick is behind it.
const DefaultTimestampAttribute = "ts"

// DefaultWatermarkDelay is Config.WatermarkDelay's default for a Pub/Sub
// input. The reader's own hold already follows the disorder of its pulls
// (io/pubsubx), so this is a margin for the feed's: the streaming benchmark
// on the emulators had no late tick with it at 5k ticks/s, and it is most of
// what a bar waits for after its window ends (it was 1 s).
const DefaultWatermarkDelay = 250 * time.Millisecond

// DefaultLiveWatermarkDelay is Config.WatermarkDelay's default for a live
// input (io/live): its watermark follows the oldest tick received with no
// hold of its own, so the vendor's disorder needs the larger margin.
const DefaultLiveWatermarkDelay = time.Second

// Config is what the monitor pipeline reads, computes and writes, as the
// CLI's flags say it; Resolve parses it for a runner into the Plan that
// Build adds to a scope.
type Config struct {
	// Input is a file path or glob, local or gs:// (.gz read transparently),
	// a Pub/Sub subscription "pubsub:projects/P/subscriptions/S", a
	// synthetic feed "synthetic:?symbols=A,B&rate=N&seed=S" or a live vendor
	// connection (io/live, e.g. "binance:?symbols=BTCUSDT").
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
	// DefaultWatermarkDelay; for a live input, which it holds the same
	// way, DefaultLiveWatermarkDelay.
	WatermarkDelay time.Duration
	// NativePubSub reads Pub/Sub with Beam's native read (Dataflow) instead
	// of tickbeam's own reader; Resolve sets it for runners other than the
	// local one.
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
	// EarlyTickRules, on a stream, has the rules on ticks read dedupe's
	// batches before they are grouped (dedupe.Options.Early) and drop
	// copies themselves, so a tick alert waits for the watermark only, not
	// for the dedupe window as well: up to DedupeWindow sooner. It costs
	// CPU where the batches are small, as with many sparse symbols or an
	// outlier rule over every symbol, whose clean ticks come in per flush
	// (the soak fell 4-15 s behind with it), hence off by default.
	EarlyTickRules bool
	// DedupeWindow is the event-time window copies are recognised in; it
	// must divide every bar resolution. A stream's ticks reach the bars and
	// the rules (but see EarlyTickRules) only when their window closes.
	// Default: on a stream DefaultStreamDedupeWindow, on a bounded input the
	// bars' greatest common divisor.
	DedupeWindow time.Duration
	// InferSide gives trades that the feed sends without an aggressor side
	// (Alpaca stocks, Alpha Vantage, json/csv without a side) the side of
	// the tick test (transforms/tickrule) before bars, session statistics
	// and rules see them, so their buy and sell volumes and trade strength
	// are filled rather than UNKNOWN. A no-op for formats whose trades all
	// have a side (feedformat.TradesHaveSide). Ticks carry no mark: the
	// count of inferred sides is the counter tickbeam/tickrule.inferred. The
	// raw archive (RawOut) keeps the feed's own sides. It costs a stateful
	// step per symbol holding trades until the watermark passes them: in a
	// batch run every trade (see docs/benchmarks-log.md).
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
	// are dead letters (stage late). AutoAllowedLateness lets Resolve
	// choose by runner, as the CLI does when --allowed_lateness is not given.
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

// DefaultStreamDedupeWindow is a stream's dedupe window (Config.DedupeWindow):
// a tick waits for its window to close before the bars and the previous
// close see it, up to this long (a bar window closes at the same moment, so
// only the rules on ticks and change rows wait, unless EarlyTickRules).
// Shorter windows cost more keys per tick where symbols are many and
// sparse.
const DefaultStreamDedupeWindow = time.Second

// DefaultAllowedLateness is the allowed lateness of AutoAllowedLateness on
// runners other than the local one, and the --allowed_lateness default.
const DefaultAllowedLateness = time.Minute

// Synthetic reports whether the input is the synthetic feed.
func (c Config) Synthetic() bool { return endpoint.KindOf(c.Input) == endpoint.SyntheticInput }

// PubSub reports whether the input is a Pub/Sub subscription.
func (c Config) PubSub() bool { return endpoint.KindOf(c.Input) == endpoint.PubSubInput }

// Live reports whether the input is a live vendor connection (io/live).
func (c Config) Live() bool { return endpoint.KindOf(c.Input) == endpoint.LiveInput }

// Bounded reports whether the input ends by itself: files, and a synthetic
// feed that is not paced and has a count or duration.
func (c Config) Bounded() bool {
	in, err := endpoint.ParseInput(c.Input)
	return err == nil && c.bounded(in)
}

func (c Config) bounded(in endpoint.Input) bool {
	switch in.Kind {
	case endpoint.PubSubInput, endpoint.LiveInput:
		return false
	case endpoint.SyntheticInput:
		sc := in.Synthetic
		return !sc.Paced && (sc.Count > 0 || sc.Duration > 0 || c.Duration > 0)
	}
	return true
}

// Validate checks the configuration as Resolve does for the local runner,
// so bad settings fail fast with one clear reason.
func (c Config) Validate() error {
	_, err := c.Resolve(runners.Local)
	return err
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

// Build adds the monitor pipeline of p, made by Config.Resolve, to s. It
// reads as the package diagram, top to bottom; an output that is not set
// is not computed. Build reads the positions (Config.Positions), nothing
// else: its errors are a positions source that will not load and steps
// that refuse their inputs.
func Build(s beam.Scope, p Plan) error {
	if !p.resolved {
		return errors.New("monitor.Build: the Plan was not made by Config.Resolve")
	}
	b := newBuilder(s.Scope("monitor"), p)
	// input --> parse --> dedupe --> [outlier rules] --> raw_out, [tick test]
	unique := b.readUnique() // and a live input's gaps --> gaps_out
	if p.Outputs.Raw.Set() {
		b.write(p.Outputs.Raw, "ticks", unique.Ticks(b.s), b.rawWindow, true)
	}
	if p.InferSide {
		unique = tickStream{ticks: tickrule.Classify(b.s, unique.Ticks(b.s)), early: unique.early}
	}
	// ticks --> bars (--> indicators, portfolio), session stats, price changes
	first := b.bars(unique.Batched()) // the bars of Config.Bars[0]
	crosses := b.indicators(first)
	positions := b.portfolio(first)
	b.session(&unique)
	changes := b.priceChanges(unique.Batched())
	// --> alert rules --> alerts_out; dead letters of every step --> deadletter_out
	in := alerts.Inputs{Bars: first, Indicators: b.tapped.Indicators, Crosses: crosses, Changes: changes, Portfolio: positions}
	if p.Rules.Needs(alerts.InputTicks) {
		in.Ticks = unique.ForRules()
	}
	b.alert(in)
	b.deadLetters()
	if len(p.Taps) > 0 {
		b.tapped.Ticks = unique.Ticks(b.s)
	}
	for _, tap := range p.Taps {
		tap(b.s, b.tapped)
	}
	if b.durable != nil {
		b.durable.AckWhenWritten(b.s, b.written...)
	}
	return b.err
}

// tickStream is the deduplicated ticks: dedupe's batches, which bars, the
// rules and the previous close read without a step per tick, and the ticks
// one by one for every other step, made only when one asks for them (an
// unread ParDo still runs).
type tickStream struct {
	batches beam.PCollection // PCollection<dedupe.Batch>; invalid when not deduplicated
	ticks   beam.PCollection // PCollection<tickbeam.Tick>, once asked for
	// early is dedupe.Options.Early's batches, copies included, when the
	// tick rules read them (Plan.EarlyTickRules); else invalid.
	early beam.PCollection
}

// Ticks returns the ticks one by one.
func (t *tickStream) Ticks(s beam.Scope) beam.PCollection {
	if !t.ticks.IsValid() {
		t.ticks = dedupe.Unbatch(s, t.batches)
	}
	return t.ticks
}

// Batched returns the batches, or the ticks when there are no batches, for
// the steps that take either (bars, the rules, the previous close).
func (t *tickStream) Batched() beam.PCollection {
	if t.batches.IsValid() {
		return t.batches
	}
	return t.ticks
}

// ForRules returns what the tick rules read: with Plan.EarlyTickRules the
// batches before dedupe's window closes (the rules drop copies
// themselves), so an alert waits for its tick's watermark only, not for
// the window's end as well (up to --dedupe_window more); else Batched.
func (t *tickStream) ForRules() beam.PCollection {
	if t.early.IsValid() {
		return t.early
	}
	return t.Batched()
}

// builder is what Build has made so far.
type builder struct {
	Plan
	s beam.Scope
	// Bounded runs write one file per day and resolution (fileWindow), not
	// one per bar window, and raw ticks by the hour; streaming runs write
	// each bar window's panes as they fire, and batch the rows that come in
	// the global window (dead letters, alerts) in short windows, so a sink
	// writes them within seconds of the watermark passing.
	fileWindow, rawWindow, globalWindow time.Duration

	dead, alerts []beam.PCollection
	// written holds the sinks' outputs, whose watermark says what has been
	// written, for the durable Pub/Sub read's acks.
	written []beam.PCollection
	durable *pubsubx.Durable
	tapped  Collections
	err     error // the first failure
}

func newBuilder(s beam.Scope, p Plan) *builder {
	b := &builder{Plan: p, s: s, rawWindow: time.Minute, globalWindow: globalRowsWindow}
	if p.Bounded {
		b.fileWindow, b.rawWindow, b.globalWindow = 24*time.Hour, time.Hour, 0
	}
	return b
}

// fail keeps the first error, named by the flag of the setting at fault.
func (b *builder) fail(flag string, err error) {
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("%s: %w", flag, err)
	}
}

// read reads and parses the input; the parser's failures are dead letters.
func (b *builder) read() beam.PCollection {
	s, pc := b.s, b.Parse
	switch b.Input.Kind {
	case endpoint.SyntheticInput:
		return synthetic.Ticks(s, b.Input.Synthetic)
	case endpoint.LiveInput:
		msgs, d, gaps := live.Read(s, b.Live)
		ticks, pd := parse.Messages(s, msgs, pc)
		b.dead = append(b.dead, d, pd)
		b.write(b.Outputs.Gaps, "gaps", gaps, globalRowsWindow, false)
		return ticks
	case endpoint.PubSubInput:
		var msgs, late beam.PCollection
		if b.Durable {
			d := pubsubx.ReadDurable(s, b.PubSub)
			b.durable, msgs, late = &d, d.Messages, d.Late
		} else {
			msgs, late = pubsubx.ReadWithLate(s, b.PubSub)
		}
		ticks, d := parse.Messages(s, msgs, pc)
		// A late message that would not parse is a parse dead letter.
		b.dead = append(b.dead, parse.Late(s, late, pc), d)
		return ticks
	}
	ticks, d := parse.Blocks(s, b.readBlocks(), pc)
	b.dead = append(b.dead, d)
	return ticks
}

// readBlocks reads the input file in blocks of lines, not lines: on prism
// the read is one bundle on one goroutine, and parse.Blocks (or
// dedupe.Blocks) parses ahead on the other cores.
func (b *builder) readBlocks() beam.PCollection {
	raw, oversized := lines.ReadBlocks(b.s, b.Input.URI, lines.MaxLineBytes(b.Parse.MaxPayloadBytes))
	b.dead = append(b.dead, oversized)
	return raw
}

// readUnique reads and parses the input and drops redelivered trades, a
// file's blocks parsed and packed for dedupe in one step; without dedupe it
// applies the outlier rules.
func (b *builder) readUnique() tickStream {
	switch {
	case !b.Dedupe:
		return tickStream{ticks: b.quarantineOutliers(b.read())}
	case b.Input.Kind == endpoint.FileInput:
		blocks := b.readBlocks()
		return b.dedupe(func(opts dedupe.Options) beam.PCollection {
			batches, d := dedupe.Blocks(b.s, blocks, b.Parse, opts)
			b.dead = append(b.dead, d)
			return batches
		})
	}
	ticks := b.read()
	return b.dedupe(func(opts dedupe.Options) beam.PCollection { return dedupe.Batches(b.s, ticks, opts) })
}

// dedupe drops redelivered trades from the batches made with the options
// it passes. Deduplicated ticks leave each dedupe
// window when it closes; every bar window must then still be open, so
// dedupe windows tile every bar window (DedupeWindow). The outlier rules
// judge inside it (alerts.Screen), where the ticks they pass cost no
// crossing of their own. With EarlyTickRules the tick rules read its
// batches before they are grouped (tickStream.ForRules).
func (b *builder) dedupe(batches func(dedupe.Options) beam.PCollection) tickStream {
	opts := dedupe.Options{Window: b.DedupeWindow, AllowedLateness: b.AllowedLateness}
	var unique tickStream
	if b.EarlyTickRules {
		opts.Early = func(batches beam.PCollection) { unique.early = batches }
	}
	if b.Outliers == nil {
		unique.batches = batches(opts)
		return unique
	}
	scr := &alerts.Screen{Rules: b.Outliers}
	opts.Screen = scr.Batches
	unique.batches = batches(opts)
	if err := scr.Err(); err != nil {
		b.fail("--rules", err)
		return unique
	}
	b.dead = append(b.dead, scr.Quarantined)
	b.alerts = append(b.alerts, scr.Alerts)
	return unique
}

// quarantineOutliers applies the outlier rules before anything is computed
// from ticks when dedupe is off (else dedupe did): outliers become dead
// letters.
func (b *builder) quarantineOutliers(ticks beam.PCollection) beam.PCollection {
	if b.Outliers == nil || b.Dedupe {
		return ticks
	}
	out, err := alerts.TryApply(b.s, alerts.Inputs{Ticks: ticks}, b.Outliers)
	if err != nil {
		b.fail("--rules", err)
		return ticks
	}
	b.dead = append(b.dead, out.Quarantined)
	b.alerts = append(b.alerts, out.Alerts)
	return out.CleanTicks
}

// bars computes the bars of each resolution and writes them; it returns
// those of the first resolution (Config.Bars[0]), which indicators,
// portfolio and the alert rules read.
func (b *builder) bars(ticks beam.PCollection) (first beam.PCollection) {
	res := b.Plan.Bars.Resolutions
	byRes := bars.Compute(b.s, ticks, b.Plan.Bars)
	for _, r := range res {
		rows := byRes[r]
		b.tapped.Bars = append(b.tapped.Bars, rows)
		// Each resolution gets its own sink, also when they share one table
		// or topic (the resolution column tells them apart): a Flatten would
		// hold the 1s bars back until the coarsest window's watermark.
		name := "bars"
		if b.Outputs.Bars.Kind == endpoint.FileOutput {
			name += "-" + r.String()
		}
		b.write(b.Outputs.Bars, name, rows, b.fileWindow, false)
	}
	return byRes[res[0]]
}

// indicators computes the indicators of the first resolution's bars and
// writes them; it returns their crosses for the alert rules.
func (b *builder) indicators(barRows beam.PCollection) (crosses beam.PCollection) {
	if len(b.Indicators) == 0 {
		return crosses
	}
	values, crosses := indicators.Compute(b.s, barRows, indicators.Options{Specs: b.Indicators})
	b.tapped.Indicators = values
	b.write(b.Outputs.Indicators, "indicators", values, b.fileWindow, false)
	return crosses
}

// session computes the session statistics and writes them.
func (b *builder) session(unique *tickStream) {
	if !b.Outputs.Session.Set() {
		return
	}
	stats := session.Stats(b.s, unique.Ticks(b.s), session.Options{Resolution: b.Plan.Bars.Resolutions[0].Duration(), Calendar: b.Calendar, AllowedLateness: b.AllowedLateness})
	b.write(b.Outputs.Session, "session", stats, b.fileWindow, false)
}

// priceChanges enriches ticks with their previous close and writes the
// changes; bad reference and split lines are dead letters.
func (b *builder) priceChanges(ticks beam.PCollection) (changes beam.PCollection) {
	if !b.Changes {
		return changes
	}
	o := b.PrevClose
	if b.References != "" {
		text, oversized := lines.Read(b.s, b.References)
		refs, bad := enrich.ParseReferenceCSV(b.s, text, b.References)
		o.References = refs
		b.dead = append(b.dead, bad, oversized)
	}
	if b.Splits != "" {
		text, oversized := lines.Read(b.s, b.Splits)
		splits, bad := enrich.ParseSplitCSV(b.s, text, b.Splits)
		o.Splits = splits
		b.dead = append(b.dead, bad, oversized)
	}
	changes = enrich.PrevClose(b.s, ticks, o)
	b.write(b.Outputs.Changes, "changes", changes, b.rawWindow, true)
	return changes
}

// alert applies the rules other than outliers, writes every alert and
// delivers them to their notifiers: a failed delivery is a dead letter.
func (b *builder) alert(in alerts.Inputs) {
	if b.Rules != nil && b.err == nil {
		out, err := alerts.TryApply(b.s, in, b.Rules)
		b.fail("--rules", err)
		if err == nil {
			b.alerts = append(b.alerts, out.Alerts)
		}
	}
	if len(b.alerts) == 0 {
		return
	}
	all := beam.Flatten(b.s, b.alerts...)
	b.tapped.Alerts = all
	b.write(b.Outputs.Alerts, "alerts", all, b.globalWindow, false)
	if b.Notify {
		_, failed, err := alerts.TryDeliver(b.s, all, b.RuleSet, alerts.DeliverOptions{})
		b.fail("--notify", err)
		if err == nil {
			b.dead = append(b.dead, failed)
		}
	}
}

// deadLetters writes the dead letters of every step.
func (b *builder) deadLetters() {
	if len(b.dead) == 0 {
		return
	}
	b.tapped.DeadLetters = beam.Flatten(b.s, b.dead...)
	b.write(b.Outputs.DeadLetters, "deadletters", b.tapped.DeadLetters, b.globalWindow, false)
}

// write sends rows to out, if it is set: a BigQuery table, a Pub/Sub topic,
// or files named name-* under a directory or prefix. window > 0 re-windows
// rows first. What the sink returns joins written.
func (b *builder) write(out Output, name string, rows beam.PCollection, window time.Duration, partition bool) {
	b.writeIn(b.s, out, name, rows, window, partition)
}

// writeIn is write in scope s.
func (b *builder) writeIn(s beam.Scope, out Output, name string, rows beam.PCollection, window time.Duration, partition bool) {
	var w beam.PCollection
	var err error
	switch out.Kind {
	case endpoint.NoOutput:
		return
	case endpoint.TableOutput:
		opts := bigqueryx.WriteOptions{TableOptions: bigqueryx.TableOptions{Options: b.BigQuery}, Window: window}
		if b.Shards > 1 {
			opts.Shards = b.Shards
		}
		w, err = bigqueryx.TryWrite(s, out.Table.String(), rows, opts)
	case endpoint.TopicOutput:
		w = pubsubx.Write(s, out.Topic, rows, pubsubx.WriteOptions{Attributes: map[string]string{"kind": name}})
	default:
		w, err = lake.TryWrite(s, out.URI, rows, lake.Options{Name: name, Shards: b.Shards, Gzip: b.Gzip, Window: window, Partition: partition})
	}
	b.fail(out.Flag, err)
	if err == nil {
		b.written = append(b.written, w)
	}
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

// watermarkDelay is WatermarkDelay or its default for the input's kind.
func (c Config) watermarkDelay(kind endpoint.InputKind) time.Duration {
	switch {
	case c.WatermarkDelay != 0:
		return c.WatermarkDelay
	case kind == endpoint.LiveInput:
		return DefaultLiveWatermarkDelay
	}
	return DefaultWatermarkDelay
}
