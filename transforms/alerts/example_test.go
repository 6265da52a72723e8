package alerts_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/transforms/alerts"
)

// A rules file is checked whole: every problem, with its line and field.
func ExampleParseRules() {
	_, err := alerts.ParseRules(strings.NewReader(`rules:
  - name: move-5pct
    kind: change_pct
    threshold: 0
    cooldwn: 30m
`), "rules.yaml")
	fmt.Println(err)
	// Output:
	// rules.yaml:4: rules[0].threshold: must be > 0
	// rules.yaml:5: rules[0].cooldwn: unknown field (did you mean cooldown?)
}

// The pure core of a rule: seed 002's "below a level" with hysteresis.
func ExampleNewEvaluator() {
	ev, err := alerts.NewEvaluator(alerts.Rule{Name: "btc-below-60k", Kind: alerts.KindPriceLevel,
		Direction: alerts.Below, Threshold: 60000, Band: 500})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	for i, p := range []float64{60100, 59990, 59900, 60200, 59800, 60600, 59950} {
		for _, a := range ev.Observe(alerts.Observation{Symbol: "BTCUSDT", Time: t0.Add(time.Duration(i) * time.Minute), Price: p}) {
			fmt.Println(a.EventTime.Format("15:04"), a.Severity, a.Message)
		}
	}
	// Output:
	// 14:31 WARNING BTCUSDT price 59990 is at or below 60000
	// 14:36 WARNING BTCUSDT price 59950 is at or below 60000
}

// Apply builds a rules file on a pipeline's collections.
func ExampleApply() {
	rs, err := alerts.ParseRules(strings.NewReader(`rules:
  - name: move-5pct
    kind: change_pct
    threshold: 5
`), "rules.yaml")
	if err != nil {
		panic(err)
	}
	_, s := beam.NewPipelineWithRoot()
	_, err = alerts.TryApply(s, alerts.Inputs{}, rs) // no Changes: a build-time error
	fmt.Println(err)
	// Output:
	// alerts.Apply: rule move-5pct (change_pct, rules.yaml:2) reads changes, but Inputs.Changes is not set
}
