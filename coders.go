package tickbeam

import (
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Hand-written coders: Beam's reflective schema coder costs several times more
// per element, and ticks are the hottest elements in every pipeline.
func init() {
	beam.RegisterCoder(reflect.TypeOf(Tick{}), encodeTick, decodeTick)
	beam.RegisterCoder(reflect.TypeOf(Bar{}), encodeBar, decodeBar)
	beam.RegisterCoder(reflect.TypeOf(DeadLetter{}), encodeDeadLetter, decodeDeadLetter)
	beam.RegisterCoder(reflect.TypeOf(Alert{}), encodeAlert, decodeAlert)
	// tickbeam's own batch coders (dedupe, tickrule, alerts, enrich) embed
	// ticks and price changes: they get these codecs from wire.For.
	wire.Register(wire.Codec[Tick]{Append: appendTick, Read: readTick})
	wire.Register(wire.Codec[PriceChange]{Append: appendPriceChange, Read: readPriceChange})
}

func appendAttributes(b []byte, as []Attribute) []byte {
	b = wire.AppendInt(b, int64(len(as)))
	for _, a := range as {
		b = wire.AppendString(b, a.Key)
		b = wire.AppendString(b, a.Value)
	}
	return b
}

// readAttributes reads what appendAttributes wrote; size bounds the count,
// so a corrupt count fails instead of allocating.
func readAttributes(r *wire.Reader, size int) ([]Attribute, error) {
	n := r.Int()
	if n < 0 || n > int64(size) {
		return nil, fmt.Errorf("bad attribute count %d", n)
	}
	var as []Attribute
	for i := int64(0); i < n && r.Err() == nil; i++ {
		as = append(as, Attribute{Key: r.String(), Value: r.String()})
	}
	return as, nil
}

// The usual kinds and sides, one byte each on the wire (wire.AppendEnum).
var (
	tickKinds = []string{string(Trade), string(Quote)}
	tickSides = []string{string(Buy), string(Sell), string(Unknown)}
)

// appendTick appends the binary form of t to b: the Beam coder tickbeam
// registers for Tick, which Beam applies by itself. Code outside tickbeam
// encodes Ticks as JSON (the public schema).
func appendTick(b []byte, t Tick) []byte {
	b = wire.AppendString(b, t.Symbol)
	b = wire.AppendString(b, t.Venue)
	b = wire.AppendEnum(b, string(t.Kind), tickKinds)
	b = wire.AppendTime(b, t.EventTime)
	b = wire.AppendTimeSince(b, t.IngestTime, t.EventTime)
	b = wire.AppendFloats(b, t.Price, t.Size, t.BidPrice, t.BidSize, t.AskPrice, t.AskSize, t.PrevClose)
	b = wire.AppendEnum(b, string(t.Side), tickSides)
	b = wire.AppendString(b, t.TradeID)
	b = wire.AppendString(b, t.Source)
	return wire.AppendString(b, t.Currency)
}

// readTick reads a Tick written by appendTick.
func readTick(r *wire.Reader) Tick {
	var t Tick
	t.Symbol = r.Shared()
	t.Venue = r.Shared()
	t.Kind = Kind(r.Enum(tickKinds))
	t.EventTime = r.Time()
	t.IngestTime = r.TimeSince(t.EventTime)
	r.Floats(&t.Price, &t.Size, &t.BidPrice, &t.BidSize, &t.AskPrice, &t.AskSize, &t.PrevClose)
	t.Side = Side(r.Enum(tickSides))
	t.TradeID = r.String()
	t.Source = r.Shared()
	t.Currency = r.Shared()
	return t
}

func encodeTick(t Tick) ([]byte, error) { return appendTick(make([]byte, 0, 96), t), nil }

func decodeTick(b []byte) (Tick, error) {
	r := wire.NewReader(b)
	t := readTick(r)
	if err := r.Err(); err != nil {
		return Tick{}, fmt.Errorf("decode Tick: %w", err)
	}
	return t, nil
}

func encodeBar(x Bar) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = wire.AppendString(b, x.Symbol)
	b = wire.AppendString(b, x.Resolution)
	b = wire.AppendTime(b, x.WindowStart)
	b = wire.AppendTime(b, x.WindowEnd)
	for _, f := range [...]float64{x.Open, x.High, x.Low, x.Close, x.Volume, x.Notional, x.VWAP, x.BuyVolume, x.SellVolume} {
		b = wire.AppendFloat(b, f)
	}
	b = wire.AppendInt(b, x.Trades)
	b = wire.AppendString(b, string(x.Timing))
	return wire.AppendInt(b, x.PaneIndex), nil
}

func decodeBar(b []byte) (Bar, error) {
	r := wire.NewReader(b)
	var x Bar
	x.Symbol = r.String()
	x.Resolution = r.String()
	x.WindowStart = r.Time()
	x.WindowEnd = r.Time()
	for _, f := range [...]*float64{&x.Open, &x.High, &x.Low, &x.Close, &x.Volume, &x.Notional, &x.VWAP, &x.BuyVolume, &x.SellVolume} {
		*f = r.Float()
	}
	x.Trades = r.Int()
	x.Timing = Timing(r.String())
	x.PaneIndex = r.Int()
	if err := r.Err(); err != nil {
		return Bar{}, fmt.Errorf("decode Bar: %w", err)
	}
	return x, nil
}

func encodeDeadLetter(d DeadLetter) ([]byte, error) {
	b := make([]byte, 0, 64+2*len(d.PayloadBytes))
	b = wire.AppendTime(b, d.Timestamp)
	b = wire.AppendString(b, d.PayloadString)
	b = wire.AppendBytes(b, d.PayloadBytes)
	b = appendAttributes(b, d.Attributes)
	b = wire.AppendString(b, d.ErrorMessage)
	b = wire.AppendString(b, d.Stage)
	return wire.AppendString(b, d.Source), nil
}

func decodeDeadLetter(b []byte) (DeadLetter, error) {
	r := wire.NewReader(b)
	var d DeadLetter
	d.Timestamp = r.Time()
	d.PayloadString = r.String()
	d.PayloadBytes = r.Bytes()
	var err error
	if d.Attributes, err = readAttributes(r, len(b)); err != nil {
		return DeadLetter{}, fmt.Errorf("decode DeadLetter: %w", err)
	}
	d.ErrorMessage = r.String()
	d.Stage = r.String()
	d.Source = r.String()
	if err := r.Err(); err != nil {
		return DeadLetter{}, fmt.Errorf("decode DeadLetter: %w", err)
	}
	return d, nil
}

func encodeAlert(a Alert) ([]byte, error) {
	b := make([]byte, 0, 160)
	for _, s := range [...]string{a.AlertID, a.Rule, a.Symbol, string(a.Severity)} {
		b = wire.AppendString(b, s)
	}
	b = wire.AppendTime(b, a.EventTime)
	b = wire.AppendTime(b, a.DetectedAt)
	b = wire.AppendFloat(b, a.Value)
	b = wire.AppendFloat(b, a.Threshold)
	b = wire.AppendString(b, a.Message)
	return appendAttributes(b, a.Labels), nil
}

func decodeAlert(b []byte) (Alert, error) {
	r := wire.NewReader(b)
	var a Alert
	a.AlertID = r.String()
	a.Rule = r.String()
	a.Symbol = r.String()
	a.Severity = Severity(r.String())
	a.EventTime = r.Time()
	a.DetectedAt = r.Time()
	a.Value = r.Float()
	a.Threshold = r.Float()
	a.Message = r.String()
	var err error
	if a.Labels, err = readAttributes(r, len(b)); err != nil {
		return Alert{}, fmt.Errorf("decode Alert: %w", err)
	}
	if err := r.Err(); err != nil {
		return Alert{}, fmt.Errorf("decode Alert: %w", err)
	}
	return a, nil
}
