package alerts

import (
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// A hand-written coder, as the root package's: Observations cross the
// runner once per input row of every rule.
func init() {
	beam.RegisterCoder(reflect.TypeOf(Observation{}), encodeObservation, decodeObservation)
}

func encodeObservation(o Observation) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = wire.AppendString(b, o.Symbol)
	b = wire.AppendTime(b, o.Time)
	b = wire.AppendString(b, o.ID)
	b = wire.AppendInt(b, o.Pane)
	b = wire.AppendTime(b, o.WindowStart)
	for _, f := range [...]float64{o.Price, o.Bid, o.Ask, o.Close, o.VWAP, o.Volume, o.Notional, o.Value, o.Ref, o.Fast, o.Slow} {
		b = wire.AppendFloat(b, f)
	}
	b = wire.AppendString(b, o.Name)
	return wire.AppendInt(b, int64(o.Cross)), nil
}

func decodeObservation(b []byte) (Observation, error) {
	r := wire.NewReader(b)
	var o Observation
	o.Symbol = r.String()
	o.Time = r.Time()
	o.ID = r.String()
	o.Pane = r.Int()
	o.WindowStart = r.Time()
	for _, f := range [...]*float64{&o.Price, &o.Bid, &o.Ask, &o.Close, &o.VWAP, &o.Volume, &o.Notional, &o.Value, &o.Ref, &o.Fast, &o.Slow} {
		*f = r.Float()
	}
	o.Name = r.String()
	o.Cross = int8(r.Int())
	if err := r.Err(); err != nil {
		return Observation{}, fmt.Errorf("decode Observation: %w", err)
	}
	return o, nil
}
