package alerts

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
)

// fired is the part of an alert the evaluator tests spell out.
type fired struct {
	Min       int // minutes after t0
	Severity  tickbeam.Severity
	Value     float64
	Threshold float64
	Message   string
}

func firedOf(a tickbeam.Alert) fired {
	return fired{int(a.EventTime.Sub(t0) / time.Minute), a.Severity, a.Value, a.Threshold, a.Message}
}

func px(min int, p float64) Observation {
	return Observation{Symbol: "BTCUSDT", Time: at(min), Price: p}
}

func barObs(min int, close, vwap, vol float64) Observation {
	return Observation{Symbol: "AAPL", Time: at(min + 1), WindowStart: at(min), Close: close, VWAP: vwap, Volume: vol, Notional: vwap * vol}
}

func TestEvaluatorKinds(t *testing.T) {
	closes := func(cs ...float64) []Observation {
		var os []Observation
		for i, c := range cs {
			os = append(os, barObs(i, c, c, 1))
		}
		return os
	}
	for _, c := range []struct {
		name string
		rule Rule
		obs  []Observation
		want []fired
	}{
		{
			name: "price_level below on ticks (seed 002)",
			rule: Rule{Name: "btc-below", Kind: KindPriceLevel, Direction: Below, Threshold: 60000, Band: 100},
			obs:  []Observation{px(0, 59990), px(1, 59950), px(2, 60050), px(3, 59900), px(4, 60200), px(5, 60000)},
			want: []fired{
				{0, tickbeam.Warning, 59990, 60000, "BTCUSDT price 59990 is at or below 60000"},
				{5, tickbeam.Warning, 60000, 60000, "BTCUSDT price 60000 is at or below 60000"},
			},
		},
		{
			name: "price_cross above on bar closes, cooldown 3m",
			rule: Rule{Name: "aapl-200", Kind: KindPriceCross, Input: InputBars, Resolution: "1m", Direction: Above, Threshold: 200, Cooldown: 3 * time.Minute, Severity: tickbeam.Critical},
			obs:  closes(201, 199, 200.5, 198, 202, 199, 203),
			want: []fired{
				{3, tickbeam.Critical, 200.5, 200, "AAPL 1m close 200.5 crossed above 200"},
				// 202 at minute 5 is in the cooldown (until 6): suppressed, arm kept; 203 at 7 fires.
				{7, tickbeam.Critical, 203, 200, "AAPL 1m close 203 crossed above 200"},
			},
		},
		{
			name: "change_pct both (seed 004)",
			rule: Rule{Name: "move-5pct", Kind: KindChangePct, Threshold: 5, Band: 1},
			obs: []Observation{
				{Symbol: "005930", Time: at(0), Value: 4.9, Ref: 70000},
				{Symbol: "005930", Time: at(1), Value: 5.2, Ref: 70000},
				{Symbol: "005930", Time: at(2), Value: 4.5, Ref: 70000},
				{Symbol: "005930", Time: at(3), Value: 5.1, Ref: 70000},
				{Symbol: "005930", Time: at(4), Value: 3.9, Ref: 70000},
				{Symbol: "005930", Time: at(5), Value: -5, Ref: 70000},
				{Symbol: "005930", Time: at(6), Value: 5},
			},
			want: []fired{
				{1, tickbeam.Warning, 5.2, 5, "005930 is up 5.2% vs the previous close 70000 (limit +5%)"},
				{5, tickbeam.Warning, -5, -5, "005930 is down 5% vs the previous close 70000 (limit -5%)"},
				{6, tickbeam.Warning, 5, 5, "005930 is up 5% vs the previous close (limit +5%)"},
			},
		},
		{
			name: "vwap_deviation against the bar VWAP",
			rule: Rule{Name: "vwap-dev", Kind: KindVWAPDeviation, Resolution: "1m", Direction: Above, Threshold: 2},
			obs:  []Observation{barObs(0, 101, 100, 10), barObs(1, 102, 100, 10), barObs(2, 103, 100, 10)},
			want: []fired{{2, tickbeam.Warning, 2, 2, "AAPL 1m close 102 is 2% above the bar VWAP 100 (limit 2%)"}},
		},
		{
			name: "vwap_deviation against the session VWAP",
			rule: Rule{Name: "vwap-session", Kind: KindVWAPDeviation, Resolution: "1m", Threshold: 1, VWAP: "session"},
			// Session VWAP: 100, then (1000+1020)/20 = 101, then (2020+950)/30 = 99.
			obs:  []Observation{barObs(0, 100, 100, 10), barObs(1, 102, 102, 10), barObs(2, 97.9, 95, 10)},
			want: []fired{{3, tickbeam.Warning, -1.111111111, -1, "AAPL 1m close 97.9 is 1.11111% below the session VWAP 99 (limit 1%)"}},
		},
		{
			name: "spread in basis points",
			rule: Rule{Name: "wide", Kind: KindSpread, Threshold: 20},
			obs: []Observation{
				{Symbol: "AAPL", Time: at(0), Bid: 99.95, Ask: 100.05},
				{Symbol: "AAPL", Time: at(1), Bid: 99.9, Ask: 100.1},
				{Symbol: "AAPL", Time: at(2), Bid: 0, Ask: 100.1},
			},
			want: []fired{{1, tickbeam.Warning, 20, 20, "AAPL spread 20 bps (bid 99.9, ask 100.1) is at or above 20 bps"}},
		},
		{
			name: "volume_spike factor",
			rule: Rule{Name: "vol", Kind: KindVolumeSpike, Resolution: "1m", Window: 3, Factor: 3.5},
			obs:  []Observation{barObs(0, 1, 1, 10), barObs(1, 1, 1, 20), barObs(2, 1, 1, 30), barObs(3, 1, 1, 60), barObs(4, 1, 1, 200)},
			want: []fired{{5, tickbeam.Warning, 200, 128.33333333333331, "AAPL 1m volume 200 is 5.45455× the mean of the last 3 bars (limit 3.5×)"}},
		},
		{
			name: "rsi on indicator rows",
			rule: Rule{Name: "rsi", Kind: KindRSI, Input: InputIndicators, Overbought: 70, Oversold: 30, Band: 5},
			obs: []Observation{
				{Symbol: "AAPL", Time: at(0), Value: 50}, {Symbol: "AAPL", Time: at(1), Value: 71},
				{Symbol: "AAPL", Time: at(2), Value: 66}, {Symbol: "AAPL", Time: at(3), Value: 70},
				{Symbol: "AAPL", Time: at(4), Value: 64}, {Symbol: "AAPL", Time: at(5), Value: 70.5},
				{Symbol: "AAPL", Time: at(6), Value: 29},
			},
			want: []fired{
				{1, tickbeam.Warning, 71, 70, "AAPL RSI(14) 71 is overbought (>= 70)"},
				{5, tickbeam.Warning, 70.5, 70, "AAPL RSI(14) 70.5 is overbought (>= 70)"},
				{6, tickbeam.Warning, 29, 30, "AAPL RSI(14) 29 is oversold (<= 30)"},
			},
		},
		{
			// RSI(2) of closes 10, 11, 12: gains 1, 1, no loss: 100 at the third.
			name: "rsi on bars",
			rule: Rule{Name: "rsi2", Kind: KindRSI, Resolution: "1m", Period: 2, Overbought: 90},
			obs:  closes(10, 11, 12, 11),
			want: []fired{{3, tickbeam.Warning, 100, 90, "AAPL RSI(2) 100 is overbought (>= 90)"}},
		},
		{
			// SMA(1) is the close, SMA(2) the mean of the last two closes.
			name: "ma_cross on bars",
			rule: Rule{Name: "x", Kind: KindMACross, Resolution: "1m", Fast: "sma:1", Slow: "sma:2"},
			// closes: 10, 9 (fast 9 < slow 9.5), 11 (11 > 10: golden), 12, 8 (8 < 10: death)
			obs: closes(10, 9, 11, 12, 8),
			want: []fired{
				{3, tickbeam.Warning, 11, 10, "AAPL 1m golden_cross: sma_1 11 crossed above sma_2 10"},
				{5, tickbeam.Warning, 8, 10, "AAPL 1m death_cross: sma_1 8 crossed below sma_2 10"},
			},
		},
		{
			name: "ma_cross on crossover events, golden only",
			rule: Rule{Name: "gc", Kind: KindMACross, Input: InputCrosses, Resolution: "1d", Direction: Golden, Fast: "sma:50", Slow: "sma:200"},
			obs: []Observation{
				{Symbol: "AAPL", Time: at(0), Cross: 1, Fast: 101, Slow: 100},
				{Symbol: "AAPL", Time: at(1), Cross: -1, Fast: 99, Slow: 100},
			},
			want: []fired{{0, tickbeam.Warning, 101, 100, "AAPL 1d golden_cross: sma_50 101 crossed above sma_200 100"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEvaluator(c.rule)
			if err != nil {
				t.Fatal(err)
			}
			var got []fired
			for i, o := range c.obs {
				// Round-trip the state between observations, as the DoFn does.
				b, err := e.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				e2, _ := NewEvaluator(c.rule)
				if err := e2.UnmarshalState(b); err != nil {
					t.Fatalf("obs %d: %v", i, err)
				}
				e = e2
				for _, a := range e.Observe(o) {
					if a.AlertID != tickbeam.NewAlertID(c.rule.Name, o.Symbol, o.Time) || a.Rule != c.rule.Name || a.Symbol != o.Symbol {
						t.Errorf("obs %d: id/rule/symbol %q %q %q", i, a.AlertID, a.Rule, a.Symbol)
					}
					got = append(got, firedOf(a))
				}
			}
			if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluatorLabels(t *testing.T) {
	r := Rule{Name: "btc-below", Kind: KindPriceLevel, Direction: Below, Threshold: 60000,
		Notify: []string{"sms", "desk"}, Labels: map[string]string{"team": "crypto"}}
	e, err := NewEvaluator(r)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Observe(px(0, 59000))
	want := []tickbeam.Alert{{
		AlertID: tickbeam.NewAlertID("btc-below", "BTCUSDT", at(0)), Rule: "btc-below", Symbol: "BTCUSDT",
		Severity: tickbeam.Warning, EventTime: at(0), Value: 59000, Threshold: 60000,
		Message: "BTCUSDT price 59000 is at or below 60000",
		Labels: []tickbeam.Attribute{{Key: "direction", Value: "below"}, {Key: "kind", Value: "price_level"},
			{Key: "notify", Value: "sms,desk"}, {Key: "team", Value: "crypto"}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
