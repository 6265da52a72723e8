package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	beamrunners "github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/pipelines/daily"
	"github.com/tickbeam/tickbeam/runners"
)

// exitQuality is daily's exit status when a --fail_on check fails: the run
// itself succeeded (0) and was not misused (2) or broken (1).
const exitQuality = 3

// runDaily runs the daily report and quality job over one trading day:
//
//	tickbeam daily --input=RAW_ARCHIVE --calendar=XNYS [--date=YYYY-MM-DD] --report_out=DIR --quality_out=DIR --fail_on=gaps
func runDaily(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tickbeam daily", flag.ContinueOnError)
	input := fs.String("input", "", "the raw archive (monitor --raw_out: a directory or a gs:// prefix ending in /), whose partitions of the day and the previous trading day are read; or any file glob")
	format := fs.String("format", "tick", "the format of the input lines: "+strings.Join(feedformat.Formats(), ", "))
	cal := fs.String("calendar", "", "the exchange calendar: XKRX, XNYS, XNAS or CRYPTO (default CRYPTO)")
	date := fs.String("date", "", "the trading day, YYYY-MM-DD, or today (the calendar's local date); default: the last trading day whose sessions have all closed")
	gap := fs.Duration("gap", daily.DefaultGap, "quality: a stretch of the regular session longer than this without a trade is a gap")
	keepDup := fs.Bool("keep_duplicates", false, "do not drop redelivered trades")
	rules := fs.String("rules", "", "quality: an alerts rules file whose outlier rules judge the day's trades as monitor --rules does (for captures; the raw archive is clean already); quarantined trades count per symbol")
	deadIn := fs.String("deadletters", "", "quality: a file glob of the streaming run's dead letters (monitor --deadletter_out JSONL): the day's count by stage, late and outlier ones also per symbol")
	reportOut := fs.String("report_out", "", "a directory or gs:// prefix receiving daily_report/symbol=S/date=D.csv")
	rowsOut := fs.String("rows_out", "", "report rows: bq:P.D.T, or a directory or gs:// prefix (JSONL)")
	qualityOut := fs.String("quality_out", "", "quality rows (one per symbol, and \"*\" for the day's dead letters): as --rows_out")
	deadOut := fs.String("deadletter_out", "", "dead-letter rows: as --rows_out")
	failOn := fs.String("fail_on", "", "comma-separated quality checks that make the command exit 3 when a row fails them: "+strings.Join(daily.Checks, ", ")+", or all")
	metricsAddr := fs.String("metrics_addr", "", "serve the run's counters for Prometheus at http://ADDR/metrics while it runs (local runner)")
	bqEndpoint := fs.String("bigquery_endpoint", "", "BigQuery HTTP endpoint for bq: outputs (default $BIGQUERY_EMULATOR_HOST, else Google Cloud)")
	bqStorage := fs.String("bigquery_storage_endpoint", "", "BigQuery Storage Write gRPC endpoint (default $BIGQUERY_STORAGE_EMULATOR_HOST, else Google Cloud)")
	logLevel := fs.String("log_level", "warn", "the runner's log level: debug, info, warn or error")
	shareBeamFlags(fs)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tickbeam daily: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q (flags take the form --name=value)", fs.Arg(0))
	}
	cfg := daily.Config{Input: *input, Format: *format, Calendar: *cal, Gap: *gap, KeepDuplicates: *keepDup, Rules: *rules, DeadLetters: *deadIn, ReportOut: *reportOut,
		RowsOut: *rowsOut, QualityOut: *qualityOut, DeadLetterOut: *deadOut,
		BigQuery: bigqueryx.Options{Endpoint: *bqEndpoint, StorageEndpoint: *bqStorage}}
	c, err := calendar.Lookup(cfg.Calendar)
	if cfg.Calendar == "" {
		c, err = calendar.Lookup("CRYPTO")
	}
	if err != nil {
		return fail("--calendar: %v", err)
	}
	switch now := time.Now(); *date {
	case "":
		cfg.Date = daily.LastClosed(c, now)
	case "today":
		cfg.Date = calendar.DateOf(now.In(c.Location()))
	default:
		if cfg.Date, err = calendar.ParseDate(*date); err != nil {
			return fail("--date: %v", err)
		}
	}
	checks, err := parseChecks(*failOn)
	if err != nil {
		return fail("--fail_on: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return fail("%v", err)
	}
	runner := *beamrunners.Runner
	local := runners.IsLocal(runner)
	if !local {
		for _, o := range []struct{ flag, v string }{{"--input", cfg.Input}, {"--report_out", cfg.ReportOut}, {"--rows_out", cfg.RowsOut},
			{"--quality_out", cfg.QualityOut}, {"--deadletter_out", cfg.DeadLetterOut}} {
			if o.v != "" && !endpoint.IsRemote(o.v) {
				return fail("%s %s is a local path, but --runner=%s runs on remote workers: use gs:// or bq:", o.flag, o.v, runner)
			}
		}
		if len(checks) > 0 {
			return fail("--fail_on reads the run's counters, which a --runner=%s launch does not wait for; check the quality rows instead", runner)
		}
	}
	if *metricsAddr != "" {
		stop, err := serveMetrics("daily", *metricsAddr, local, stderr)
		if err != nil {
			return fail("%v", err)
		}
		defer stop()
	}
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	if err := daily.Build(s, cfg); err != nil {
		return fail("%v", err)
	}
	beamlog.SetupLogging(*logLevel, "text")
	start := time.Now()
	res, err := runners.Run(ctx, p, runners.Options{Runner: runner, StopOnSignal: true})
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam daily: %v\n", err)
		return 1
	}
	if res == nil {
		return 0
	}
	fmt.Fprintf(stdout, "tickbeam daily: %s %s in %s\n", c.Name(), cfg.Date, time.Since(start).Round(time.Millisecond))
	for _, k := range []string{"parse.messages", "parse.ticks", "parse.dead_letters", "dedupe.duplicates"} {
		ns, name, _ := strings.Cut(k, ".")
		fmt.Fprintf(stdout, "  %-24s %d\n", k, runners.Counter(res, "tickbeam/"+ns, name))
	}
	var failed []string
	for _, check := range daily.Checks {
		n := runners.Counter(res, daily.NamespaceQuality, check)
		fmt.Fprintf(stdout, "  %-24s %d\n", "quality."+check, n)
		if n > 0 && slices.Contains(checks, check) {
			failed = append(failed, fmt.Sprintf("%s (%d rows)", check, n))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(stderr, "tickbeam daily: quality checks failed: %s\n", strings.Join(failed, ", "))
		return exitQuality
	}
	return 0
}

// parseChecks parses --fail_on.
func parseChecks(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if s == "all" {
		return daily.Checks, nil
	}
	var out []string
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(daily.Checks, c) {
			return nil, fmt.Errorf("unknown check %q (want %s or all)", c, strings.Join(daily.Checks, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

// shareBeamFlags adds Beam's own flags (--runner, --project, --region,
// --staging_location, --dry_run, ...) to fs, reset to their defaults; they
// live on the process's flag set beside monitor's, which fs leaves out.
func shareBeamFlags(fs *flag.FlagSet) {
	monitorOnly := map[string]bool{}
	mon := flag.NewFlagSet("", flag.ContinueOnError)
	defineMonitorFlags(mon)
	mon.VisitAll(func(f *flag.Flag) { monitorOnly[f.Name] = true })
	var names []string
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !monitorOnly[f.Name] && fs.Lookup(f.Name) == nil && !strings.HasPrefix(f.Name, "test.") {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		f := flag.CommandLine.Lookup(n)
		if !strings.HasPrefix(f.DefValue, "[") {
			_ = f.Value.Set(f.DefValue)
		}
		fs.Var(f.Value, f.Name, f.Usage)
	}
}
