package alerts

import (
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Hand-written coders, as the root package's: Observations cross the runner
// once per input row of every rule, and alerts have no coder elsewhere yet.
func init() {
	beam.RegisterCoder(reflect.TypeOf(Observation{}), encodeObservation, decodeObservation)
	beam.RegisterCoder(reflect.TypeOf(tickbeam.Alert{}), encodeAlert, decodeAlert)
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

func encodeAlert(a tickbeam.Alert) ([]byte, error) {
	b := make([]byte, 0, 160)
	for _, s := range [...]string{a.AlertID, a.Rule, a.Symbol, string(a.Severity)} {
		b = wire.AppendString(b, s)
	}
	b = wire.AppendTime(b, a.EventTime)
	b = wire.AppendTime(b, a.DetectedAt)
	b = wire.AppendFloat(b, a.Value)
	b = wire.AppendFloat(b, a.Threshold)
	b = wire.AppendString(b, a.Message)
	b = wire.AppendInt(b, int64(len(a.Labels)))
	for _, l := range a.Labels {
		b = wire.AppendString(b, l.Key)
		b = wire.AppendString(b, l.Value)
	}
	return b, nil
}

func decodeAlert(b []byte) (tickbeam.Alert, error) {
	r := wire.NewReader(b)
	var a tickbeam.Alert
	a.AlertID = r.String()
	a.Rule = r.String()
	a.Symbol = r.String()
	a.Severity = tickbeam.Severity(r.String())
	a.EventTime = r.Time()
	a.DetectedAt = r.Time()
	a.Value = r.Float()
	a.Threshold = r.Float()
	a.Message = r.String()
	n := r.Int()
	if n < 0 || n > int64(len(b)) {
		return tickbeam.Alert{}, fmt.Errorf("decode Alert: bad label count %d", n)
	}
	for range n {
		a.Labels = append(a.Labels, tickbeam.Attribute{Key: r.String(), Value: r.String()})
	}
	if err := r.Err(); err != nil {
		return tickbeam.Alert{}, fmt.Errorf("decode Alert: %w", err)
	}
	return a, nil
}
