// Package grafana holds the Grafana dashboard (tickbeam.json) over
// tickbeam's BigQuery tables and Prometheus metrics; its test runs the
// dashboard's BigQuery queries against the BigQuery emulator, on tables the
// monitor and daily pipelines wrote there.
package grafana

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/pipelines/daily"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *ptest.Runner == "" {
		*ptest.Runner = "prism"
	}
	beam.Init()
	os.Exit(testenv.Main(m))
}

type dashboard struct {
	Panels []struct {
		Title      string
		Datasource struct{ Type string }
		Targets    []struct {
			RawSQL string `json:"rawSql"`
			Expr   string `json:"expr"`
		}
	}
}

var timeFilter = regexp.MustCompile(`\$__timeFilter\((\w+)\)`)

// expand does what Grafana does to a query before sending it: template
// variables, and the time-range macro.
func expand(sql string, vars map[string]string, from, to time.Time) string {
	for k, v := range vars {
		sql = strings.ReplaceAll(sql, "${"+k+"}", v)
	}
	return timeFilter.ReplaceAllString(sql, fmt.Sprintf("$1 BETWEEN TIMESTAMP('%s') AND TIMESTAMP('%s')",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339)))
}

func run(t *testing.T, build func(s beam.Scope) error) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	if err := build(s); err != nil {
		t.Fatal(err)
	}
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		t.Fatal(err)
	}
}

// The dashboard's BigQuery panels, on the tables tickbeam writes, give the
// figures of the capture (cmd/tickbeam/testdata/binance-small.jsonl, whose
// bars main_test.go computes by hand).
func TestDashboardQueriesOnEmulator(t *testing.T) {
	h, g := testenv.BigQuery(t)
	opts := bigqueryx.Options{Endpoint: "http://" + h, StorageEndpoint: g, Project: testenv.Project}
	ds := fmt.Sprintf("grafana_%d", time.Now().UnixNano())
	table := func(name string) string { return "bq:" + testenv.Project + "." + ds + "." + name }
	input := "../../cmd/tickbeam/testdata/binance-small.jsonl"
	run(t, func(s beam.Scope) error {
		plan, err := monitor.Config{Input: input, Format: "binance", Bars: []bars.Resolution{bars.Resolution(time.Minute)},
			BarsOut: table("bars"), DeadLetterOut: table("deadletters"), Rules: "../../examples/rules/below-level.yaml",
			AlertsOut: table("alerts"), BigQuery: opts, Shards: 1}.Resolve(runners.Local)
		if err != nil {
			return err
		}
		return monitor.Build(s, plan)
	})
	run(t, func(s beam.Scope) error {
		return daily.Build(s, daily.Config{Input: input, Format: "binance", Calendar: "CRYPTO", Date: calendar.Date{Year: 2026, Month: 1, Day: 15},
			QualityOut: table("daily_quality"), BigQuery: opts})
	})

	data, err := os.ReadFile("tickbeam.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("tickbeam.json: %v", err)
	}
	vars := map[string]string{"project": testenv.Project, "dataset": ds, "bars_table": "bars", "alerts_table": "alerts",
		"deadletters_table": "deadletters", "quality_table": "daily_quality", "symbol": "BTCUSDT", "resolution": "1m"}
	from, to := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), time.Now().Add(time.Hour)
	got := map[string]string{}
	for _, p := range d.Panels {
		if p.Datasource.Type != "grafana-bigquery-datasource" {
			continue
		}
		sql := expand(p.Targets[0].RawSQL, vars, from, to)
		rows, err := bigqueryx.Query(context.Background(), sql, opts)
		if err != nil {
			t.Errorf("panel %q: %v\n%s", p.Title, err, sql)
			continue
		}
		got[p.Title] = render(rows)
	}
	want := map[string]string{
		// BTCUSDT's two one-minute bars (main_test.go: 100/101/99.5/99.5, 102).
		"Price and VWAP (final bars, ${resolution})": "close=102 high=102 low=102 open=102 time=2026-01-15T00:01:00Z volume=1 vwap=102\n" +
			"close=99.5 high=101 low=99.5 open=100 time=2026-01-15T00:00:00Z volume=4 vwap=99.875",
		// below-level fires once on the first BTC trade under 60000.
		"Alerts": "message=BTCUSDT price 100 is at or below 60000 rule=btc-below-60k severity=CRITICAL symbol=BTCUSDT threshold=60000 time=2026-01-15T00:00:01Z value=100",
		// The "abc" price does not parse; the -1 price does not validate.
		"Dead letters by stage (per hour)": "dead_letters=1 stage=parse\ndead_letters=1 stage=validate",
		// CRYPTO's session is the whole UTC day: after each symbol's last
		// trade (BTC 00:01:00, ETH 00:00:30) the rest of the day is one gap.
		// BTC's trade 2 came twice.
		"Daily quality: failed checks": "date=2026-01-15 dead_letters= duplicates=0 failed=gaps gaps=1 longest_gap_seconds=86370 out_of_session=0 symbol=ETHUSDT trades=1\n" +
			"date=2026-01-15 dead_letters= duplicates=1 failed=gaps,duplicates gaps=1 longest_gap_seconds=86340 out_of_session=0 symbol=BTCUSDT trades=4\n" +
			"date=2026-01-15 dead_letters=parse=1,validate=1 duplicates=0 failed=dead_letters gaps=0 longest_gap_seconds=0 out_of_session=0 symbol=* trades=0",
	}
	for title, w := range want {
		if got[title] != w {
			t.Errorf("panel %q:\n got %s\nwant %s", title, got[title], w)
		}
	}
}

// render prints rows as sorted key=value lines, times in RFC 3339, the
// dead-letter panel's times left out (they are the wall clock).
func render(rows []map[string]bigquery.Value) string {
	var lines []string
	for _, r := range rows {
		var kv []string
		for k, v := range r {
			if tm, ok := v.(time.Time); ok {
				if _, dead := r["dead_letters"]; dead && r["stage"] != nil {
					continue
				}
				v = tm.UTC().Format(time.RFC3339)
			}
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(kv)
		lines = append(lines, strings.Join(kv, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
