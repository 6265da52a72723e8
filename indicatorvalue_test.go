package tickbeam

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr(f float64) *float64 { return &f }

func TestIndicatorValueCoderRoundTrip(t *testing.T) {
	start := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		v    IndicatorValue
	}{
		{"sma: no optional columns", IndicatorValue{Symbol: "AAPL", Resolution: "1m", WindowStart: start, Indicator: "sma_20", Value: 231.5}},
		{"macd: signal and histogram", IndicatorValue{Symbol: "AAPL", Resolution: "1m", WindowStart: start, Indicator: "macd_12_26_9",
			Value: 0.5, Signal: ptr(0.25), Histogram: ptr(0)}},
		{"bollinger: bands", IndicatorValue{Symbol: "BTCUSDT", Resolution: "5m", WindowStart: start, Indicator: "bb_20_2",
			Value: 100, Upper: ptr(104), Lower: ptr(-0.0)}},
		{"zero", IndicatorValue{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := encodeIndicatorValue(c.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeIndicatorValue(b)
			if err != nil {
				t.Fatal(err)
			}
			// A present 0 must stay present: it is a value, not NULL.
			if diff := cmp.Diff(c.v, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if _, err := decodeIndicatorValue(b[:len(b)-1]); err == nil {
				t.Error("truncated value decoded without error")
			}
		})
	}
}

func TestIndicatorValueDecodeRejectsBadPresence(t *testing.T) {
	b, _ := encodeIndicatorValue(IndicatorValue{Symbol: "X"})
	b[len(b)-1] = 0x20 // zig-zag 16: a fifth presence bit
	if _, err := decodeIndicatorValue(b); err == nil {
		t.Error("presence bits beyond the four nullable columns decoded without error")
	}
}
