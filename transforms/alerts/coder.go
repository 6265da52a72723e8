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
// runner once per input row of every rule group, in batches (ruleObsCodec).
func init() {
	beam.RegisterCoder(reflect.TypeOf(Observation{}), encodeObservation, decodeObservation)
}

var (
	ruleObsCodec = reorder.Codec[ruleObs]{Append: appendRuleObs, Read: readRuleObs}
	tickCodec    = reorder.Codec[tickbeam.Tick](wire.For[tickbeam.Tick]())
)

// appendObservation writes only the numbers a row has (wire.AppendFloats):
// a tick's Observation uses 3 of the 11.
func appendObservation(b []byte, o Observation) []byte {
	b = wire.AppendString(b, o.Symbol)
	b = wire.AppendTime(b, o.Time)
	b = wire.AppendString(b, o.ID)
	b = wire.AppendInt(b, o.Pane)
	b = wire.AppendTime(b, o.WindowStart)
	b = wire.AppendFloats(b, o.Price, o.Bid, o.Ask, o.Close, o.VWAP, o.Volume, o.Notional, o.Value, o.Ref, o.Fast, o.Slow)
	b = wire.AppendString(b, o.Name)
	return wire.AppendInt(b, int64(o.Cross))
}

func readObservation(r *wire.Reader) Observation {
	var o Observation
	o.Symbol = r.Shared()
	o.Time = r.Time()
	o.ID = r.String()
	o.Pane = r.Int()
	o.WindowStart = r.Time()
	r.Floats(&o.Price, &o.Bid, &o.Ask, &o.Close, &o.VWAP, &o.Volume, &o.Notional, &o.Value, &o.Ref, &o.Fast, &o.Slow)
	o.Name = r.Shared()
	o.Cross = int8(r.Int())
	return o
}

// appendRuleObs writes the mask's words up to its last nonzero one.
func appendRuleObs(b []byte, o ruleObs) []byte {
	b = appendObservation(b, o.Observation)
	n := len(o.rules)
	for n > 0 && o.rules[n-1] == 0 {
		n--
	}
	b = wire.AppendInt(b, int64(n))
	for _, w := range o.rules[:n] {
		b = wire.AppendInt(b, int64(w))
	}
	return b
}

func readRuleObs(r *wire.Reader) ruleObs {
	o := ruleObs{Observation: readObservation(r)}
	n := r.Int()
	if n < 0 || n > int64(len(o.rules)) {
		r.Fail(fmt.Errorf("rule mask of %d words", n))
		return o
	}
	for i := range n {
		o.rules[i] = uint64(r.Int())
	}
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
