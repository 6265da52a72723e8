package alerts

import (
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// A hand-written coder, as the root package's: Observations cross the
// runner once per input row of every rule, in batches (obsCodec).
func init() {
	beam.RegisterCoder(reflect.TypeOf(Observation{}), encodeObservation, decodeObservation)
}

var (
	obsCodec  = reorder.Codec[Observation]{Append: appendObservation, Read: readObservation}
	tickCodec = reorder.Codec[tickbeam.Tick]{Append: tickbeam.AppendTick, Read: tickbeam.ReadTick}
)

func appendObservation(b []byte, o Observation) []byte {
	b = wire.AppendString(b, o.Symbol)
	b = wire.AppendTime(b, o.Time)
	b = wire.AppendString(b, o.ID)
	b = wire.AppendInt(b, o.Pane)
	b = wire.AppendTime(b, o.WindowStart)
	for _, f := range [...]float64{o.Price, o.Bid, o.Ask, o.Close, o.VWAP, o.Volume, o.Notional, o.Value, o.Ref, o.Fast, o.Slow} {
		b = wire.AppendFloat(b, f)
	}
	b = wire.AppendString(b, o.Name)
	return wire.AppendInt(b, int64(o.Cross))
}

func readObservation(r *wire.Reader) Observation {
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
	return o
}

func encodeObservation(o Observation) ([]byte, error) {
	return appendObservation(make([]byte, 0, 128), o), nil
}

func decodeObservation(b []byte) (Observation, error) {
	r := wire.NewReader(b)
	o := readObservation(r)
	if err := r.Err(); err != nil {
		return Observation{}, fmt.Errorf("decode Observation: %w", err)
	}
	return o, nil
}
