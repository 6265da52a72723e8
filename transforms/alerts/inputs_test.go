package alerts

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/indicators"
)

func init() {
	register.Function2x0(stampIndicator)
	register.Function2x0(stampCross)
}

func stampIndicator(v tickbeam.IndicatorValue, emit func(beam.EventTime, tickbeam.IndicatorValue)) {
	emit(mtime.FromTime(v.WindowStart)+60_000-1, v)
}

func stampCross(e indicators.CrossEvent, emit func(beam.EventTime, indicators.CrossEvent)) {
	emit(mtime.FromTime(e.WindowStart)+60_000-1, e)
}

// RSI from the indicators package's rows and crossovers from its events.
func TestEvaluateIndicatorRowsAndCrosses(t *testing.T) {
	rsi := Rule{Name: "rsi-14", Kind: KindRSI, Input: InputIndicators, Resolution: "1m", Overbought: 70}
	rows := []tickbeam.IndicatorValue{
		{Symbol: "AAPL", Resolution: "1m", WindowStart: at(1), Indicator: "rsi_14", Value: 72},
		{Symbol: "AAPL", Resolution: "1m", WindowStart: at(0), Indicator: "rsi_14", Value: 65},
		{Symbol: "AAPL", Resolution: "1m", WindowStart: at(1), Indicator: "sma_20", Value: 99}, // another indicator
		{Symbol: "AAPL", Resolution: "5m", WindowStart: at(0), Indicator: "rsi_14", Value: 90}, // another resolution
	}
	gc := Rule{Name: "golden", Kind: KindMACross, Input: InputCrosses, Resolution: "1m", Fast: "sma:50", Slow: "sma:200", Direction: Golden}
	events := []indicators.CrossEvent{
		{Symbol: "AAPL", Resolution: "1m", WindowStart: at(3), Crossover: "sma_50_x_sma_200", Fast: "sma_50", Slow: "sma_200",
			Cross: indicators.CrossGolden, FastValue: 101, SlowValue: 100},
		{Symbol: "AAPL", Resolution: "1m", WindowStart: at(4), Crossover: "sma_50_x_sma_200", Fast: "sma_50", Slow: "sma_200",
			Cross: indicators.CrossDeath, FastValue: 99, SlowValue: 100},
	}
	p, s := beam.NewPipelineWithRoot()
	equalAlerts(s, evaluateRule(s, rsi, beam.ParDo(s, stampIndicator, beam.CreateList(s, rows))), []tickbeam.Alert{{
		AlertID: tickbeam.NewAlertID(rsi.Name, "AAPL", at(2)), Rule: rsi.Name, Symbol: "AAPL", Severity: tickbeam.Warning,
		EventTime: at(2), Value: 72, Threshold: 70, Message: "AAPL RSI(14) 72 is overbought (>= 70)",
		Labels: []tickbeam.Attribute{{Key: "direction", Value: "overbought"}, {Key: "kind", Value: "rsi"}, {Key: "resolution", Value: "1m"}},
	}})
	equalAlerts(s, evaluateRule(s, gc, beam.ParDo(s, stampCross, beam.CreateList(s, events))), []tickbeam.Alert{{
		AlertID: tickbeam.NewAlertID(gc.Name, "AAPL", at(4)), Rule: gc.Name, Symbol: "AAPL", Severity: tickbeam.Warning,
		EventTime: at(4), Value: 101, Threshold: 100, Message: "AAPL 1m golden_cross: sma_50 101 crossed above sma_200 100",
		Labels: []tickbeam.Attribute{{Key: "direction", Value: "golden_cross"}, {Key: "kind", Value: "ma_cross"}, {Key: "resolution", Value: "1m"}},
	}})
	ptest.RunAndValidate(t, p)
}
