package feedformat

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["alpaca"] = newAlpaca }

// alpaca parses Alpaca market data v2 stream payloads: a JSON array of
// messages (a lone object is taken as an array of one). Trades ("T":"t")
// and quotes ("T":"q") become ticks; every other message type (success,
// subscription, error, bars, statuses, lulds, corrections, cancel errors…)
// is skipped. A payload with no trade or quote returns ErrControl; when it
// holds an error message, the returned error wraps ErrControl and carries the
// server's code and message.
//
// Stock trades carry no aggressor side (UNKNOWN); crypto trades carry the
// taker side in "tks" (B or S). Quotes have no single venue (the bid and ask
// exchanges differ): their Venue is empty. Currency is the quote currency of
// a crypto pair ("BTC/USD" -> USD), else USD.
type alpaca struct {
	source string
	syms   interner
	text   []byte
}

func newAlpaca(o Options) (Parser, error) { return &alpaca{source: o.Source}, nil }

// alpacaMsg holds the members of one message that tickbeam reads.
type alpacaMsg struct {
	typ, sym, id, venue, price, size, tm, taker jsonscan.Value
	bx, bp, bs, ax, ap, as                      jsonscan.Value
	code, msg                                   jsonscan.Value
}

func (p *alpaca) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	n := len(dst)
	start := jsonscan.SkipSpace(payload, 0)
	if start < len(payload) && payload[start] == '{' {
		v, err := jsonscan.Parse(payload)
		if err != nil {
			return dst, errors.New("alpaca: invalid JSON: " + err.Error())
		}
		var ctl error
		dst, ctl, err = p.message(dst, v, -1)
		if err != nil {
			return dst[:n], err
		}
		if len(dst) == n {
			return dst, ctl
		}
		return dst, nil
	}
	var ctl error
	it := jsonscan.Elements(payload)
	for i := 0; it.Next(); i++ {
		var (
			c   error
			err error
		)
		dst, c, err = p.message(dst, it.Value(), i)
		if err != nil {
			return dst[:n], err
		}
		if ctl == nil || ctl == ErrControl {
			if c != nil {
				ctl = c
			}
		}
	}
	if err := it.Finish(); err != nil {
		return dst[:n], errors.New("alpaca: invalid JSON: " + err.Error())
	}
	if len(dst) == n {
		if ctl == nil {
			ctl = ErrControl // an empty array
		}
		return dst, ctl
	}
	return dst, nil
}

// message appends the tick of one message, or returns the control error it
// amounts to (ErrControl, or a server error wrapping it).
func (p *alpaca) message(dst []tickbeam.Tick, v jsonscan.Value, i int) (out []tickbeam.Tick, ctl, err error) {
	if v.Kind != jsonscan.Object {
		return dst, nil, fmt.Errorf("%s: is a JSON %s, not an object", alpacaWhere(i), v.Kind)
	}
	var m alpacaMsg
	it := v.Members()
	for it.Next() {
		f := it.Value()
		switch string(it.Key().Text(p.text[:0])) {
		case "T":
			m.typ = f
		case "S":
			m.sym = f
		case "i":
			m.id = f
		case "x":
			m.venue = f
		case "p":
			m.price = f
		case "s":
			m.size = f
		case "t":
			m.tm = f
		case "tks":
			m.taker = f
		case "bx":
			m.bx = f
		case "bp":
			m.bp = f
		case "bs":
			m.bs = f
		case "ax":
			m.ax = f
		case "ap":
			m.ap = f
		case "as":
			m.as = f
		case "code":
			m.code = f
		case "msg":
			m.msg = f
		}
	}
	if err := it.Err(); err != nil {
		return dst, nil, errors.New(alpacaWhere(i) + ": invalid JSON: " + err.Error())
	}
	if m.typ.Kind != jsonscan.String {
		return dst, nil, errors.New(alpacaWhere(i) + `: message has no type "T"`)
	}
	switch string(m.typ.Raw) {
	case "t":
		t, err := p.trade(&m, i)
		if err != nil {
			return dst, nil, err
		}
		return append(dst, t), nil, nil
	case "q":
		t, err := p.quote(&m, i)
		if err != nil {
			return dst, nil, err
		}
		return append(dst, t), nil, nil
	case "error":
		code := "?"
		if m.code.Kind == jsonscan.Number && len(m.code.Raw) <= 20 {
			code = string(m.code.Raw)
		}
		return dst, errControlf("alpaca: server error %s: %s", code, quoteLong(m.msg.Text(nil))), nil
	default:
		return dst, ErrControl, nil
	}
}

func (p *alpaca) common(m *alpacaMsg, i int) (sym, currency string, at time.Time, err error) {
	if m.sym.Kind != jsonscan.String || m.sym.Escaped || len(m.sym.Raw) == 0 {
		if m.sym.IsNull() {
			return "", "", at, errors.New(alpacaWhere(i) + `: missing field "S"`)
		}
		return "", "", at, errField(alpacaWhere(i), "S", "symbol", m.sym.Raw)
	}
	if m.tm.Kind != jsonscan.String || m.tm.Escaped {
		if m.tm.IsNull() {
			return "", "", at, errors.New(alpacaWhere(i) + `: missing field "t"`)
		}
		return "", "", at, errField(alpacaWhere(i), "t", "time", m.tm.Raw)
	}
	at, perr := time.Parse(time.RFC3339Nano, string(m.tm.Raw))
	if perr != nil {
		return "", "", at, errField(alpacaWhere(i), "t", "time", m.tm.Raw)
	}
	sym = p.syms.get(m.sym.Raw)
	currency = "USD"
	if i := bytes.IndexByte(m.sym.Raw, '/'); i >= 0 && i+1 < len(m.sym.Raw) {
		currency = p.syms.get(m.sym.Raw[i+1:])
	}
	return sym, currency, at.UTC(), nil
}

func (p *alpaca) trade(m *alpacaMsg, i int) (tickbeam.Tick, error) {
	sym, currency, at, err := p.common(m, i)
	if err != nil {
		return tickbeam.Tick{}, err
	}
	for _, f := range [...]struct {
		v    jsonscan.Value
		name string
	}{{m.id, "i"}, {m.price, "p"}, {m.size, "s"}} {
		if f.v.IsNull() {
			return tickbeam.Tick{}, errors.New(alpacaWhere(i) + `: trade is missing field "` + f.name + `"`)
		}
	}
	id, ok := uintValue(m.id)
	if !ok {
		return tickbeam.Tick{}, errField(alpacaWhere(i), "i", "trade id", m.id.Raw)
	}
	price, ok := floatValue(m.price)
	if !ok {
		return tickbeam.Tick{}, errField(alpacaWhere(i), "p", "price", m.price.Raw)
	}
	size, ok := floatValue(m.size)
	if !ok {
		return tickbeam.Tick{}, errField(alpacaWhere(i), "s", "size", m.size.Raw)
	}
	side := tickbeam.Unknown
	switch string(m.taker.Raw) {
	case "B":
		side = tickbeam.Buy
	case "S":
		side = tickbeam.Sell
	}
	venue := ""
	if m.venue.Kind == jsonscan.String && !m.venue.Escaped {
		venue = p.syms.get(m.venue.Raw)
	}
	return tickbeam.Tick{
		Symbol:    sym,
		Venue:     venue,
		Kind:      tickbeam.Trade,
		EventTime: at,
		Price:     price,
		Size:      size,
		Side:      side,
		TradeID:   canonicalUint(m.id.Raw, id),
		Source:    p.source,
		Currency:  currency,
	}, nil
}

func (p *alpaca) quote(m *alpacaMsg, i int) (tickbeam.Tick, error) {
	sym, currency, at, err := p.common(m, i)
	if err != nil {
		return tickbeam.Tick{}, err
	}
	t := tickbeam.Tick{
		Symbol:    sym,
		Kind:      tickbeam.Quote,
		EventTime: at,
		Side:      tickbeam.Unknown,
		Source:    p.source,
		Currency:  currency,
	}
	for _, f := range [...]struct {
		v    jsonscan.Value
		name string
		what string
		dst  *float64
	}{
		{m.bp, "bp", "bid price", &t.BidPrice},
		{m.bs, "bs", "bid size", &t.BidSize},
		{m.ap, "ap", "ask price", &t.AskPrice},
		{m.as, "as", "ask size", &t.AskSize},
	} {
		if f.v.IsNull() {
			continue
		}
		x, ok := floatValue(f.v)
		if !ok {
			return tickbeam.Tick{}, errField(alpacaWhere(i), f.name, f.what, f.v.Raw)
		}
		*f.dst = x
	}
	return t, nil
}

// alpacaWhere names message i of a payload in errors (-1: a lone object).
func alpacaWhere(i int) string {
	if i < 0 {
		return "alpaca"
	}
	return fmt.Sprintf("alpaca: message[%d]", i)
}
