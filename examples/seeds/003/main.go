// Seed 003 rebuilt with tickbeam (실시간 주식 데이터 연계): real-time trades of
// Samsung Electronics, SK hynix and Kakao from the Korea Investment (KIS)
// websocket, with cumulative volume and value, VWAP, trade strength and
// buy/sell pressure through the day, the raw data kept apart, a daily
// report per stock as daily_report/stock_code=.../yyyy-mm-dd.csv, a quality
// check after the close, an email when no data has come for five minutes
// between 08:50 and 16:00, and a dead-letter queue for failed messages.
//
// The seed runs KIS -> Kafka and MongoDB -> Spark Streaming -> S3 under
// Airflow. Here one streaming job (monitor) parses the H0STCNT0 frames,
// drops redelivered trades, writes SessionStats rows per minute for the
// XKRX trading day, archives the raw ticks, runs the stale_feed rule of
// examples/rules/krx-freshness.yaml, and keeps every unreadable frame as a
// dead letter (the seed's planned DLQ); one batch job (daily) reads the
// archive after the close and writes each stock's report and quality row.
//
//	go run ./examples/seeds/003      # the capture in testdata, output in seed003-out/
//
// Live, with KIS_APP_KEY and KIS_APP_SECRET: tickbeam monitor
// --input='kis:?symbols=005930,000660,035720' and the flags below; the daily
// job after 16:05 from Cloud Scheduler (deploy/dataflow/daily-scheduler.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/pipelines/daily"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// streaming is the seed's real-time job; its outputs go under out/.
func streaming(input, rules, out string) monitor.Config {
	return monitor.Config{
		Input:         input,
		Format:        "kis",
		Calendar:      "XKRX",
		Bars:          []bars.Resolution{bars.Resolution(time.Minute)},
		BarsOut:       filepath.Join(out, "bars"),
		SessionOut:    filepath.Join(out, "session"),
		RawOut:        filepath.Join(out, "raw"),
		DeadLetterOut: filepath.Join(out, "deadletters"),
		Rules:         rules,
		AlertsOut:     filepath.Join(out, "alerts"),
		// The rules file's email goes to smtp.example.com: set it to your
		// host and SMTP_PASSWORD, then turn this on.
		Notify: false,
	}
}

// batch is the seed's after-close job over the streaming job's archive.
func batch(out string, day calendar.Date) daily.Config {
	return daily.Config{Input: filepath.Join(out, "raw"), Calendar: "XKRX", Date: day,
		ReportOut: out, QualityOut: filepath.Join(out, "quality")}
}

func main() {
	input := flag.String("input", "examples/seeds/003/testdata/kis.txt", "KIS frames: a capture file or kis:?symbols=...")
	rules := flag.String("rules", "examples/rules/krx-freshness.yaml", "alert rules file")
	out := flag.String("out", "seed003-out", "output directory")
	day := flag.String("date", "2026-01-15", "the trading day of the daily report")
	flag.Parse()
	beam.Init()
	d, err := calendar.ParseDate(*day)
	if err == nil {
		err = run(context.Background(), os.Stdout, streaming(*input, *rules, *out), batch(*out, d))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed003:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, live monitor.Config, after daily.Config) error {
	if err := after.Validate(); err != nil {
		return err
	}
	r, err := monitor.Run(ctx, live, runners.Options{StopOnSignal: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "monitor: %d trades parsed (%d redelivered, dropped), %d stale-feed alerts, %d dead letters\n",
		runners.Counter(r, "tickbeam/parse", "ticks"), runners.Counter(r, "tickbeam/dedupe", "duplicates"),
		runners.Counter(r, "tickbeam/alerts", "stale_outages"), runners.Counter(r, "tickbeam/parse", "dead_letters"))

	p, s := beam.NewPipelineWithRoot()
	if err := daily.Build(s, after); err != nil {
		return err
	}
	if _, err := runners.Run(ctx, p, runners.Options{StopOnSignal: true}); err != nil {
		return err
	}
	fmt.Fprintf(w, "daily: reports of %s under %s\n", after.Date, filepath.Join(after.ReportOut, "daily_report"))
	return nil
}
