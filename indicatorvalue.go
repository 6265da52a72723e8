package tickbeam

import (
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// IndicatorValue is one technical indicator's value on one bar, in long
// format: one row per indicator per bar. WindowStart is the start of the bar
// it closes on; Indicator is the spec's name (sma_20, ema_12, rsi_14,
// macd_12_26_9, bb_20_2, vwap_distance).
//
// Value is the indicator's line: the SMA, EMA or RSI, the MACD line, the
// Bollinger middle band, the VWAP distance. The other columns belong to some
// indicators only and are nil (JSON null, BigQuery NULL) for the rest: Signal
// and Histogram for MACD, Upper and Lower for Bollinger. They are pointers
// rather than 0 because 0 is a real MACD histogram or band value, and
// io/bigqueryx maps pointer fields to NULLABLE FLOAT columns.
type IndicatorValue struct {
	Symbol      string    `json:"symbol"`
	Resolution  string    `json:"resolution"`
	WindowStart time.Time `json:"window_start"`
	Indicator   string    `json:"indicator"`
	Value       float64   `json:"value"`
	Signal      *float64  `json:"signal"`
	Histogram   *float64  `json:"histogram"`
	Upper       *float64  `json:"upper"`
	Lower       *float64  `json:"lower"`
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(IndicatorValue{}), encodeIndicatorValue, decodeIndicatorValue)
}

// optionals lists the nullable columns in wire order.
func (v *IndicatorValue) optionals() [4]**float64 {
	return [4]**float64{&v.Signal, &v.Histogram, &v.Upper, &v.Lower}
}

func encodeIndicatorValue(v IndicatorValue) ([]byte, error) {
	b := make([]byte, 0, 80)
	b = wire.AppendString(b, v.Symbol)
	b = wire.AppendString(b, v.Resolution)
	b = wire.AppendTime(b, v.WindowStart)
	b = wire.AppendString(b, v.Indicator)
	b = wire.AppendFloat(b, v.Value)
	// One presence bit per nullable column, then the present values.
	var present int64
	opts := v.optionals()
	for i, p := range opts {
		if *p != nil {
			present |= 1 << i
		}
	}
	b = wire.AppendInt(b, present)
	for _, p := range opts {
		if *p != nil {
			b = wire.AppendFloat(b, **p)
		}
	}
	return b, nil
}

func decodeIndicatorValue(b []byte) (IndicatorValue, error) {
	r := wire.NewReader(b)
	var v IndicatorValue
	v.Symbol = r.String()
	v.Resolution = r.String()
	v.WindowStart = r.Time()
	v.Indicator = r.String()
	v.Value = r.Float()
	present := r.Int()
	if present < 0 || present >= 1<<4 {
		return IndicatorValue{}, fmt.Errorf("decode IndicatorValue: bad presence bits %#x", present)
	}
	for i, p := range v.optionals() {
		if present&(1<<i) != 0 {
			f := r.Float()
			*p = &f
		}
	}
	if err := r.Err(); err != nil {
		return IndicatorValue{}, fmt.Errorf("decode IndicatorValue: %w", err)
	}
	return v, nil
}
