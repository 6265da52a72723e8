package indicators

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpecs(t *testing.T) {
	tests := []struct {
		in    string
		names []string
	}{
		{"sma:20,ema:12,rsi:14,macd:12:26:9,bb:20:2", []string{"sma_20", "ema_12", "rsi_14", "macd_12_26_9", "bb_20_2"}},
		{"bb:20:2.5", []string{"bb_20_2.5"}},
		{"bb:20:2.50,bb:10:0.1", []string{"bb_20_2.5", "bb_10_0.1"}},
		{"vwapdist", []string{"vwap_distance"}},
		{" SMA:20 , ema : 12 ,Vwapdist ", []string{"sma_20", "ema_12", "vwap_distance"}},
		{"sma:020", []string{"sma_20"}},
		{"sma:1,rsi:100000", []string{"sma_1", "rsi_100000"}},
		{"macd:1:2:1", []string{"macd_1_2_1"}},
		{"", nil},
		{"  ", nil},
	}
	for _, tc := range tests {
		specs, err := ParseSpecs(tc.in)
		if err != nil {
			t.Errorf("ParseSpecs(%q): %v", tc.in, err)
			continue
		}
		var names []string
		for _, s := range specs {
			names = append(names, s.Name())
			if err := s.Validate(); err != nil {
				t.Errorf("ParseSpecs(%q) gave invalid %v: %v", tc.in, s, err)
			}
		}
		if diff := cmp.Diff(tc.names, names); diff != "" {
			t.Errorf("ParseSpecs(%q) names (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseSpecsParams(t *testing.T) {
	specs, err := ParseSpecs("sma:20,macd:12:26:9,bb:20:2.5,vwapdist")
	if err != nil {
		t.Fatal(err)
	}
	want := []Spec{SMA(20), MACD(12, 26, 9), Bollinger(20, 2.5), VWAPDistance()}
	if diff := cmp.Diff(want, specs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseSpecsErrors(t *testing.T) {
	const known = "(known: sma, ema, rsi, macd, bb, vwapdist)"
	tests := []struct{ in, want string }{
		{"wma:20", `indicators: "wma:20": unknown indicator "wma" ` + known},
		{"sma:20,foo", `indicators: "foo": unknown indicator "foo" ` + known},
		{":20", `indicators: ":20": missing indicator kind ` + known},
		{"sma", `indicators: "sma": sma takes 1 parameter (sma:PERIOD), got 0`},
		{"sma:20:3", `indicators: "sma:20:3": sma takes 1 parameter (sma:PERIOD), got 2`},
		{"ema", `indicators: "ema": ema takes 1 parameter (ema:PERIOD), got 0`},
		{"rsi:14:2", `indicators: "rsi:14:2": rsi takes 1 parameter (rsi:PERIOD), got 2`},
		{"macd:12:26", `indicators: "macd:12:26": macd takes 3 parameters (macd:FAST:SLOW:SIGNAL), got 2`},
		{"macd", `indicators: "macd": macd takes 3 parameters (macd:FAST:SLOW:SIGNAL), got 0`},
		{"bb:20", `indicators: "bb:20": bb takes 2 parameters (bb:PERIOD:K), got 1`},
		{"vwapdist:5", `indicators: "vwapdist:5": vwapdist takes no parameters (vwapdist), got 1`},
		{"sma:", `indicators: "sma:": period must be an integer from 1 to 100000, got ""`},
		{"sma:0", `indicators: "sma:0": period must be an integer from 1 to 100000, got "0"`},
		{"sma:-5", `indicators: "sma:-5": period must be an integer from 1 to 100000, got "-5"`},
		{"ema:2.5", `indicators: "ema:2.5": period must be an integer from 1 to 100000, got "2.5"`},
		{"ema:20.0", `indicators: "ema:20.0": period must be an integer from 1 to 100000, got "20.0"`},
		{"rsi:abc", `indicators: "rsi:abc": period must be an integer from 1 to 100000, got "abc"`},
		{"rsi:1e1", `indicators: "rsi:1e1": period must be an integer from 1 to 100000, got "1e1"`},
		{"sma:100001", `indicators: "sma:100001": period must be an integer from 1 to 100000, got "100001"`},
		{"sma:99999999999999999999", `indicators: "sma:99999999999999999999": period must be an integer from 1 to 100000, got "99999999999999999999"`},
		{"macd:0:26:9", `indicators: "macd:0:26:9": fast period must be an integer from 1 to 100000, got "0"`},
		{"macd:12:x:9", `indicators: "macd:12:x:9": slow period must be an integer from 1 to 100000, got "x"`},
		{"macd:12:26:0", `indicators: "macd:12:26:0": signal period must be an integer from 1 to 100000, got "0"`},
		{"macd:26:12:9", `indicators: "macd:26:12:9": fast period (26) must be less than slow period (12)`},
		{"macd:12:12:9", `indicators: "macd:12:12:9": fast period (12) must be less than slow period (12)`},
		{"bb:0:2", `indicators: "bb:0:2": period must be an integer from 1 to 100000, got "0"`},
		{"bb:20:0", `indicators: "bb:20:0": k must be a positive number, got "0"`},
		{"bb:20:-2", `indicators: "bb:20:-2": k must be a positive number, got "-2"`},
		{"bb:20:x", `indicators: "bb:20:x": k must be a positive number, got "x"`},
		{"bb:20:NaN", `indicators: "bb:20:NaN": k must be a positive number, got "NaN"`},
		{"bb:20:inf", `indicators: "bb:20:inf": k must be a positive number, got "inf"`},
		{"bb:20:", `indicators: "bb:20:": k must be a positive number, got ""`},
		{"sma:20,,ema:12", `indicators: item 2 of "sma:20,,ema:12" is empty`},
		{"sma:20,", `indicators: item 2 of "sma:20," is empty`},
		{",", `indicators: item 1 of "," is empty`},
		{"sma:20,ema:12,sma:20", `indicators: duplicate indicator sma_20 ("sma:20" and "sma:20")`},
		{"sma:20,SMA:020", `indicators: duplicate indicator sma_20 ("sma:20" and "SMA:020")`},
		{"bb:20:2,bb:20:2.0", `indicators: duplicate indicator bb_20_2 ("bb:20:2" and "bb:20:2.0")`},
		{"vwapdist,vwapdist", `indicators: duplicate indicator vwap_distance ("vwapdist" and "vwapdist")`},
	}
	for _, tc := range tests {
		specs, err := ParseSpecs(tc.in)
		if err == nil {
			t.Errorf("ParseSpecs(%q) = %v, want error %s", tc.in, specs, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseSpecs(%q) error\n got: %s\nwant: %s", tc.in, err, tc.want)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		want string // "" for valid
	}{
		{SMA(20), ""},
		{Bollinger(20, 0.25), ""},
		{MACD(12, 26, 9), ""},
		{VWAPDistance(), ""},
		{Spec{Kind: "sma", Params: []float64{2.5}}, `indicators: "sma:2.5": period must be an integer from 1 to 100000, got 2.5`},
		{SMA(0), `indicators: "sma:0": period must be an integer from 1 to 100000, got 0`},
		{EMA(-3), `indicators: "ema:-3": period must be an integer from 1 to 100000, got -3`},
		{Spec{Kind: "rsi", Params: []float64{math.NaN()}}, `indicators: "rsi:NaN": period must be an integer from 1 to 100000, got NaN`},
		{Bollinger(20, math.Inf(1)), `indicators: "bb:20:+Inf": k must be a positive number, got +Inf`},
		{Bollinger(20, 0), `indicators: "bb:20:0": k must be a positive number, got 0`},
		{MACD(26, 12, 9), `indicators: "macd:26:12:9": fast period (26) must be less than slow period (12)`},
		{Spec{Kind: "SMA", Params: []float64{20}}, `indicators: "SMA:20": unknown indicator "SMA" (known: sma, ema, rsi, macd, bb, vwapdist)`},
		{Spec{Kind: "sma"}, `indicators: "sma": sma takes 1 parameter (sma:PERIOD), got 0`},
		{Spec{Kind: "vwapdist", Params: []float64{1}}, `indicators: "vwapdist:1": vwapdist takes no parameters (vwapdist), got 1`},
	}
	for _, tc := range tests {
		err := tc.spec.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%#v.Validate()\n got: %s\nwant: %s", tc.spec, got, tc.want)
		}
		if _, nerr := New(tc.spec); (nerr == nil) != (tc.want == "") {
			t.Errorf("New(%#v) error %v, Validate %q", tc.spec, nerr, tc.want)
		}
	}
}

func TestSpecNameString(t *testing.T) {
	tests := []struct {
		spec       Spec
		name, text string
	}{
		{SMA(20), "sma_20", "sma:20"},
		{EMA(12), "ema_12", "ema:12"},
		{RSI(14), "rsi_14", "rsi:14"},
		{MACD(12, 26, 9), "macd_12_26_9", "macd:12:26:9"},
		{Bollinger(20, 2), "bb_20_2", "bb:20:2"},
		{Bollinger(20, 2.5), "bb_20_2.5", "bb:20:2.5"},
		{Bollinger(20, 0.1), "bb_20_0.1", "bb:20:0.1"},
		{VWAPDistance(), "vwap_distance", "vwapdist"},
	}
	for _, tc := range tests {
		if got := tc.spec.Name(); got != tc.name {
			t.Errorf("%v.Name() = %q, want %q", tc.spec, got, tc.name)
		}
		if got := tc.spec.String(); got != tc.text {
			t.Errorf("String() = %q, want %q", got, tc.text)
		}
		back, err := ParseSpec(tc.spec.String())
		if err != nil || back.Name() != tc.name {
			t.Errorf("ParseSpec(%q) = %v, %v", tc.spec.String(), back, err)
		}
		ind, err := New(tc.spec)
		if err != nil || ind.Name() != tc.name || ind.Spec().String() != tc.text {
			t.Errorf("New(%v) = %v, %v", tc.spec, ind, err)
		}
	}
}

// Spec returned by an indicator is a copy: changing it does not change the
// indicator.
func TestSpecIsCopied(t *testing.T) {
	spec := SMA(3)
	ind, _ := New(spec)
	spec.Params[0] = 7
	ind.Spec().Params[0] = 9
	if ind.Name() != "sma_3" {
		t.Errorf("Name = %s after mutating specs", ind.Name())
	}
}
