package indicators

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCrossoverUpdate(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		fast []float64 // slow is 2 throughout
		want []Cross
	}{
		{"first comparison only sets the sign",
			[]float64{3, 1},
			[]Cross{NoCross, DeathCross}},
		{"both directions",
			[]float64{1, 3, 3, 1, 1, 3},
			[]Cross{NoCross, GoldenCross, NoCross, DeathCross, NoCross, GoldenCross}},
		{"touch from below is not a cross",
			[]float64{1, 2, 1, 2, 2, 1.5},
			[]Cross{NoCross, NoCross, NoCross, NoCross, NoCross, NoCross}},
		{"touch from above is not a cross",
			[]float64{3, 2, 2.5},
			[]Cross{NoCross, NoCross, NoCross}},
		{"through equality: the cross is on the bar that gets strictly across",
			[]float64{1, 2, 2, 3, 2, 1},
			[]Cross{NoCross, NoCross, NoCross, GoldenCross, NoCross, DeathCross}},
		{"starting equal: the first strict bar sets the sign",
			[]float64{2, 2, 3, 1},
			[]Cross{NoCross, NoCross, NoCross, DeathCross}},
		{"NaN is ignored",
			[]float64{1, nan, 3, nan, 1},
			[]Cross{NoCross, NoCross, GoldenCross, NoCross, DeathCross}},
	}
	for _, tc := range tests {
		c := Crossover{Fast: SMA(5), Slow: SMA(20)}
		var got []Cross
		for _, f := range tc.fast {
			got = append(got, c.Update(f, 2))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestCrossString(t *testing.T) {
	for c, want := range map[Cross]string{GoldenCross: "golden_cross", DeathCross: "death_cross", NoCross: "none", 5: "Cross(5)"} {
		if c.String() != want {
			t.Errorf("%d.String() = %q, want %q", c, c.String(), want)
		}
	}
}

func TestCrossoverValidate(t *testing.T) {
	tests := []struct {
		c    Crossover
		want string
	}{
		{Crossover{Fast: SMA(50), Slow: SMA(200)}, ""},
		{Crossover{Fast: EMA(20), Slow: SMA(20)}, ""},
		{Crossover{Fast: SMA(200), Slow: SMA(50)}, `indicators: crossover "sma:200/sma:50": fast period (200) must not exceed slow period (50)`},
		{Crossover{Fast: SMA(20), Slow: SMA(20)}, `indicators: crossover "sma:20/sma:20": fast and slow lines are the same`},
		{Crossover{Fast: RSI(14), Slow: SMA(20)}, `indicators: crossover "rsi:14/sma:20": fast line must be sma or ema, got rsi`},
		{Crossover{Fast: SMA(5), Slow: Bollinger(20, 2)}, `indicators: crossover "sma:5/bb:20:2": slow line must be sma or ema, got bb`},
		{Crossover{Fast: SMA(0), Slow: SMA(20)}, `indicators: crossover "sma:0/sma:20": fast line: "sma:0": period must be an integer from 1 to 100000, got 0`},
	}
	for _, tc := range tests {
		err := tc.c.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v.Validate()\n got: %s\nwant: %s", tc.c, got, tc.want)
		}
	}
}

func TestParseCrossovers(t *testing.T) {
	got, err := ParseCrossovers(" sma:50/sma:200 , ema:12/EMA:26,ema:20/sma:20")
	if err != nil {
		t.Fatal(err)
	}
	want := []Crossover{
		{Fast: SMA(50), Slow: SMA(200)},
		{Fast: EMA(12), Slow: EMA(26)},
		{Fast: EMA(20), Slow: SMA(20)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := got[0].Name(); n != "sma_50_x_sma_200" {
		t.Errorf("Name() = %q", n)
	}
	if s := got[1].String(); s != "ema:12/ema:26" {
		t.Errorf("String() = %q", s)
	}
	if got, err := ParseCrossovers(""); got != nil || err != nil {
		t.Errorf(`ParseCrossovers("") = %v, %v`, got, err)
	}

	const known = "(known: sma, ema, rsi, macd, bb, vwapdist)"
	for _, tc := range []struct{ in, want string }{
		{"sma:50", `indicators: crossover "sma:50": want FAST/SLOW, e.g. sma:50/sma:200`},
		{"sma:5/sma:20/sma:50", `indicators: crossover "sma:5/sma:20/sma:50": want FAST/SLOW, e.g. sma:50/sma:200`},
		{"sma:50/wma:200", `indicators: crossover "sma:50/wma:200": slow line: "wma:200": unknown indicator "wma" ` + known},
		{"sma:x/sma:200", `indicators: crossover "sma:x/sma:200": fast line: "sma:x": period must be an integer from 1 to 100000, got "x"`},
		{"sma:200/sma:50", `indicators: crossover "sma:200/sma:50": fast period (200) must not exceed slow period (50)`},
		{"rsi:14/sma:50", `indicators: crossover "rsi:14/sma:50": fast line must be sma or ema, got rsi`},
		{"sma:5/sma:20,,", `indicators: crossover 2 of "sma:5/sma:20,," is empty`},
		{"sma:5/sma:20,sma:05/sma:20", `indicators: duplicate crossover sma_5_x_sma_20 ("sma:5/sma:20" and "sma:05/sma:20")`},
	} {
		_, err := ParseCrossovers(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseCrossovers(%q) error\n got: %v\nwant: %s", tc.in, err, tc.want)
		}
	}
}
