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
// of the shuffle on prism. Prices and sizes are decimals (wire.AppendDecimal),
// each the difference from the tick before.

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
	switch {
	case b.raw != nil:
		return b.raw, nil
	case b.enc != nil:
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
	ascending                     bool  // every trade id a number above the one before
	firstID, lastID               int64 // while ascending
	prevEvent, prevIngest, prevID int64
	prevPrice, prevSize           int64 // wire.Decimal forms
	venue, currency               string
	mixed                         bool  // a tick of another source or symbol than the header's
	first, last                   int64 // the earliest and latest event time (Unix ns)
	body                          []byte
}

// The header: source, symbol, the count, then the range of the trade ids
// when they ascend as numbers (1, first, last; else 0), which tells uniqueFn
// that batches cannot share a tick without decoding them, then the range of
// the event times when every tick is of the header's source and symbol (1,
// earliest, latest - earliest; else 0), which lets a keyed step hold the
// batch undecoded (Span).
func (e *batchEncoder) bytes() []byte {
	out := make([]byte, 0, len(e.source)+len(e.symbol)+48+len(e.body))
	out = wire.AppendString(out, e.source)
	out = wire.AppendString(out, e.symbol)
	out = wire.AppendInt(out, e.n)
	if r, ok := e.ids(); ok {
		out = wire.AppendInt(out, 1)
		out = wire.AppendInt(out, r.lo)
		out = wire.AppendInt(out, r.hi)
	} else {
		out = wire.AppendInt(out, 0)
	}
	if e.n > 0 && !e.mixed {
		out = wire.AppendInt(out, 1)
		out = wire.AppendInt(out, e.first)
		out = wire.AppendInt(out, e.last-e.first)
	} else {
		out = wire.AppendInt(out, 0)
	}
	return append(out, e.body...)
}

// span is Batch.Span of the batch.
func (e *batchEncoder) span() (BatchSpan, bool) {
	if e.n == 0 || e.mixed {
		return BatchSpan{}, false
	}
	return BatchSpan{e.source, e.symbol, int(e.n), time.Unix(0, e.first).UTC(), time.Unix(0, e.last).UTC()}, true
}

// idRange is the range of a batch's trade ids that ascend as numbers.
type idRange struct{ lo, hi int64 }

// disjoint reports whether r overlaps none of rs.
func (r idRange) disjoint(rs []idRange) bool {
	for _, o := range rs {
		if r.lo <= o.hi && o.lo <= r.hi {
			return false
		}
	}
	return true
}

func (e *batchEncoder) ids() (idRange, bool) {
	return idRange{e.firstID, e.lastID}, e.ascending && e.n > 0
}

// add appends t; id and numeric are numericID(t.TradeID), which the caller
// has at hand.
func (e *batchEncoder) add(t *tickbeam.Tick, id int64, numeric bool) {
	if e.n == 0 {
		e.ascending, e.firstID = numeric, id
	} else {
		e.ascending = e.ascending && numeric && id > e.lastID
	}
	e.lastID = id
	ev := t.EventTime.UnixNano()
	if e.n == 0 {
		e.first, e.last = ev, ev
	}
	e.first, e.last = min(e.first, ev), max(e.last, ev)
	e.n++
	e.mixed = e.mixed || t.Source != e.source || t.Symbol != e.symbol
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
	in := t.IngestTime.UnixNano()
	e.body = wire.AppendInt(e.body, ev-e.prevEvent)
	e.body = wire.AppendInt(e.body, in-e.prevIngest)
	e.prevEvent, e.prevIngest = ev, in
	e.body, e.prevPrice = wire.AppendDecimal(e.body, t.Price, e.prevPrice)
	e.body, e.prevSize = wire.AppendDecimal(e.body, t.Size, e.prevSize)
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

// DecodeBatch is the Batch whose encoding (Batch.MarshalBinary) is data, and
// the batch coder's decoder. It keeps data as it crossed the runner: its
// ticks are decoded when read (Batch.All, Batch.Each), and one passed on
// unread is not encoded again. data must not change while the Batch is in
// use.
func DecodeBatch(data []byte) (Batch, error) {
	if _, err := newBatchReader(data); err != nil {
		return Batch{}, err
	}
	return Batch{raw: data}, nil
}

// batchReader decodes a batch's ticks one at a time.
type batchReader struct {
	r                                                  *wire.Reader
	source, symbol                                     string
	n                                                  int64
	ids                                                idRange // when ascending
	ascending                                          bool
	first, last                                        int64 // event times, when spanned
	spanned                                            bool
	prevEvent, prevIngest, prevID, prevPrice, prevSize int64
	venue, currency                                    string
}

func newBatchReader(data []byte) (*batchReader, error) {
	r := wire.NewReader(data)
	br := &batchReader{r: r, source: r.String(), symbol: r.String(), n: r.Int()}
	if asc := r.Int(); asc == 1 {
		br.ids = idRange{r.Int(), r.Int()}
		br.ascending = true
	} else if asc != 0 {
		r.Fail(fmt.Errorf("bad id order %d", asc))
	}
	if sp := r.Int(); sp == 1 {
		br.first = r.Int()
		br.last = br.first + r.Int()
		br.spanned = true
	} else if sp != 0 {
		r.Fail(fmt.Errorf("bad time span flag %d", sp))
	}
	if r.Err() != nil || br.n < 0 || br.n > int64(len(data)) {
		return nil, fmt.Errorf("decode dedupe.Batch: bad header (count %d, %v)", br.n, r.Err())
	}
	return br, nil
}

// next decodes the next tick into t; false at the end or on an error (err).
func (br *batchReader) next(t *tickbeam.Tick) bool {
	r := br.r
	if br.n == 0 || r.Err() != nil {
		return false
	}
	br.n--
	var flag [1]byte
	flags := r.Raw(flag[:])[0]
	if flags&flagRaw != 0 {
		*t = tickCodec.Read(r)
		return r.Err() == nil
	}
	*t = tickbeam.Tick{Source: br.source, Symbol: br.symbol, Kind: tickbeam.Trade, Side: tickbeam.Unknown}
	if flags&flagQuote != 0 {
		t.Kind = tickbeam.Quote
	}
	switch {
	case flags&flagBuy != 0:
		t.Side = tickbeam.Buy
	case flags&flagSell != 0:
		t.Side = tickbeam.Sell
	}
	br.prevEvent += r.Int()
	br.prevIngest += r.Int()
	t.EventTime = time.Unix(0, br.prevEvent).UTC()
	t.IngestTime = time.Unix(0, br.prevIngest).UTC()
	t.Price, br.prevPrice = r.Decimal(br.prevPrice)
	t.Size, br.prevSize = r.Decimal(br.prevSize)
	if flags&flagQuote != 0 {
		t.BidPrice, t.BidSize, t.AskPrice, t.AskSize = r.Float(), r.Float(), r.Float(), r.Float()
	}
	if flags&flagPrevClose != 0 {
		t.PrevClose = r.Float()
	}
	if flags&flagNumericID != 0 {
		br.prevID += r.Int()
		t.TradeID = strconv.FormatInt(br.prevID, 10)
	} else {
		t.TradeID = r.String()
	}
	if flags&flagVenue != 0 {
		br.venue = r.String()
	}
	if flags&flagCurrency != 0 {
		br.currency = r.String()
	}
	t.Venue, t.Currency = br.venue, br.currency
	return r.Err() == nil
}

func (br *batchReader) err() error {
	if err := br.r.Err(); err != nil {
		return fmt.Errorf("decode dedupe.Batch: %w", err)
	}
	return nil
}

// decodeTicks decodes every tick of an encoded batch.
func decodeTicks(data []byte) ([]tickbeam.Tick, error) {
	br, err := newBatchReader(data)
	if err != nil {
		return nil, err
	}
	ticks := make([]tickbeam.Tick, br.n)
	for i := range ticks {
		if !br.next(&ticks[i]) {
			return nil, br.err()
		}
	}
	return ticks, br.err()
}
