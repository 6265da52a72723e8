// Command tickbeam runs tickbeam's ready-made pipelines.
//
//	tickbeam monitor --input=FILE|GLOB|synthetic:?symbols=A,B --format=F --bar=1m --bars_out=DIR
//
// Beam's own flags (--runner, --project, --region, --staging_location,
// --dry_run, ...) pass through to the runner. Run `tickbeam monitor -h` for
// every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	beamrunners "github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/enrich"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

const usage = `tickbeam runs market-data pipelines on Apache Beam.

Usage:
  tickbeam monitor [flags]   parse a feed into ticks and event-time bars
  tickbeam daily [flags]     one trading day's report and data quality per symbol, from the raw archive
  tickbeam feed [flags]      publish a capture or the synthetic feed to Pub/Sub
  tickbeam ddl [flags]       print the BigQuery external-table DDL over a --raw_out lake
  tickbeam rules check FILE  validate alert rules files
  tickbeam version           print the version

Run 'tickbeam COMMAND -h' for a command's flags.
`

// commandList names the commands of usage, so the two cannot disagree:
// "monitor, daily, ... or version".
func commandList() string {
	var names []string
	for _, line := range strings.Split(usage, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "tickbeam" && strings.HasPrefix(line, "  ") {
			names = append(names, f[1])
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// progressOut receives feed's progress bar when it is a terminal.
var progressOut = os.Stderr

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// monitorFlagSet holds monitor's flags beside Beam's on the process's flag
// set: Beam registers its runner and Dataflow flags there, so one parse
// serves both.
var monitorFlagSet = defineMonitorFlags(flag.CommandLine)

func main() {
	if workerMode(os.Args[1:]) {
		// Dataflow starts this same binary as the SDK harness with --worker
		// and its own flags; beam.Init runs the harness and exits.
		flag.Parse()
		beam.Init()
		return
	}
	os.Exit(run(context.Background(), withDefaultArgs(os.Args[1:], os.Getenv("TICKBEAM_DEFAULT_ARGS")), os.Stdout, os.Stderr))
}

// withDefaultArgs puts defaults (e.g. "monitor --runner=dataflow", set by the
// Flex Template image, whose launcher passes only --flags) before args that
// name no command; later flags win, so the launcher's parameters override.
func withDefaultArgs(args []string, defaults string) []string {
	if defaults == "" || (len(args) > 0 && !strings.HasPrefix(args[0], "-")) {
		return args
	}
	return append(strings.Fields(defaults), args...)
}

func workerMode(args []string) bool {
	for _, a := range args {
		if a == "--worker" || a == "-worker" || strings.HasPrefix(a, "--worker=") || strings.HasPrefix(a, "-worker=") {
			return true
		}
	}
	return false
}

// run is main without the process: it returns the exit code (0 done, 1 the
// run failed, 2 bad usage).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "monitor":
		return runMonitor(ctx, args[1:], stdout, stderr)
	case "daily":
		return runDaily(ctx, args[1:], stdout, stderr)
	case "feed":
		return runFeed(ctx, args[1:], stdout, stderr, progressOut)
	case "ddl":
		return runDDL(args[1:], stdout, stderr)
	case "rules":
		return runRules(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tickbeam", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tickbeam: unknown command %q (want %s)\n", args[0], commandList())
	return 2
}

func runMonitor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.CommandLine
	fs.Init("tickbeam monitor", flag.ContinueOnError)
	// Every flag starts from its default, also when run is called twice in
	// one process (tests). List flags (default "[]") append on Set, so they
	// cannot be reset this way, and go test's own flags must keep their values.
	fs.VisitAll(func(fl *flag.Flag) {
		if !strings.HasPrefix(fl.DefValue, "[") && !strings.HasPrefix(fl.Name, "test.") {
			_ = fl.Value.Set(fl.DefValue)
		}
	})
	f := monitorFlagSet
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tickbeam monitor: unexpected argument %q (flags take the form --name=value)\n", fs.Arg(0))
		return 2
	}
	cfg, err := f.config()
	var plan monitor.Plan
	if err == nil {
		if !isSet(fs, "allowed_lateness") {
			cfg.AllowedLateness = monitor.AutoAllowedLateness // the runner's: 0 on prism
		}
		liveDefaults(&cfg)
		plan, err = cfg.Resolve(*beamrunners.Runner)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam monitor: %v\n", err)
		return 2
	}

	if f.metricsAddr != "" {
		stop, err := serveMetrics("monitor", f.metricsAddr, plan.Local, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "tickbeam monitor: %v\n", err)
			return 2
		}
		defer stop()
		plan.Taps = append(plan.Taps, metricsTap(plan.Bars.Resolutions))
	}
	if f.ui != "" {
		tap, stop, err := serveDashboard(f.ui, plan.Local, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "tickbeam monitor: %v\n", err)
			return 2
		}
		defer stop()
		plan.Taps = append(plan.Taps, tap)
	}

	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	if err := monitor.Build(s, plan); err != nil {
		fmt.Fprintf(stderr, "tickbeam monitor: %v\n", err)
		return 2
	}
	opts := plan.RunOptions()
	opts.StopOnSignal = true
	beamlog.SetupLogging(f.logLevel, "text")
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "tickbeam monitor: --cpuprofile: %v\n", err)
			return 2
		}
		defer stopProfile()
	}
	if plan.Input.Kind == endpoint.LiveInput {
		stopLive, code := startLive(ctx, plan, stdout, stderr)
		if code != 0 {
			return code
		}
		defer stopLive()
	}
	start := time.Now()
	res, err := runners.Run(ctx, p, opts)
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam monitor: %v\n", err)
		return 1
	}
	if res != nil {
		printSummary(stdout, res, time.Since(start), plan.Bounded)
	}
	return 0
}

type monitorFlags struct {
	input, format, bar, barsOut, deadOut, rawOut, alertsOut, timestampAttr, bqEndpoint, bqStorageEndpoint, source, timezone, timeLayout, jsonFields, csvColumns string
	metricsAddr, ui                                                                                                                                             string
	logLevel, cpuProfile, indicators, indicatorsOut, sessionOut, calendarName, rules                                                                            string
	changesOut, prevClose, references, splits, gapsOut, positions, portfolioOut                                                                                 string
	flagThreshold                                                                                                                                               float64
	csvHeader, keepDuplicates, inferSide, earlyTickRules, gzip, notify, ackOnCommit                                                                             bool
	shards, maxPayload                                                                                                                                          int
	duration, maxAhead, watermarkDelay, dedupeWindow, allowedLateness, positionsRefresh                                                                         time.Duration
	notBefore                                                                                                                                                   string
}

func defineMonitorFlags(fs *flag.FlagSet) *monitorFlags {
	f := &monitorFlags{}
	fs.StringVar(&f.input, "input", "", "a file path or glob, local or gs:// (.gz read transparently), pubsub:projects/P/subscriptions/S, or synthetic:?symbols=A,B&rate=N&seed=S"+liveInputHelp)
	fs.StringVar(&f.timestampAttr, "timestamp_attribute", monitor.DefaultTimestampAttribute, "Pub/Sub input: the attribute holding each message's event time (RFC 3339 or Unix ms); messages without it use their publish time")
	fs.DurationVar(&f.watermarkDelay, "watermark_delay", 0, "Pub/Sub and live input: hold the watermark this far behind the event times read (the feed's latency; for a feed that publishes out of order, more than its disorder), so slightly older ticks are not late; a backlog needs none (default "+monitor.DefaultWatermarkDelay.String()+", for a live input "+monitor.DefaultLiveWatermarkDelay.String()+")")
	fs.StringVar(&f.bqEndpoint, "bigquery_endpoint", "", "BigQuery HTTP endpoint for bq: outputs, e.g. http://127.0.0.1:9050 (default $BIGQUERY_EMULATOR_HOST, else Google Cloud)")
	fs.StringVar(&f.bqStorageEndpoint, "bigquery_storage_endpoint", "", "BigQuery Storage Write gRPC endpoint HOST:PORT (default $BIGQUERY_STORAGE_EMULATOR_HOST, else Google Cloud)")
	fs.StringVar(&f.format, "format", "", "the feed format of file input: "+strings.Join(feedformat.Formats(), ", "))
	fs.StringVar(&f.bar, "bar", "1m", "bar resolutions, comma-separated, 1s..1d (e.g. 1m,5m,1h)")
	fs.StringVar(&f.barsOut, "bars_out", "", "Bar rows: a local directory or gs:// prefix (*.jsonl files), bq:P.D.T or pubsub:projects/P/topics/T")
	fs.StringVar(&f.alertsOut, "alerts_out", "", "Alert rows of --rules: pubsub:projects/P/topics/T, bq:P.D.T, or a directory or gs:// prefix")
	fs.StringVar(&f.rules, "rules", "", "an alert rules file (YAML; check it with 'tickbeam rules check FILE'); needs --alerts_out")
	fs.DurationVar(&f.allowedLateness, "allowed_lateness", monitor.DefaultAllowedLateness, "streaming: keep bar windows open this long past the watermark (LATE panes); later Pub/Sub messages become dead letters with stage late. Unset on the local runner: 0 (prism holds the watermark back by the lateness)")
	fs.StringVar(&f.indicators, "indicators", "", "indicators on the bars of the first --bar resolution, e.g. sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2; needs --indicators_out")
	fs.StringVar(&f.indicatorsOut, "indicators_out", "", "IndicatorValue rows: as --bars_out")
	fs.StringVar(&f.sessionOut, "session_out", "", "SessionStats rows (running per symbol and trading day, at the first --bar resolution): as --bars_out")
	fs.StringVar(&f.calendarName, "calendar", "", "the exchange calendar of --session_out, of previous closes and, when given, of 1d bars, which then cover its trading days (XNYS 04:00-20:00 New York time) instead of UTC days: XKRX, XNYS, XNAS or CRYPTO (default CRYPTO)")
	fs.BoolVar(&f.notify, "notify", true, "deliver alerts to the webhooks and emails their rules name (secrets from the environment variables the rules file names); --notify=false only writes them to --alerts_out")
	fs.StringVar(&f.changesOut, "changes_out", "", "PriceChange rows (change and change % vs previous close, ±--flag_threshold% flag), one per priced tick: as --bars_out")
	fs.StringVar(&f.prevClose, "prev_close", "", "previous-close sources in priority order, comma-separated: FEED (the tick's own), REFERENCE (--references), LAST_CLOSE (last regular-session trade seen); default FEED,REFERENCE,LAST_CLOSE")
	fs.StringVar(&f.references, "references", "", "CSV files (glob, local or gs://) of reference previous closes: symbol,date,prev_close")
	fs.StringVar(&f.splits, "splits", "", "CSV files (glob) of stock splits that adjust previous closes: symbol,ex_date,ratio (2, 3:2, 1/10)")
	fs.Float64Var(&f.flagThreshold, "flag_threshold", 5, "X of the ±X% flag of --changes_out rows: POSITIVE above +X, NEGATIVE below −X")
	fs.StringVar(&f.positions, "positions", "", "a portfolio's positions: a CSV file (local or gs://) of symbol,quantity,cost_basis,currency[,from_date[,split]], or bq:P.D.T with those columns; valued on the first --bar resolution; needs --portfolio_out")
	fs.StringVar(&f.portfolioOut, "portfolio_out", "", "PortfolioRow rows of --positions (per position and per currency total: value, P&L, day P&L, weight, return, drawdown): as --bars_out")
	fs.DurationVar(&f.positionsRefresh, "positions_refresh", monitor.DefaultPositionsRefresh, "streaming: re-read --positions this often and value later windows with what changed; 0 reads it once")
	fs.StringVar(&f.gapsOut, "gaps_out", "", "live input: Gap rows (holes seen in the feed, backfilled or not): as --bars_out")
	fs.StringVar(&f.rawOut, "raw_out", "", "a local directory or gs:// prefix receiving the deduplicated ticks as Tick JSON under dt=/hour= partitions (replay with --format=tick)")
	fs.StringVar(&f.deadOut, "deadletter_out", "", "DeadLetter rows, one per failed message: as --bars_out (default: --bars_out when that is a directory or prefix)")
	fs.DurationVar(&f.duration, "duration", 0, "for streaming inputs: run this long (synthetic: this much event time), then stop cleanly; 0 runs until SIGINT/SIGTERM")
	fs.StringVar(&f.source, "source", "", "the source name put on ticks and dead letters (default: the format)")
	fs.BoolVar(&f.keepDuplicates, "keep_duplicates", false, "do not drop redelivered trades (same source, symbol and trade id)")
	fs.DurationVar(&f.dedupeWindow, "dedupe_window", 0, "the event-time window redelivered trades are recognised in; it divides every --bar resolution. On a stream, rules on ticks (unless --early_tick_rules) and change rows see a tick when its window closes: shorter is sooner, at more CPU per tick where symbols are many and sparse (default "+monitor.DefaultStreamDedupeWindow.String()+" on a stream, the bars' on a file)")
	fs.BoolVar(&f.earlyTickRules, "early_tick_rules", false, "streaming: rules on ticks read ticks before their --dedupe_window closes and drop copies themselves: tick alerts up to --dedupe_window sooner, at more CPU where symbols are many and sparse or an outlier rule watches every symbol")
	fs.BoolVar(&f.inferSide, "infer_side", false, "give trades without an aggressor side (Alpaca stocks, Alpha Vantage, json/csv) the tick-test side, so buy/sell volumes and trade strength are filled")
	fs.BoolVar(&f.ackOnCommit, "ack_on_commit", false, "Pub/Sub input on the local runner: ack a message once its bundle is committed, not once every output computed from it is written (a crash then loses what was not written yet)")
	fs.IntVar(&f.shards, "shards", 1, "files per window and pane")
	fs.BoolVar(&f.gzip, "gzip", false, "gzip output files (.jsonl.gz)")
	fs.IntVar(&f.maxPayload, "max_payload_bytes", parse.DefaultMaxPayloadBytes, "messages larger than this become dead letters")
	fs.StringVar(&f.notBefore, "not_before", "2000-01-01", "event times before this date (YYYY-MM-DD or RFC 3339) are implausible: dead letters")
	fs.DurationVar(&f.maxAhead, "max_ahead", 24*time.Hour, "event times further than this ahead of the clock are implausible: dead letters")
	fs.StringVar(&f.timezone, "timezone", "", "json/csv: time zone of timestamps without an offset (IANA name, default UTC)")
	fs.StringVar(&f.timeLayout, "time_layout", "", "json/csv: Go time layout of event_time (default RFC 3339 or epoch numbers)")
	fs.StringVar(&f.jsonFields, "json_fields", "", "json: tick field to JSON path, e.g. symbol=s,price=p,size=q,event_time=T")
	fs.StringVar(&f.csvColumns, "csv_columns", "", "csv: the tick field of each column in order, e.g. event_time,symbol,price,size,side")
	fs.BoolVar(&f.csvHeader, "csv_header", false, "csv: files start with a header line")
	fs.StringVar(&f.logLevel, "log_level", "warn", "the runner's log level: debug, info, warn or error")
	fs.StringVar(&f.metricsAddr, "metrics_addr", "", "serve the run's counters, freshness and watermark lag for Prometheus at http://ADDR/metrics, e.g. 127.0.0.1:9464 or :9464 (local runner)")
	fs.StringVar(&f.ui, "ui", "", "serve a live dashboard of the run at http://ADDR/, e.g. 127.0.0.1:8080: candles of the first --bar resolution, volume, VWAP, --indicators, alerts, counters (local runner)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of a local run to this file (go tool pprof)")
	return f
}

func (f *monitorFlags) config() (monitor.Config, error) {
	res, err := bars.ParseResolutions(f.bar)
	if err != nil {
		return monitor.Config{}, fmt.Errorf("--bar: %w", err)
	}
	notBefore, err := parseDate(f.notBefore)
	if err != nil {
		return monitor.Config{}, fmt.Errorf("--not_before: %w", err)
	}
	if f.maxAhead <= 0 {
		return monitor.Config{}, fmt.Errorf("--max_ahead %s: want a positive duration", f.maxAhead)
	}
	if f.duration < 0 {
		return monitor.Config{}, fmt.Errorf("--duration %s: want a positive duration", f.duration)
	}
	switch f.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return monitor.Config{}, fmt.Errorf("--log_level %q: want debug, info, warn or error", f.logLevel)
	}
	if f.maxPayload <= 0 {
		return monitor.Config{}, fmt.Errorf("--max_payload_bytes %d: want a positive size", f.maxPayload)
	}
	opts := feedformat.Options{Source: f.source, Location: f.timezone, TimeLayout: f.timeLayout, CSVHeader: f.csvHeader}
	if f.jsonFields != "" {
		opts.JSONFields = map[string]string{}
		for _, kv := range strings.Split(f.jsonFields, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" {
				return monitor.Config{}, fmt.Errorf("--json_fields: %q is not field=path", kv)
			}
			opts.JSONFields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if f.csvColumns != "" {
		opts.CSVColumns = strings.Split(f.csvColumns, ",")
	}
	var sources []enrich.Source
	if f.prevClose != "" {
		for _, src := range strings.Split(f.prevClose, ",") {
			sources = append(sources, enrich.Source(strings.ToUpper(strings.TrimSpace(src))))
		}
	}
	return monitor.Config{
		Input:              f.input,
		Format:             f.format,
		ParseOptions:       opts,
		Limits:             feedformat.Limits{NotBefore: notBefore, MaxAhead: f.maxAhead},
		MaxPayloadBytes:    f.maxPayload,
		Bars:               res,
		BarsOut:            f.barsOut,
		DeadLetterOut:      f.deadOut,
		RawOut:             f.rawOut,
		TimestampAttribute: f.timestampAttr,
		WatermarkDelay:     f.watermarkDelay,
		BigQuery:           bigqueryx.Options{Endpoint: f.bqEndpoint, StorageEndpoint: f.bqStorageEndpoint},
		KeepDuplicates:     f.keepDuplicates,
		DedupeWindow:       f.dedupeWindow,
		InferSide:          f.inferSide,
		EarlyTickRules:     f.earlyTickRules,
		AckOnCommit:        f.ackOnCommit,
		Shards:             max(f.shards, 1),
		Gzip:               f.gzip,
		Duration:           f.duration,
		AllowedLateness:    f.allowedLateness,
		Indicators:         f.indicators,
		IndicatorsOut:      f.indicatorsOut,
		SessionOut:         f.sessionOut,
		Calendar:           f.calendarName,
		Rules:              f.rules,
		AlertsOut:          f.alertsOut,
		Notify:             f.notify,
		ChangesOut:         f.changesOut,
		PrevCloseSources:   sources,
		References:         f.references,
		Splits:             f.splits,
		FlagThreshold:      f.flagThreshold,
		GapsOut:            f.gapsOut,
		Positions:          f.positions,
		PortfolioOut:       f.portfolioOut,
		PositionsRefresh:   f.positionsRefresh,
	}, nil
}

// isSet reports whether the command line set flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or RFC 3339 time", s)
}

// printSummary prints the run's counters so a user can check that every
// message is accounted for.
func printSummary(w io.Writer, res beam.PipelineResult, took time.Duration, bounded bool) {
	counts := map[string]int64{}
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if strings.HasPrefix(c.Key.Namespace, "tickbeam/") {
			counts[strings.TrimPrefix(c.Key.Namespace, "tickbeam/")+"."+c.Key.Name] += c.Committed
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "tickbeam monitor: finished in %s\n", took.Round(time.Millisecond))
	for _, k := range keys {
		fmt.Fprintf(w, "  %-24s %d\n", k, counts[k])
	}
	if n := counts["parse.ticks"]; bounded && n > 0 && took > 0 {
		fmt.Fprintf(w, "  %-24s %.0f\n", "ticks/s", float64(n)/took.Seconds())
	}
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// parseFlags parses a subcommand's flags: -h prints its flags (exit 0), a
// bad flag one line (exit 2). ok says the command should go on.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage: %s [flags]\n", fs.Name())
		fs.PrintDefaults()
		return 0, false
	}
	fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	return 2, false
}
