package daily_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/pipelines/daily"
	"github.com/tickbeam/tickbeam/runners"
)

// Outliers by a rules file's outlier rule and the streaming run's late and
// outlier dead letters, counted per symbol and day (CRYPTO, 2026-01-15, UTC
// days, one 24h regular session: every row has gaps), by hand:
//   - AAPL trades at 100 ten times, then 130 (30% off the last clean
//     price: an outlier under pct 10 after 5 clean prices), then 101;
//   - the streaming run's dead letters: two late Binance trades of BTCUSDT
//     (the payload parsed in the format its attribute names), one outlier
//     of ETHUSDT (its symbol attribute), a late trade of the day before
//     (not counted) and a parse failure (row "*" only).
func TestDailyOutliersAndLatePerSymbol(t *testing.T) {
	dir := t.TempDir()
	var ls []string
	for i := range 12 {
		price := 100.0
		switch i {
		case 10:
			price = 130
		case 11:
			price = 101
		}
		ls = append(ls, trade("AAPL", fmt.Sprintf("2026-01-15T10:%02d:00Z", i), fmt.Sprint(i), price, 1, "BUY"))
	}
	capture := filepath.Join(dir, "capture.jsonl")
	rules := filepath.Join(dir, "rules.yaml")
	deadIn := filepath.Join(dir, "deadletters-0.jsonl")
	binance := func(id int, ms int64) string {
		return fmt.Sprintf(`{"e":"trade","E":%d,"s":"BTCUSDT","t":%d,"p":"97000.00","q":"0.0100","T":%d,"m":false,"M":true}`, ms, id, ms)
	}
	late := func(at string, payload string) tickbeam.DeadLetter {
		return tickbeam.NewDeadLetter(ts(at), []byte(payload), map[string]string{"format": "binance", "source": "binance"},
			tickbeam.StageLate, "binance", fmt.Errorf("late"))
	}
	dead := []tickbeam.DeadLetter{
		late("2026-01-15T12:00:00Z", binance(1, ts("2026-01-15T12:00:00Z").UnixMilli())),
		late("2026-01-15T13:00:00Z", binance(2, ts("2026-01-15T13:00:00Z").UnixMilli())),
		late("2026-01-14T13:00:00Z", binance(3, ts("2026-01-14T13:00:00Z").UnixMilli())),
		tickbeam.NewDeadLetter(ts("2026-01-15T14:00:00Z"), []byte(`{"symbol":"ETHUSDT"}`), map[string]string{"symbol": "ETHUSDT", "rule": "o"},
			tickbeam.StageOutlier, "binance", fmt.Errorf("outlier")),
		tickbeam.NewDeadLetter(ts("2026-01-15T15:00:00Z"), []byte("not json"), nil, tickbeam.StageParse, "binance", fmt.Errorf("parse")),
	}
	var dl []string
	for _, d := range dead {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		dl = append(dl, string(b))
	}
	for name, body := range map[string]string{
		capture: strings.Join(ls, "\n") + "\n",
		rules:   "rules:\n  - name: jumps\n    kind: outlier\n    symbols: [\"*\"]\n    window: 5\n    pct: 10\n",
		deadIn:  strings.Join(dl, "\n") + "\n",
	} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	rows, quality := filepath.Join(out, "rows"), filepath.Join(out, "quality")
	p, s := beam.NewPipelineWithRoot()
	if err := daily.Build(s, daily.Config{Input: capture, Calendar: "CRYPTO", Date: calendar.Date{Year: 2026, Month: 1, Day: 15},
		Rules: rules, DeadLetters: filepath.Join(dir, "deadletters-*.jsonl"), RowsOut: rows, QualityOut: quality}); err != nil {
		t.Fatal(err)
	}
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Symbol                             string
		Trades, Duplicates, Outliers, Late int64
		DeadLetters                        string
		Failed                             []string
	}
	var got []row
	for _, q := range readJSONL[daily.Quality](t, quality) {
		got = append(got, row{q.Symbol, q.Trades, q.Duplicates, q.Outliers, q.Late, q.DeadLetters, q.Failed})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Symbol < got[j].Symbol })
	want := []row{
		{Symbol: "*", DeadLetters: "late=2,outlier=2,parse=1", Failed: []string{"dead_letters"}},
		// The quarantined trade is not one of the day's trades.
		{Symbol: "AAPL", Trades: 11, Duplicates: 0, Outliers: 1, Failed: []string{"gaps", "outliers"}},
		{Symbol: "BTCUSDT", Late: 2, Failed: []string{"gaps", "late", "no_trades"}},
		{Symbol: "ETHUSDT", Outliers: 1, Failed: []string{"gaps", "outliers", "no_trades"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quality (-want +got):\n%s", diff)
	}
	reports := readJSONL[daily.Report](t, rows)
	if len(reports) != 1 || reports[0].High != 101 || reports[0].Trades != 11 {
		t.Errorf("reports %+v: want AAPL's 11 clean trades, high 101", reports)
	}
	for check, want := range map[string]int64{"outliers": 2, "late": 1} {
		if got := runners.Counter(res, daily.NamespaceQuality, check); got != want {
			t.Errorf("counter quality.%s = %d, want %d", check, got, want)
		}
	}
}
