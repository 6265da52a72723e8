package dedupe

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// A Batch crosses the runner for every tick it holds, so its coder writes
// what the ticks share (source, symbol) once and each tick as deltas: about a
// fifth of the bytes of the ticks coded one by one, which is most of the cost
// of the shuffle on prism.

const (
	flagQuote     = 1 << iota // Kind QUOTE (else TRADE)
	flagBuy                   // Side BUY
	flagSell                  // Side SELL (neither: UNKNOWN)
	flagNumericID             // TradeID is a decimal number: delta follows
	flagVenue                 // Venue differs from the previous tick's: string follows
	flagCurrency              // Currency differs from the previous tick's: string follows
	flagPrevClose             // PrevClose follows
	flagRaw                   // anything unusual: the whole tick follows (tickCodec)
)

// tickCodec is the root package's binary form of a Tick.
var tickCodec = wire.For[tickbeam.Tick]()

func encodeBatch(b Batch) ([]byte, error) {
	out := make([]byte, 0, 16+32*len(b.Ticks))
	var source, symbol string
	if len(b.Ticks) > 0 {
		source, symbol = b.Ticks[0].Source, b.Ticks[0].Symbol
	}
	out = wire.AppendString(out, source)
	out = wire.AppendString(out, symbol)
	out = wire.AppendInt(out, int64(len(b.Ticks)))
	var prevEvent, prevIngest, prevID int64
	var venue, currency string
	for i := range b.Ticks {
		t := &b.Ticks[i]
		id, numeric := numericID(t.TradeID)
		if t.Source != source || t.Symbol != symbol || (t.Kind != tickbeam.Trade && t.Kind != tickbeam.Quote) ||
			(t.Side != tickbeam.Buy && t.Side != tickbeam.Sell && t.Side != tickbeam.Unknown) ||
			t.EventTime.IsZero() || t.IngestTime.IsZero() {
			out = append(out, flagRaw)
			out = tickCodec.Append(out, *t)
			continue
		}
		var flags byte
		if t.Kind == tickbeam.Quote {
			flags |= flagQuote
		}
		switch t.Side {
		case tickbeam.Buy:
			flags |= flagBuy
		case tickbeam.Sell:
			flags |= flagSell
		}
		if numeric {
			flags |= flagNumericID
		}
		if t.Venue != venue {
			flags |= flagVenue
		}
		if t.Currency != currency {
			flags |= flagCurrency
		}
		if t.PrevClose != 0 {
			flags |= flagPrevClose
		}
		out = append(out, flags)
		ev, in := t.EventTime.UnixNano(), t.IngestTime.UnixNano()
		out = wire.AppendInt(out, ev-prevEvent)
		out = wire.AppendInt(out, in-prevIngest)
		prevEvent, prevIngest = ev, in
		out = wire.AppendFloat(out, t.Price)
		out = wire.AppendFloat(out, t.Size)
		if flags&flagQuote != 0 {
			for _, f := range [...]float64{t.BidPrice, t.BidSize, t.AskPrice, t.AskSize} {
				out = wire.AppendFloat(out, f)
			}
		}
		if flags&flagPrevClose != 0 {
			out = wire.AppendFloat(out, t.PrevClose)
		}
		if numeric {
			out = wire.AppendInt(out, id-prevID)
			prevID = id
		} else {
			out = wire.AppendString(out, t.TradeID)
		}
		if flags&flagVenue != 0 {
			out = wire.AppendString(out, t.Venue)
			venue = t.Venue
		}
		if flags&flagCurrency != 0 {
			out = wire.AppendString(out, t.Currency)
			currency = t.Currency
		}
	}
	return out, nil
}

// numericID reports a trade id that round-trips through int64 exactly (no
// sign, no leading zeros, at most 18 digits).
func numericID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func decodeBatch(data []byte) (Batch, error) {
	r := wire.NewReader(data)
	source, symbol := r.String(), r.String()
	n := r.Int()
	if r.Err() != nil || n < 0 || n > int64(len(data)) {
		return Batch{}, fmt.Errorf("decode dedupe.Batch: bad header (count %d, %v)", n, r.Err())
	}
	b := Batch{Ticks: make([]tickbeam.Tick, 0, n)}
	var prevEvent, prevIngest, prevID int64
	var venue, currency string
	var flag [1]byte
	for i := int64(0); i < n && r.Err() == nil; i++ {
		flags := r.Raw(flag[:])[0]
		if flags&flagRaw != 0 {
			b.Ticks = append(b.Ticks, tickCodec.Read(r))
			continue
		}
		t := tickbeam.Tick{Source: source, Symbol: symbol, Kind: tickbeam.Trade, Side: tickbeam.Unknown}
		if flags&flagQuote != 0 {
			t.Kind = tickbeam.Quote
		}
		switch {
		case flags&flagBuy != 0:
			t.Side = tickbeam.Buy
		case flags&flagSell != 0:
			t.Side = tickbeam.Sell
		}
		prevEvent += r.Int()
		prevIngest += r.Int()
		t.EventTime = time.Unix(0, prevEvent).UTC()
		t.IngestTime = time.Unix(0, prevIngest).UTC()
		t.Price = r.Float()
		t.Size = r.Float()
		if flags&flagQuote != 0 {
			t.BidPrice, t.BidSize, t.AskPrice, t.AskSize = r.Float(), r.Float(), r.Float(), r.Float()
		}
		if flags&flagPrevClose != 0 {
			t.PrevClose = r.Float()
		}
		if flags&flagNumericID != 0 {
			prevID += r.Int()
			t.TradeID = strconv.FormatInt(prevID, 10)
		} else {
			t.TradeID = r.String()
		}
		if flags&flagVenue != 0 {
			venue = r.String()
		}
		if flags&flagCurrency != 0 {
			currency = r.String()
		}
		t.Venue, t.Currency = venue, currency
		b.Ticks = append(b.Ticks, t)
	}
	if err := r.Err(); err != nil {
		return Batch{}, fmt.Errorf("decode dedupe.Batch: %w", err)
	}
	return b, nil
}
