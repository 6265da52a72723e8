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
	if b.enc != nil {
		return b.enc.bytes(), nil
	}
	var e batchEncoder
	if len(b.Ticks) > 0 {
		e.source, e.symbol = b.Ticks[0].Source, b.Ticks[0].Symbol
	}
	e.body = make([]byte, 0, 32*len(b.Ticks))
	for i := range b.Ticks {
		id, numeric := numericID(b.Ticks[i].TradeID)
		e.add(&b.Ticks[i], id, numeric)
	}
	return e.bytes(), nil
}

// batchEncoder encodes a batch tick by tick, so a bundle's batches are held
// encoded (a fifth of the ticks' size) and not encoded again to cross.
type batchEncoder struct {
	source, symbol                string
	n                             int64
	prevEvent, prevIngest, prevID int64
	venue, currency               string
	body                          []byte
}

func (e *batchEncoder) bytes() []byte {
	out := make([]byte, 0, len(e.source)+len(e.symbol)+16+len(e.body))
	out = wire.AppendString(out, e.source)
	out = wire.AppendString(out, e.symbol)
	out = wire.AppendInt(out, e.n)
	return append(out, e.body...)
}

// add appends t; id and numeric are numericID(t.TradeID), which the caller
// has at hand.
func (e *batchEncoder) add(t *tickbeam.Tick, id int64, numeric bool) {
	e.n++
	if t.Source != e.source || t.Symbol != e.symbol || (t.Kind != tickbeam.Trade && t.Kind != tickbeam.Quote) ||
		(t.Side != tickbeam.Buy && t.Side != tickbeam.Sell && t.Side != tickbeam.Unknown) ||
		t.EventTime.IsZero() || t.IngestTime.IsZero() {
		e.body = append(e.body, flagRaw)
		e.body = tickCodec.Append(e.body, *t)
		return
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
	if t.Venue != e.venue {
		flags |= flagVenue
	}
	if t.Currency != e.currency {
		flags |= flagCurrency
	}
	if t.PrevClose != 0 {
		flags |= flagPrevClose
	}
	e.body = append(e.body, flags)
	ev, in := t.EventTime.UnixNano(), t.IngestTime.UnixNano()
	e.body = wire.AppendInt(e.body, ev-e.prevEvent)
	e.body = wire.AppendInt(e.body, in-e.prevIngest)
	e.prevEvent, e.prevIngest = ev, in
	e.body = wire.AppendFloat(e.body, t.Price)
	e.body = wire.AppendFloat(e.body, t.Size)
	if flags&flagQuote != 0 {
		for _, f := range [...]float64{t.BidPrice, t.BidSize, t.AskPrice, t.AskSize} {
			e.body = wire.AppendFloat(e.body, f)
		}
	}
	if flags&flagPrevClose != 0 {
		e.body = wire.AppendFloat(e.body, t.PrevClose)
	}
	if numeric {
		e.body = wire.AppendInt(e.body, id-e.prevID)
		e.prevID = id
	} else {
		e.body = wire.AppendString(e.body, t.TradeID)
	}
	if flags&flagVenue != 0 {
		e.body = wire.AppendString(e.body, t.Venue)
		e.venue = t.Venue
	}
	if flags&flagCurrency != 0 {
		e.body = wire.AppendString(e.body, t.Currency)
		e.currency = t.Currency
	}
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
