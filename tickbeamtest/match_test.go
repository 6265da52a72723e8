package tickbeamtest_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func minuteBars(s beam.Scope, ticks []tickbeam.Tick) beam.PCollection {
	return bars.Compute(s, tickbeamtest.Ticks(s, ticks...), bars.Options{Resolutions: []bars.Resolution{bars.Resolution(time.Minute)}})[bars.Resolution(time.Minute)]
}

// The matcher passes what it should and fails, with a diff naming the
// field, what it should not; each case runs a pipeline.
func TestAssertBars(t *testing.T) {
	ticks := tickbeamtest.Walk{Symbols: []string{"BTCUSDT", "ETHUSDT"}, Start: t0, Every: time.Second, Seed: 1}.Ticks(240)
	exact := tickbeamtest.BarsOf(time.Minute, ticks...)
	nudge := func(d float64) []tickbeam.Bar {
		b := append([]tickbeam.Bar(nil), exact...)
		b[3].Close *= 1 + d
		return b
	}
	cases := []struct {
		name    string
		m       tickbeamtest.Match
		want    []tickbeam.Bar
		wantErr []string // substrings of the pipeline's error; none: it passes
	}{
		{"exact", tickbeamtest.DefaultMatch, exact, nil},
		{"within tolerance", tickbeamtest.DefaultMatch, nudge(1e-12), nil},
		{"beyond tolerance", tickbeamtest.DefaultMatch, nudge(1e-6), []string{"Close:", "-want +got"}},
		{"looser tolerance", tickbeamtest.Match{Fraction: 1e-5}, nudge(1e-6), nil},
		{"missing bar", tickbeamtest.DefaultMatch, exact[1:], []string{"got 8, want 7"}},
		{"ignored field", tickbeamtest.Match{Ignore: []string{"Close"}}, nudge(0.5), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			tickbeamtest.Assert(s, c.m, minuteBars(s, ticks), c.want...)
			err := ptest.Run(p)
			if len(c.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want a pass, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("the pipeline passed, want it to fail")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestAssertEmpty(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	tickbeamtest.AssertBars(s, minuteBars(s, []tickbeam.Tick{tickbeamtest.Quote("A", t0, 1, 2)}))
	ptest.RunAndValidate(t, p)

	p, s = beam.NewPipelineWithRoot()
	tickbeamtest.AssertBars(s, minuteBars(s, []tickbeam.Tick{tickbeamtest.Trade("A", t0, 1, 2)}))
	if err := ptest.Run(p); err == nil || !strings.Contains(err.Error(), "got 1, want 0") {
		t.Errorf("a bar where none is wanted: err %v", err)
	}
}

// Fields set from the wall clock are not compared; others are.
func TestDiffIgnoresWallClockFields(t *testing.T) {
	one := 1.0
	at := t0.Add(time.Minute)
	alert := tickbeam.Alert{AlertID: "x", Rule: "r", Symbol: "A", EventTime: at, DetectedAt: time.Now(), Value: 1}
	later := alert
	later.DetectedAt = alert.DetectedAt.Add(time.Hour)
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, []tickbeam.Alert{alert}, []tickbeam.Alert{later}); d != "" {
		t.Errorf("alerts differing in DetectedAt only: %s", d)
	}
	later.Value = 2
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, []tickbeam.Alert{alert}, []tickbeam.Alert{later}); d == "" {
		t.Error("alerts differing in Value match")
	}
	dl := tickbeam.NewDeadLetter(time.Now(), []byte("x"), nil, tickbeam.StageParse, "test", errSentinel)
	dl2 := dl
	dl2.Timestamp = time.Time{}
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, []tickbeam.DeadLetter{dl}, []tickbeam.DeadLetter{dl2}); d != "" {
		t.Errorf("dead letters differing in Timestamp only: %s", d)
	}
	nan := math.NaN()
	iv := tickbeam.IndicatorValue{Symbol: "A", Indicator: "macd_12_26_9", Value: nan, Signal: &one}
	iv2 := iv
	two := 1 + 1e-12
	iv2.Signal = &two
	if d := tickbeamtest.Diff(tickbeamtest.DefaultMatch, []tickbeam.IndicatorValue{iv}, []tickbeam.IndicatorValue{iv2}); d != "" {
		t.Errorf("indicator values equal within tolerance, NaN included: %s", d)
	}
}

type sentinel string

func (s sentinel) Error() string { return string(s) }

const errSentinel = sentinel("bad")
