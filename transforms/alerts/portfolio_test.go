package alerts

import (
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
)

func init() { register.Function2x0(stampPortfolioRow) }

// stampPortfolioRow timestamps a row as portfolio.Compute does: its window's
// end less 1 ms.
func stampPortfolioRow(r tickbeam.PortfolioRow, emit func(beam.EventTime, tickbeam.PortfolioRow)) {
	emit(mtime.FromTime(r.WindowEnd)-1, r)
}

const portfolioRules = `rules:
  - name: dd-5
    kind: drawdown
    threshold: 5
    band: 1
  - name: aapl-under-1950
    kind: position_value
    symbols: [AAPL]
    direction: below
    threshold: 1950
  - name: book-over-1m
    kind: position_value
    symbols: ["[*]USD"]
    direction: above
    threshold: 1000000
    severity: INFO
`

// Drawdown fires at 5% and re-arms below 4% (band 1); position_value fires
// at or beyond its level; the totals are *USD and *KRW, apart.
func TestPortfolioRules(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(portfolioRules), "portfolio.yaml")
	if err != nil {
		t.Fatal(err)
	}
	row := func(sym, cur string, n int, value, dd float64) tickbeam.PortfolioRow {
		return tickbeam.PortfolioRow{Symbol: sym, Currency: cur, Resolution: "1m", WindowStart: at(n - 1), WindowEnd: at(n),
			MarketValue: value, DrawdownPct: dd}
	}
	rows := []tickbeam.PortfolioRow{
		row("AAPL", "USD", 1, 2000, 0),
		row("AAPL", "USD", 2, 1900, 5), // dd-5 fires; under 1950 fires
		row("AAPL", "USD", 3, 1890, 5.5),
		row("AAPL", "USD", 4, 1960, 3.9), // both re-armed: 3.9 < 5 - 1, 1960 > 1950
		row("AAPL", "USD", 5, 1900, 5),   // both fire again
		row("*", "USD", 1, 900_000, 0),
		row("*", "USD", 2, 1_000_000, 6), // both fire for the USD total
		row("*", "KRW", 2, 5_000_000, 1), // above 1M, but not USD
	}
	lbl := func(kv ...string) []tickbeam.Attribute {
		var ls []tickbeam.Attribute
		for i := 0; i < len(kv); i += 2 {
			ls = append(ls, tickbeam.Attribute{Key: kv[i], Value: kv[i+1]})
		}
		return ls
	}
	alert := func(rule, sym string, n int, sev tickbeam.Severity, v, th float64, msg string, labels []tickbeam.Attribute) tickbeam.Alert {
		return tickbeam.Alert{AlertID: tickbeam.NewAlertID(rule, sym, at(n)), Rule: rule, Symbol: sym, Severity: sev, EventTime: at(n),
			Value: v, Threshold: th, Message: msg, Labels: labels}
	}
	want := []tickbeam.Alert{
		alert("dd-5", "AAPL", 2, tickbeam.Warning, 5, 5, "AAPL is 5% below its peak (limit 5%)", lbl("currency", "USD", "kind", "drawdown")),
		alert("dd-5", "AAPL", 5, tickbeam.Warning, 5, 5, "AAPL is 5% below its peak (limit 5%)", lbl("currency", "USD", "kind", "drawdown")),
		alert("dd-5", "*USD", 2, tickbeam.Warning, 6, 5, "portfolio USD is 6% below its peak (limit 5%)", lbl("currency", "USD", "kind", "drawdown")),
		alert("aapl-under-1950", "AAPL", 2, tickbeam.Warning, 1900, 1950, "AAPL value 1900 USD is at or below 1950",
			lbl("currency", "USD", "direction", "below", "kind", "position_value")),
		alert("aapl-under-1950", "AAPL", 5, tickbeam.Warning, 1900, 1950, "AAPL value 1900 USD is at or below 1950",
			lbl("currency", "USD", "direction", "below", "kind", "position_value")),
		alert("book-over-1m", "*USD", 2, tickbeam.Info, 1e6, 1e6, "portfolio USD value 1e+06 USD is at or above 1e+06",
			lbl("currency", "USD", "direction", "above", "kind", "position_value")),
	}
	p, s := beam.NewPipelineWithRoot()
	out, err := TryApply(s, Inputs{Portfolio: beam.ParDo(s, stampPortfolioRow, beam.CreateList(s, rows))}, rs)
	if err != nil {
		t.Fatal(err)
	}
	equalAlerts(s, out.Alerts, want)
	ptest.RunAndValidate(t, p)

	// Without portfolio rows, Apply names the rules that need them.
	if _, err := TryApply(s, Inputs{}, rs); err == nil || !strings.Contains(err.Error(), "reads portfolio, but Inputs.Portfolio is not set") {
		t.Errorf("Apply without Inputs.Portfolio: %v", err)
	}
}

func TestPortfolioRuleValidation(t *testing.T) {
	for _, c := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "a", Kind: KindDrawdown, Threshold: 100}, "threshold: must be a percent between 0 and 100"},
		{Rule{Name: "a", Kind: KindDrawdown, Threshold: 5, Direction: Above}, "direction: not used by kind drawdown"},
		{Rule{Name: "a", Kind: KindPositionValue, Threshold: 5}, "direction: required (want above or below)"},
		{Rule{Name: "a", Kind: KindPositionValue, Direction: Below, Threshold: 5, Input: InputBars}, `input: position_value cannot read "bars" (want portfolio)`},
		{Rule{Name: "a", Kind: KindPositionValue, Direction: Below, Threshold: 5, Resolution: "1m"}, "resolution: not used by kind position_value"},
	} {
		if err := c.rule.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.rule, err, c.want)
		}
	}
}
