package alerts

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
)

func init() { register.Function2x0(stampTick) }

func stampTick(tk tickbeam.Tick, emit func(beam.EventTime, tickbeam.Tick)) {
	emit(mtime.FromTime(tk.EventTime), tk)
}

// referenceAlerts runs each rule alone over its rows in event-time order with
// the pure-Go Evaluator: the semantics one step per rule had.
func referenceAlerts(t *testing.T, rules []Rule, ticks []tickbeam.Tick) []tickbeam.Alert {
	t.Helper()
	sorted := append([]tickbeam.Tick(nil), ticks...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if c := sorted[i].EventTime.Compare(sorted[j].EventTime); c != 0 {
			return c < 0
		}
		return sorted[i].TradeID < sorted[j].TradeID
	})
	var out []tickbeam.Alert
	for _, r := range rules {
		sched, err := newSchedule(r.Sessions)
		if err != nil {
			t.Fatal(err)
		}
		evs := map[string]*Evaluator{}
		last := map[string]time.Time{}
		for _, tk := range sorted {
			if !r.Matches(tk.Symbol) || !sched.IsOpen(tk.EventTime) {
				continue
			}
			if r.Kind == KindSpread && (tk.BidPrice <= 0 || tk.AskPrice <= 0) || r.Kind != KindSpread && tk.Price <= 0 {
				continue
			}
			ev := evs[tk.Symbol]
			if ev == nil {
				if ev, err = NewEvaluator(r); err != nil {
					t.Fatal(err)
				}
				evs[tk.Symbol] = ev
			}
			if l, ok := last[tk.Symbol]; ok && tk.EventTime.Sub(l) >= r.stateTTL() {
				ev.Reset()
			}
			last[tk.Symbol] = tk.EventTime
			out = append(out, ev.Observe(Observation{Symbol: tk.Symbol, Time: tk.EventTime, ID: tk.TradeID,
				Price: tk.Price, Bid: tk.BidPrice, Ask: tk.AskPrice})...)
		}
	}
	return out
}

// The tick rules of a set share one stateful step; each rule must still see
// exactly its own rows, with its own symbols, sessions, hysteresis, cooldown
// and state TTL, whatever the others watch.
func TestApplyGroupsRulesOfOneInput(t *testing.T) {
	rules := []Rule{
		{Name: "btc-above", Kind: KindPriceLevel, Symbols: []string{"BTC*"}, Direction: Above, Threshold: 101, Band: 0.5},
		{Name: "all-below", Kind: KindPriceLevel, Direction: Below, Threshold: 99, Band: 0.2, Cooldown: 2 * time.Minute},
		{Name: "eth-cross", Kind: KindPriceCross, Symbols: []string{"ETHUSDT"}, Direction: Above, Threshold: 100},
		{Name: "wide", Kind: KindSpread, Threshold: 30},
		{Name: "short-ttl", Kind: KindPriceCross, Direction: Below, Threshold: 100, StateTTL: 90 * time.Second},
		{Name: "us-hours", Kind: KindPriceLevel, Direction: Above, Threshold: 100.5,
			Sessions: &Sessions{Calendar: "XNYS", Hours: "09:31-09:40"}},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var ticks []tickbeam.Tick
	for i := range 1200 {
		sym := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}[i%3]
		at := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		if i > 600 && i < 800 {
			continue // a gap longer than short-ttl's StateTTL
		}
		tk := tradeAt(sym, at, fmt.Sprint(i), 100+4*rng.NormFloat64())
		if i%4 == 0 { // a quote
			mid := 100 + rng.NormFloat64()
			half := mid * rng.Float64() * 25e-4
			tk.Price, tk.Kind, tk.BidPrice, tk.AskPrice = 0, tickbeam.Quote, mid-half, mid+half
		}
		ticks = append(ticks, tk)
	}
	want := referenceAlerts(t, rules, ticks)
	byRule := map[string]int{}
	for _, a := range want {
		byRule[a.Rule]++
	}
	for _, r := range rules {
		if byRule[r.Name] == 0 {
			t.Fatalf("rule %s fires nothing on the test ticks: the test would not see it misbehave", r.Name)
		}
	}
	t.Logf("alerts per rule: %v", byRule)

	p, s := beam.NewPipelineWithRoot()
	rng.Shuffle(len(ticks), func(i, j int) { ticks[i], ticks[j] = ticks[j], ticks[i] })
	col := beam.ParDo(s, stampTick, beam.CreateList(s, ticks))
	out, err := TryApply(s, Inputs{Ticks: col}, &RuleSet{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	equalAlerts(s, out.Alerts, want)
	ptest.RunAndValidate(t, p)
}
