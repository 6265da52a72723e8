package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/notify"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func TestValidate(t *testing.T) {
	res := []bars.Resolution{bars.Resolution(time.Minute)}
	ok := Config{Input: "a.jsonl", Format: "binance", Bars: res, BarsOut: t.TempDir()}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{ok, ""},
		{with(func(c *Config) { c.Input = "" }), "--input is required"},
		{with(func(c *Config) { c.Format = "" }), "--format is required for file input"},
		{with(func(c *Config) { c.Format = "nyse" }), `--format: parse: unknown format "nyse"`},
		{with(func(c *Config) { c.Bars = nil }), "--bar: at least one resolution is required"},
		{with(func(c *Config) { c.BarsOut = "" }), "--bars_out is required"},
		{with(func(c *Config) { c.BarsOut = "out/../../etc" }), "--bars_out: "},
		{with(func(c *Config) { c.Input = "synthetic:?symbols=A&rate=0" }), "--input: "},
		{with(func(c *Config) { c.Input, c.Format = "synthetic:?symbols=A,B&rate=10", "" }), ""},
	} {
		err := c.cfg.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v, want nil", c.cfg, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want prefix %q", c.cfg, err, c.want)
		}
	}
}

// Volume is conserved: the bars of every resolution add up to the synthetic
// feed's own ticks, computed here with the same generator.
func TestSyntheticVolumeConserved(t *testing.T) {
	uri := "synthetic:?symbols=AAA,BBB,CCC&rate=500&seed=11&count=3000&start=2026-01-15T14:29:50Z&paced=false"
	cfg, err := synthetic.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	g, err := synthetic.NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	wantNotional := map[string]float64{}
	for tk, ok := g.Next(); ok; tk, ok = g.Next() {
		want[tk.Symbol] += tk.Size
		wantNotional[tk.Symbol] += tk.Price * tk.Size
	}
	res, _ := bars.ParseResolutions("1s,1m")
	out := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	if err := build(s, Config{Input: uri, Bars: res, BarsOut: out, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)
	for _, r := range []string{"1s", "1m"} {
		got := map[string]float64{}
		gotNotional := map[string]float64{}
		files, _ := filepath.Glob(filepath.Join(out, "bars-"+r+"-*.jsonl"))
		if len(files) == 0 {
			t.Fatalf("no %s bar files in %s", r, out)
		}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			for sc.Scan() {
				var b tickbeam.Bar
				if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
					t.Fatal(err)
				}
				got[b.Symbol] += b.Volume
				gotNotional[b.Symbol] += b.Notional
			}
			fh.Close()
		}
		for sym, v := range want {
			if got[sym] != v || math.Abs(gotNotional[sym]-wantNotional[sym]) > 1e-6*wantNotional[sym] {
				t.Errorf("%s %s: bars hold volume %v notional %v, ticks %v and %v", r, sym, got[sym], gotNotional[sym], v, wantNotional[sym])
			}
		}
	}
}

// The streaming monitor (Pub/Sub in, BigQuery and Pub/Sub out) translates
// offline into a Dataflow streaming job that reads with Beam's native
// Pub/Sub read.
func TestDataflowStreamingTranslation(t *testing.T) {
	res, _ := bars.ParseResolutions("1m,5m")
	p, s := beam.NewPipelineWithRoot()
	err := build(s, Config{
		Input:         "pubsub:projects/tickbeam-prod/subscriptions/trades",
		NativePubSub:  true,
		Bars:          res,
		BarsOut:       "bq:tickbeam-prod.market.bars",
		DeadLetterOut: "pubsub:projects/tickbeam-prod/topics/deadletters",
		RawOut:        "gs://tickbeam-lake/raw",
		BigQuery:      bigqueryx.Options{Endpoint: "http://127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"},
	})
	if err != nil {
		t.Fatal(err)
	}
	job, model, err := runners.TranslateDataflow(context.Background(), p, runners.DataflowJob{
		Name: "monitor", Project: "tickbeam-prod", Region: "us-central1", StagingLocation: "gs://tickbeam-lake/staging"})
	if err != nil {
		t.Fatal(err)
	}
	if job.Type != "JOB_TYPE_STREAMING" {
		t.Errorf("job type %s, want JOB_TYPE_STREAMING", job.Type)
	}
	var reads int
	for _, tr := range model.GetComponents().GetTransforms() {
		if tr.GetSpec().GetUrn() == pubsubx.ReadURN {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d native Pub/Sub reads in the job, want 1", reads)
	}
}

// Indicators, session stats and alert rules run beside the bars in batch,
// and agree with the bars and ticks they come from.
func TestAnalyticsOutputs(t *testing.T) {
	uri := "synthetic:?symbols=AAA,BBB,CCC&rate=50&seed=5&count=3000&start=2026-01-15T14:29:50Z&paced=false"
	cfg, _ := synthetic.ParseURI(uri)
	g, err := synthetic.NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	volume := map[string]float64{}
	first := map[string]tickbeam.Tick{}
	for tk, ok := g.Next(); ok; tk, ok = g.Next() {
		if tk.Kind != tickbeam.Trade {
			continue
		}
		volume[tk.Symbol] += tk.Size
		if f, seen := first[tk.Symbol]; !seen || tk.EventTime.Before(f.EventTime) {
			first[tk.Symbol] = tk
		}
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - name: any-price\n    kind: price_level\n    input: ticks\n    direction: above\n    threshold: 0.01\n    cooldown: 24h\n    severity: INFO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	res, _ := bars.ParseResolutions("1m")
	p, s := beam.NewPipelineWithRoot()
	if err := build(s, Config{Input: uri, Bars: res, BarsOut: out, Indicators: "sma:2", IndicatorsOut: out,
		SessionOut: out, Rules: rules, AlertsOut: out}); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)

	bs := readRows[tickbeam.Bar](t, out, "bars-1m")
	byWindow := map[string]map[time.Time]float64{}
	for _, b := range bs {
		if byWindow[b.Symbol] == nil {
			byWindow[b.Symbol] = map[time.Time]float64{}
		}
		byWindow[b.Symbol][b.WindowStart] = b.Close
	}
	w0 := time.Date(2026, 1, 15, 14, 29, 0, 0, time.UTC)
	w1 := w0.Add(time.Minute)
	for _, v := range readRows[tickbeam.IndicatorValue](t, out, "indicators") {
		want := (byWindow[v.Symbol][w0] + byWindow[v.Symbol][w1]) / 2
		if v.Indicator != "sma_2" || !v.WindowStart.Equal(w1) || math.Abs(v.Value-want) > 1e-9 {
			t.Errorf("indicator row %+v, want sma_2 at %v = %v", v, w1, want)
		}
		delete(byWindow, v.Symbol)
	}
	if len(byWindow) != 0 {
		t.Errorf("no sma_2 row for %v", byWindow)
	}
	maxCum := map[string]float64{}
	for _, st := range readRows[tickbeam.SessionStats](t, out, "session") {
		maxCum[st.Symbol] = math.Max(maxCum[st.Symbol], st.CumVolume)
	}
	for sym, v := range volume {
		if math.Abs(maxCum[sym]-v) > 1e-9*v {
			t.Errorf("%s: session cum_volume %v, ticks hold %v", sym, maxCum[sym], v)
		}
	}
	alerts := readRows[tickbeam.Alert](t, out, "alerts")
	if len(alerts) != len(first) {
		t.Errorf("%d alerts, want one per symbol (%d): %+v", len(alerts), len(first), alerts)
	}
	for _, a := range alerts {
		f := first[a.Symbol]
		if a.Rule != "any-price" || !a.EventTime.Equal(f.EventTime) || a.Value != f.Price {
			t.Errorf("alert %+v, want any-price at the first trade %v", a, f)
		}
	}
}

func readRows[T any](t *testing.T, dir, name string) []T {
	t.Helper()
	var files []string // also under dt=/hour= partitions
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), name+"-") && strings.HasSuffix(d.Name(), ".jsonl") {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no %s files in %s", name, dir)
	}
	var rows []T
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			var r T
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// Previous closes from the last close seen (CRYPTO: UTC days) and from a
// reference file, the ±5% flag, and a change_pct rule on those rows.
func TestPriceChanges(t *testing.T) {
	dir := t.TempDir()
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 1, d, hh, mm, 0, 0, time.UTC) }
	trade := func(sym, id string, t time.Time, price float64) tickbeam.Tick {
		return tickbeam.Tick{Symbol: sym, Kind: tickbeam.Trade, EventTime: t, Price: price, Size: 1, TradeID: id, Source: "test"}
	}
	var lines []string
	for _, tk := range []tickbeam.Tick{
		trade("BTC", "1", at(15, 23, 59), 100), // the 15th's close
		trade("BTC", "2", at(16, 0, 1), 104),
		trade("BTC", "3", at(16, 0, 2), 106),
		trade("BTC", "4", at(16, 0, 3), 94),
		trade("ETH", "5", at(16, 1, 0), 2110),
	} {
		b, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	in := write("ticks.jsonl", strings.Join(lines, "\n")+"\n")
	refs := write("refs.csv", "symbol,date,prev_close\nETH,2026-01-16,2000\nETH,2026-1-17,1\n")
	// The alerts also go to a real local webhook, signed with a secret from
	// the environment.
	const secret = "desk-secret"
	t.Setenv("TICKBEAM_TEST_DESK_SECRET", secret)
	var mu sync.Mutex
	var hooked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature(secret, r.Header.Get(notify.HeaderTimestamp), string(body), r.Header.Get(notify.HeaderSignature)); err != nil {
			t.Errorf("webhook: %v", err)
		}
		var a tickbeam.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		hooked = append(hooked, a.Symbol+" "+a.EventTime.Format("02T15:04"))
		mu.Unlock()
	}))
	defer srv.Close()
	rules := write("rules.yaml", "notifiers:\n  webhooks:\n    - name: desk\n      url: "+srv.URL+"\n      secret_env: TICKBEAM_TEST_DESK_SECRET\n"+
		"rules:\n  - name: move-5pct\n    kind: change_pct\n    direction: both\n    threshold: 5\n    severity: WARNING\n    notify: [desk]\n")
	out := filepath.Join(dir, "out")
	res, _ := bars.ParseResolutions("1m")
	p, s := beam.NewPipelineWithRoot()
	if err := build(s, Config{Input: in, Format: "tick", Bars: res, BarsOut: out, ChangesOut: out, References: refs,
		Rules: rules, AlertsOut: out, Notify: true}); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)
	sort.Strings(hooked)
	if diff := cmp.Diff([]string{"BTC 16T00:02", "BTC 16T00:03", "ETH 16T01:00"}, hooked); diff != "" {
		t.Errorf("webhook deliveries (-want +got):\n%s", diff)
	}

	type change struct {
		Symbol, Source, Flag  string
		Price, Prev, Chg, Pct float64
	}
	var got []change
	for _, r := range readRows[tickbeam.PriceChange](t, out, "changes") {
		got = append(got, change{r.Symbol, r.PrevCloseSource, r.Flag, r.Price, r.PrevClose, r.Change, r.ChangePct})
	}
	sort.Slice(got, func(i, j int) bool {
		return got[i].Symbol+fmt.Sprint(got[i].Price) < got[j].Symbol+fmt.Sprint(got[j].Price)
	})
	want := []change{
		{"BTC", "NONE", "NEUTRAL", 100, 0, 0, 0},               // no earlier day
		{"BTC", "LAST_CLOSE", "NEUTRAL", 104, 100, 4, 4},       // 4/100
		{"BTC", "LAST_CLOSE", "POSITIVE", 106, 100, 6, 6},      // 6/100
		{"BTC", "LAST_CLOSE", "NEGATIVE", 94, 100, -6, -6},     // −6/100
		{"ETH", "REFERENCE", "POSITIVE", 2110, 2000, 110, 5.5}, // 110/2000
	}
	sort.Slice(want, func(i, j int) bool {
		return want[i].Symbol+fmt.Sprint(want[i].Price) < want[j].Symbol+fmt.Sprint(want[j].Price)
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	var fired []string
	for _, a := range readRows[tickbeam.Alert](t, out, "alerts") {
		fired = append(fired, fmt.Sprintf("%s %s %v %g", a.Symbol, a.Rule, a.EventTime.Format("02T15:04"), a.Value))
	}
	sort.Strings(fired)
	if diff := cmp.Diff([]string{"BTC move-5pct 16T00:02 6", "BTC move-5pct 16T00:03 -6", "ETH move-5pct 16T01:00 5.5"}, fired); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	dead := readRows[tickbeam.DeadLetter](t, out, "deadletters")
	if len(dead) != 1 || !strings.Contains(dead[0].PayloadString, "2026-1-17") {
		t.Errorf("dead letters %+v, want the bad reference line", dead)
	}
}

// --calendar moves 1d bars onto the exchange's trading day: an XNYS Friday
// whose after-hours run past UTC midnight is one bar, not two UTC days.
func TestDailyBarsOnSessionDay(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ticks.jsonl")
	var lines []string
	for _, tk := range []tickbeam.Tick{
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: time.Date(2026, 3, 6, 9, 30, 0, 0, time.UTC), Price: 100, Size: 10, Side: tickbeam.Buy, TradeID: "1", Source: "test"},
		{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: time.Date(2026, 3, 7, 0, 30, 0, 0, time.UTC), Price: 102, Size: 5, Side: tickbeam.Sell, TradeID: "2", Source: "test"},
	} {
		b, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type day struct {
		Start, End       time.Time
		Volume, Notional float64
	}
	for _, c := range []struct {
		calendar string
		want     []day
	}{
		// 04:00-20:00 EST; 100x10 + 102x5 = 1510.
		{"XNYS", []day{{time.Date(2026, 3, 6, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 7, 1, 0, 0, 0, time.UTC), 15, 1510}}},
		{"", []day{
			{time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), 10, 1000},
			{time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), 5, 510},
		}},
	} {
		t.Run("calendar="+c.calendar, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			p, s := beam.NewPipelineWithRoot()
			if err := build(s, Config{Input: in, Format: "tick", Bars: []bars.Resolution{bars.Daily}, BarsOut: out, Calendar: c.calendar}); err != nil {
				t.Fatal(err)
			}
			ptest.RunAndValidate(t, p)
			var got []day
			for _, b := range readRows[tickbeam.Bar](t, out, "bars-1d") {
				got = append(got, day{b.WindowStart, b.WindowEnd, b.Volume, b.Notional})
			}
			sort.Slice(got, func(i, j int) bool { return got[i].Start.Before(got[j].Start) })
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("1d bars (-want +got):\n%s", diff)
			}
		})
	}
}

// InferSide: Alpaca stock trades carry no side; with the tick test their
// 1m bars split volume into buy and sell, without it all is UNKNOWN.
func TestInferSide(t *testing.T) {
	dir := t.TempDir()
	at := func(sec int) time.Time { return time.Date(2026, 1, 16, 15, 0, sec, 0, time.UTC) }
	var lines []string
	// price  100  101  101  100.5  100.5  102
	// side   -    BUY  BUY  SELL   SELL   BUY    (size 1, 2, 3, 4, 5, 6)
	for i, p := range []float64{100, 101, 101, 100.5, 100.5, 102} {
		b, err := json.Marshal(tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: at(5 * i), Price: p,
			Size: float64(i + 1), Side: tickbeam.Unknown, TradeID: fmt.Sprint(i + 1), Source: "alpaca"})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	in := filepath.Join(dir, "ticks.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := bars.ParseResolutions("1m")
	for _, c := range []struct {
		infer         bool
		wantBuy, want float64 // buy and sell volume
	}{
		{false, 0, 0},
		{true, 2 + 3 + 6, 4 + 5}, // the first trade has no earlier price: UNKNOWN
	} {
		out := filepath.Join(dir, fmt.Sprint("out-", c.infer))
		p, s := beam.NewPipelineWithRoot()
		if err := build(s, Config{Input: in, Format: "tick", Bars: res, BarsOut: out, InferSide: c.infer}); err != nil {
			t.Fatal(err)
		}
		ptest.RunAndValidate(t, p)
		got := readRows[tickbeam.Bar](t, out, "bars")
		if len(got) != 1 || got[0].Volume != 21 || got[0].BuyVolume != c.wantBuy || got[0].SellVolume != c.want {
			t.Errorf("InferSide %v: bars %+v, want one of volume 21, buy %g, sell %g", c.infer, got, c.wantBuy, c.want)
		}
	}
}

// A durable Pub/Sub read acks whole windows: the least common multiple of
// the bar, dedupe and sink windows; calendar days and the lateness go into
// the horizon.
func TestAckTimes(t *testing.T) {
	for _, tc := range []struct {
		c                     Config
		wantWindow, wantHoriz time.Duration
	}{
		{Config{Bars: []bars.Resolution{bars.Resolution(time.Minute)}}, time.Minute, 0},
		{Config{Bars: []bars.Resolution{bars.Resolution(time.Second), bars.Resolution(7 * time.Second)}}, 35 * time.Second, 0},
		{Config{Bars: []bars.Resolution{bars.Resolution(7 * time.Second)}, RawOut: "raw"}, 7 * time.Minute, 0},
		{Config{Bars: []bars.Resolution{bars.Resolution(time.Minute), bars.Resolution(24 * time.Hour)}, AllowedLateness: time.Minute},
			24 * time.Hour, time.Minute},
		{Config{Bars: []bars.Resolution{bars.Resolution(time.Minute), bars.Resolution(24 * time.Hour)}, Calendar: "XNYS"},
			time.Minute, 24 * time.Hour},
	} {
		w, h := tc.c.ackTimes()
		if w != tc.wantWindow || h != tc.wantHoriz {
			t.Errorf("%+v: ackTimes %v, %v; want %v, %v", tc.c.Bars, w, h, tc.wantWindow, tc.wantHoriz)
		}
	}
}

// TestRulesOnIndicatorRows: an rsi rule reading the pipeline's indicator
// rows (input: indicators, --indicators=rsi:3) fires exactly as the same
// rule computing RSI from the bars itself (input: bars).
func TestRulesOnIndicatorRows(t *testing.T) {
	uri := "synthetic:?symbols=AAA,BBB&rate=1&seed=7&count=3600&start=2026-01-15T14:30:00Z&paced=false"
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte(`rules:
  - {name: rsi-rows, kind: rsi, input: indicators, period: 3, overbought: 60, oversold: 40, severity: INFO}
  - {name: rsi-bars, kind: rsi, input: bars, resolution: 1m, period: 3, overbought: 60, oversold: 40, severity: INFO}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	res, _ := bars.ParseResolutions("1m")
	p, s := beam.NewPipelineWithRoot()
	if err := build(s, Config{Input: uri, Bars: res, BarsOut: out, Indicators: "rsi:3", IndicatorsOut: out, Rules: rules, AlertsOut: out}); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)
	type firing struct {
		Symbol string
		At     time.Time
		Value  float64
	}
	byRule := map[string][]firing{}
	for _, a := range readRows[tickbeam.Alert](t, out, "alerts") {
		byRule[a.Rule] = append(byRule[a.Rule], firing{a.Symbol, a.EventTime, a.Value})
	}
	for _, fs := range byRule {
		slices.SortFunc(fs, func(a, b firing) int {
			if c := strings.Compare(a.Symbol, b.Symbol); c != 0 {
				return c
			}
			return a.At.Compare(b.At)
		})
	}
	if len(byRule["rsi-bars"]) == 0 {
		t.Fatal("rsi-bars never fired: the test data does not exercise the rule")
	}
	if diff := cmp.Diff(byRule["rsi-bars"], byRule["rsi-rows"], cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("input: indicators vs input: bars (-bars +rows):\n%s", diff)
	}
}

// With EarlyTickRules a stream's tick rules read dedupe's batches before
// they are grouped (dedupe.Options.Early), so an alert does not wait for
// the dedupe window; without it, and on a file, they read dedupe's output.
func TestTickRulesReadEarlyBatchesOnAStream(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - {name: btc-100, kind: price_level, input: ticks, symbols: [BTCUSDT], direction: above, threshold: 100}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "trades.jsonl")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := bars.ParseResolutions("1m")
	stream := "pubsub:projects/tickbeam-prod/subscriptions/trades"
	for _, c := range []struct {
		input       string
		flag, early bool
	}{
		{stream, true, true},
		{stream, false, false},
		{file, true, false},
	} {
		p, s := beam.NewPipelineWithRoot()
		err := build(s, Config{Input: c.input, Format: "binance", NativePubSub: strings.HasPrefix(c.input, "pubsub:"), Bars: res,
			BarsOut: t.TempDir(), Rules: rules, AlertsOut: t.TempDir(), EarlyTickRules: c.flag})
		if err != nil {
			t.Fatal(err)
		}
		edges, _, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		made := map[int]string{} // node id -> the scope of the edge making it
		for _, e := range edges {
			for _, o := range e.Output {
				made[o.To.ID()] = e.Scope().String()
			}
		}
		// What the tick rules' step reads from outside it.
		var from []string
		for _, e := range edges {
			if sc := e.Scope().String(); strings.HasSuffix(sc, "/alerts.ticks") {
				for _, in := range e.Input {
					if m := made[in.From.ID()]; m != sc {
						from = append(from, m)
					}
				}
			}
		}
		readsEarly := len(from) > 0 && strings.Contains(from[0], "dedupe.Ticks/early")
		if len(from) != 1 || readsEarly != c.early {
			t.Errorf("%s, EarlyTickRules %v: the tick rules read what %q made, want early batches: %v", c.input, c.flag, from, c.early)
		}
	}
}
