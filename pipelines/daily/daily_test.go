package daily_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/pipelines/daily"
	"github.com/tickbeam/tickbeam/runners"
)

// archive writes Tick JSON lines into a raw archive's hour partitions, as
// monitor --raw_out lays them out.
func archive(t *testing.T, lines map[string][]string) string {
	t.Helper()
	root := t.TempDir()
	for part, ls := range lines {
		dir := filepath.Join(root, part)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ticks-0.jsonl"), []byte(strings.Join(ls, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func trade(sym, at, id string, price, size float64, side string) string {
	b, _ := json.Marshal(map[string]any{"symbol": sym, "kind": "TRADE", "event_time": at, "price": price, "size": size,
		"side": side, "trade_id": id, "source": "test"})
	return string(b)
}

func readJSONL[T any](t *testing.T, dir string) []T {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var out []T
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var r T
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		fh.Close()
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// XNYS, Thursday 2026-01-15 (EST: regular session 14:30-21:00 UTC, the
// day 09:00 UTC to 01:00 UTC the next day), figures computed by hand.
func TestDailyReportAndQualityByHand(t *testing.T) {
	root := archive(t, map[string][]string{
		// The previous trading day ends with an after-hours trade at 100.
		"dt=2026-01-14/hour=23": {trade("AAPL", "2026-01-14T23:00:00Z", "90", 100, 1, "BUY")},
		"dt=2026-01-15/hour=14": {
			trade("AAPL", "2026-01-15T14:30:00Z", "1", 101, 10, "BUY"),
			trade("AAPL", "2026-01-15T14:31:00Z", "2", 103, 5, "SELL"),
			trade("AAPL", "2026-01-15T14:31:00Z", "2", 103, 5, "SELL"), // redelivered
			trade("AAPL", "2026-01-15T14:45:00Z", "3", 99, 20, "BUY"),
			`{"symbol":"AAPL","kind":"TRADE","event_time":"not a time"}`, // dead letter
		},
		"dt=2026-01-15/hour=15": {trade("MSFT", "2026-01-15T15:00:00Z", "7", 300, 2, "UNKNOWN")},
		"dt=2026-01-15/hour=20": {trade("AAPL", "2026-01-15T20:50:00Z", "4", 102, 5, "SELL")},
		"dt=2026-01-15/hour=22": {trade("AAPL", "2026-01-15T22:00:00Z", "5", 104, 1, "BUY")}, // after hours
		// 21:00 New York time on the 15th: after every session.
		"dt=2026-01-16/hour=02": {trade("AAPL", "2026-01-16T02:00:00Z", "6", 50, 1, "BUY")},
		// Not read: outside the day's partitions.
		"dt=2026-01-13/hour=15": {trade("AAPL", "2026-01-13T15:00:00Z", "80", 1, 1, "BUY")},
	})
	out := t.TempDir()
	rows, quality := filepath.Join(out, "rows"), filepath.Join(out, "quality")
	cfg := daily.Config{Input: root, Calendar: "XNYS", Date: calendar.Date{Year: 2026, Month: 1, Day: 15},
		ReportOut: out, RowsOut: rows, QualityOut: quality}
	p, s := beam.NewPipelineWithRoot()
	if err := daily.Build(s, cfg); err != nil {
		t.Fatal(err)
	}
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// AAPL: trades 1-5 (2 once); volume 10+5+20+5+1 = 41, notional
	// 1010+515+1980+510+104 = 4119; buy 31, sell 10, strength 310; close 104
	// against 100: +4%.
	wantReports := []daily.Report{{
		Symbol: "AAPL", Date: "2026-01-15", Calendar: "XNYS", Open: 101, High: 104, Low: 99, Close: 104, Volume: 41, Notional: 4119,
		VWAP: 4119.0 / 41, Trades: 5, BuyVolume: 31, SellVolume: 10, TradeStrength: 310, PrevClose: ptr(100.0), ReturnPct: ptr(4.0),
		HighTime: ts("2026-01-15T22:00:00Z"), LowTime: ts("2026-01-15T14:45:00Z"),
		LargestTradePrice: 99, LargestTradeSize: 20, LargestTradeTime: ts("2026-01-15T14:45:00Z"),
		FirstTrade: ts("2026-01-15T14:30:00Z"), LastTrade: ts("2026-01-15T22:00:00Z"),
	}, {
		Symbol: "MSFT", Date: "2026-01-15", Calendar: "XNYS", Open: 300, High: 300, Low: 300, Close: 300, Volume: 2, Notional: 600,
		VWAP: 300, Trades: 1, HighTime: ts("2026-01-15T15:00:00Z"), LowTime: ts("2026-01-15T15:00:00Z"),
		LargestTradePrice: 300, LargestTradeSize: 2, LargestTradeTime: ts("2026-01-15T15:00:00Z"),
		FirstTrade: ts("2026-01-15T15:00:00Z"), LastTrade: ts("2026-01-15T15:00:00Z"),
	}}
	gotReports := readJSONL[daily.Report](t, rows)
	sort.Slice(gotReports, func(i, j int) bool { return gotReports[i].Symbol < gotReports[j].Symbol })
	if diff := cmp.Diff(wantReports, gotReports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}

	open, close := ts("2026-01-15T14:30:00Z"), ts("2026-01-15T21:00:00Z")
	// AAPL's regular session: 14:30, 14:31, 14:45, 20:50. Stretches over 5
	// minutes: 14:31-14:45, 14:45-20:50 (6h05m, the longest), 20:50-21:00.
	wantQuality := []daily.Quality{
		{Symbol: "*", Date: "2026-01-15", Calendar: "XNYS", DeadLetters: "parse=1", Failed: []string{"dead_letters"}},
		{Symbol: "AAPL", Date: "2026-01-15", Calendar: "XNYS", Trades: 6, Duplicates: 1, OutOfSession: 1, Gaps: 3, GapMinutes: 5,
			LongestGapSeconds: 21900, RegularOpen: &open, RegularClose: &close, FirstRegularTrade: ptr(ts("2026-01-15T14:30:00Z")),
			LastRegularTrade: ptr(ts("2026-01-15T20:50:00Z")), OpenDelaySeconds: ptr(0.0), CloseGapSeconds: ptr(600.0),
			Failed: []string{"gaps", "duplicates", "out_of_session"}},
		{Symbol: "MSFT", Date: "2026-01-15", Calendar: "XNYS", Trades: 1, Gaps: 2, GapMinutes: 5, LongestGapSeconds: 21600,
			RegularOpen: &open, RegularClose: &close, FirstRegularTrade: ptr(ts("2026-01-15T15:00:00Z")),
			LastRegularTrade: ptr(ts("2026-01-15T15:00:00Z")), OpenDelaySeconds: ptr(1800.0), CloseGapSeconds: ptr(21600.0),
			Failed: []string{"gaps"}},
	}
	gotQuality := readJSONL[daily.Quality](t, quality)
	sort.Slice(gotQuality, func(i, j int) bool { return gotQuality[i].Symbol < gotQuality[j].Symbol })
	if diff := cmp.Diff(wantQuality, gotQuality); diff != "" {
		t.Errorf("quality (-want +got):\n%s", diff)
	}
	for check, want := range map[string]int64{"gaps": 2, "duplicates": 1, "out_of_session": 1, "dead_letters": 1, "no_trades": 0} {
		if got := runners.Counter(res, daily.NamespaceQuality, check); got != want {
			t.Errorf("counter quality.%s = %d, want %d", check, got, want)
		}
	}

	csv, err := os.ReadFile(filepath.Join(out, "daily_report", "symbol=AAPL", "date=2026-01-15.csv"))
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := "symbol,date,open,high,low,close,volume,notional,vwap,trades,buy_volume,sell_volume,trade_strength,prev_close,return_pct,high_time,low_time,largest_trade_price,largest_trade_size,largest_trade_time,first_trade,last_trade\n" +
		"AAPL,2026-01-15,101,104,99,104,41,4119,100.46341463414635,5,31,10,310,100,4,2026-01-15T22:00:00Z,2026-01-15T14:45:00Z,99,20,2026-01-15T14:45:00Z,2026-01-15T14:30:00Z,2026-01-15T22:00:00Z\n"
	if diff := cmp.Diff(wantCSV, string(csv)); diff != "" {
		t.Errorf("AAPL csv (-want +got):\n%s", diff)
	}
}

func TestLastClosed(t *testing.T) {
	xnys, _ := calendar.Lookup("XNYS")
	xkrx, _ := calendar.Lookup("XKRX")
	for _, c := range []struct {
		cal  *calendar.Calendar
		now  string
		want string
	}{
		{xnys, "2026-01-16T00:30:00Z", "2026-01-14"}, // Thursday 19:30 NY: after-hours still open
		{xnys, "2026-01-16T01:00:00Z", "2026-01-15"}, // 20:00 NY: the day closed
		{xnys, "2026-01-19T12:00:00Z", "2026-01-16"}, // Monday, Martin Luther King Jr. Day: Friday
		{xkrx, "2026-01-15T07:05:00Z", "2026-01-14"}, // 16:05 KST: the regular close passed, after-hours till 18:00
		{xkrx, "2026-01-15T09:05:00Z", "2026-01-15"},
	} {
		if got := daily.LastClosed(c.cal, ts(c.now)).String(); got != c.want {
			t.Errorf("LastClosed(%s, %s) = %s, want %s", c.cal.Name(), c.now, got, c.want)
		}
	}
}
