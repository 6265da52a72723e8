package feedformat

import (
	"bytes"
	"errors"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["coinbase"] = newCoinbase }

// coinbase parses Coinbase Exchange websocket "match" and "last_match"
// messages, and Advanced Trade "market_trades" messages (see advanced). Every other type (subscriptions, heartbeat, ticker, l2update…) is
// a control message; "error" messages return an error that wraps ErrControl
// and carries the server's message and reason.
type coinbase struct {
	source string
	syms   interner
	text   []byte
}

func newCoinbase(o Options) (Parser, error) { return &coinbase{source: o.Source}, nil }

func (p *coinbase) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	var typ, id, tm, product, size, price, side, message, reason, channel jsonscan.Value
	it := jsonscan.Members(payload)
	for it.Next() {
		switch string(it.Key().Text(p.text[:0])) {
		case "type":
			typ = it.Value()
		case "trade_id":
			id = it.Value()
		case "time":
			tm = it.Value()
		case "product_id":
			product = it.Value()
		case "size":
			size = it.Value()
		case "price":
			price = it.Value()
		case "side":
			side = it.Value()
		case "message":
			message = it.Value()
		case "reason":
			reason = it.Value()
		case "channel": // Advanced Trade (coinbase_advanced.go)
			channel = it.Value()
		}
	}
	if err := it.Finish(); err != nil {
		return dst, errors.New("coinbase: invalid JSON: " + err.Error())
	}
	if typ.Kind != jsonscan.String && channel.Kind == jsonscan.String {
		return p.advanced(dst, payload, channel)
	}
	if typ.Kind != jsonscan.String {
		return dst, errors.New(`coinbase: message has no "type"`)
	}
	switch string(typ.Raw) {
	case "match", "last_match":
	case "error":
		return dst, errControlf("coinbase: server error: %s (reason: %s)",
			quoteLong(message.Text(nil)), quoteLong(reason.Text(nil)))
	default:
		return dst, ErrControl
	}
	for _, f := range [...]struct {
		v    jsonscan.Value
		name string
	}{{id, "trade_id"}, {tm, "time"}, {product, "product_id"}, {size, "size"}, {price, "price"}, {side, "side"}} {
		if f.v.IsNull() {
			return dst, errors.New(`coinbase: match is missing field "` + f.name + `"`)
		}
	}
	return p.trade(dst, id, tm, product, size, price, side, "sell", "buy")
}

// trade appends the trade both Coinbase feeds describe with the same
// fields; sell and buy are the feed's spellings of the maker's side (the
// aggressor is the other one).
func (p *coinbase) trade(dst []tickbeam.Tick, id, tm, product, size, price, side jsonscan.Value, sell, buy string) ([]tickbeam.Tick, error) {
	tid, ok := uintValue(id)
	if !ok {
		return dst, errField("coinbase", "trade_id", "trade id", id.Raw)
	}
	if product.Kind != jsonscan.String || product.Escaped || len(product.Raw) == 0 {
		return dst, errField("coinbase", "product_id", "product id", product.Raw)
	}
	if tm.Kind != jsonscan.String || tm.Escaped {
		return dst, errField("coinbase", "time", "time", tm.Raw)
	}
	when, err := time.Parse(time.RFC3339Nano, string(tm.Raw))
	if err != nil {
		return dst, errField("coinbase", "time", "time", tm.Raw)
	}
	px, ok := floatValue(price)
	if !ok {
		return dst, errField("coinbase", "price", "price", price.Raw)
	}
	sz, ok := floatValue(size)
	if !ok {
		return dst, errField("coinbase", "size", "size", size.Raw)
	}
	var aggressor tickbeam.Side
	switch string(side.Raw) {
	case sell: // the maker sold: a buyer took liquidity
		aggressor = tickbeam.Buy
	case buy:
		aggressor = tickbeam.Sell
	default:
		return dst, errField("coinbase", "side", "side", side.Raw)
	}
	currency := ""
	if i := bytes.LastIndexByte(product.Raw, '-'); i >= 0 && i+1 < len(product.Raw) {
		currency = p.syms.get(product.Raw[i+1:])
	}
	return append(dst, tickbeam.Tick{
		Symbol:    p.syms.get(product.Raw),
		Venue:     "COINBASE",
		Kind:      tickbeam.Trade,
		EventTime: when.UTC(),
		Price:     px,
		Size:      sz,
		Side:      aggressor,
		TradeID:   canonicalUint(id.Raw, tid),
		Source:    p.source,
		Currency:  currency,
	}), nil
}
