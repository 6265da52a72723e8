package alerts

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
)

func TestPriceRange(t *testing.T) {
	for _, c := range []struct {
		name string
		rule Rule
		obs  []Observation
		want []fired
	}{
		{
			name: "ticks, band 1",
			rule: Rule{Name: "btc-range", Kind: KindPriceRange, Low: 100, High: 110, Band: 1},
			obs: []Observation{
				px(0, 105),    // inside
				px(1, 110),    // at high: fires
				px(2, 111),    // high fired, not re-armed
				px(3, 109.5),  // not back by the band (109.5 >= 110-1)
				px(4, 108.5),  // back: high re-armed
				px(5, 112),    // fires
				px(6, 100),    // at low: fires
				px(7, 99),     // low fired
				px(8, 100.5),  // not back by the band (100.5 <= 100+1)
				px(9, 99.5),   // still disarmed
				px(10, 101.5), // back: low re-armed
				px(11, 95),    // fires
			},
			want: []fired{
				{1, tickbeam.Warning, 110, 110, "BTCUSDT price 110 is at or above the range high 110 (range 100 to 110)"},
				{5, tickbeam.Warning, 112, 110, "BTCUSDT price 112 is at or above the range high 110 (range 100 to 110)"},
				{6, tickbeam.Warning, 100, 100, "BTCUSDT price 100 is at or below the range low 100 (range 100 to 110)"},
				{11, tickbeam.Warning, 95, 100, "BTCUSDT price 95 is at or below the range low 100 (range 100 to 110)"},
			},
		},
		{
			name: "bar closes, the first already outside",
			rule: Rule{Name: "aapl-range", Kind: KindPriceRange, Input: InputBars, Resolution: "1m", Low: 100, High: 110, Severity: tickbeam.Critical},
			obs:  []Observation{barObs(0, 120, 120, 1), barObs(1, 105, 105, 1), barObs(2, 90, 90, 1), barObs(3, 0, 0, 1)},
			want: []fired{
				{1, tickbeam.Critical, 120, 110, "AAPL 1m close 120 is at or above the range high 110 (range 100 to 110)"},
				{3, tickbeam.Critical, 90, 100, "AAPL 1m close 90 is at or below the range low 100 (range 100 to 110)"},
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := NewEvaluator(c.rule)
			if err != nil {
				t.Fatal(err)
			}
			var got []fired
			for _, o := range c.obs {
				for _, a := range ev.Observe(o) {
					got = append(got, firedOf(a))
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPriceRangeLabels(t *testing.T) {
	ev, err := NewEvaluator(Rule{Name: "aapl-range", Kind: KindPriceRange, Input: InputBars, Resolution: "1m", Low: 100, High: 110})
	if err != nil {
		t.Fatal(err)
	}
	got := ev.Observe(barObs(0, 99, 99, 1))
	want := []tickbeam.Attribute{{Key: "direction", Value: "below"}, {Key: "kind", Value: "price_range"}, {Key: "resolution", Value: "1m"}}
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1", len(got))
	}
	if diff := cmp.Diff(want, got[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestPriceRangeValidate(t *testing.T) {
	for _, c := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "r", Kind: KindPriceRange}, "alerts: rule r: low: must be > 0; high: must be > 0"},
		{Rule{Name: "r", Kind: KindPriceRange, Low: 110, High: 100}, "alerts: rule r: high: must be above low"},
		{Rule{Name: "r", Kind: KindPriceRange, Low: 100, High: 110, Threshold: 5}, "alerts: rule r: threshold: not used by kind price_range"},
		{Rule{Name: "r", Kind: KindPriceRange, Low: 100, High: 110, Resolution: "1m"}, "alerts: rule r: resolution: only for bar input"},
		{Rule{Name: "r", Kind: KindPriceRange, Low: 100, High: 110, Input: InputBars}, "alerts: rule r: resolution: required for bar input, e.g. 1m"},
		{Rule{Name: "r", Kind: KindPriceLevel, Direction: Below, Threshold: 1, Low: 1}, "alerts: rule r: low: not used by kind price_level"},
	} {
		err := c.rule.Validate()
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: got %v, want %s", c.rule, err, c.want)
		}
	}
}

func TestPriceRangeRulesFile(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`rules:
  - name: btc-range
    kind: price_range
    symbols: [BTCUSDT]
    low: 60000
    high: 75000
    band: 500
`), "rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{Name: "btc-range", Kind: KindPriceRange, Symbols: []string{"BTCUSDT"}, Low: 60000, High: 75000, Band: 500}
	if diff := cmp.Diff(want, rs.Rules[0]); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
	_, err = ParseRules(strings.NewReader("rules:\n  - {name: r, kind: price_range, low: 1, hihg: 2}\n"), "rules.yaml")
	if want := "rules.yaml:2: rules[0].hihg: unknown field (did you mean high?)\nrules.yaml:2: rules[0].high: must be > 0"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
