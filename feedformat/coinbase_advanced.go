package feedformat

import (
	"errors"
	"fmt"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

// advanced parses a Coinbase Advanced Trade websocket message, which has a
// "channel" where Exchange messages have a "type":
//
//	{"channel":"market_trades","timestamp":"…","sequence_num":0,"events":[
//	  {"type":"snapshot"|"update","trades":[{"trade_id":"…","product_id":"BTC-USD",
//	   "price":"…","size":"…","side":"BUY"|"SELL","time":"…"}]}]}
//
// Every trade of every event is a tick. Like the Exchange feed's (and the
// REST trades') side, "side" is taken as the maker's: BUY means a seller
// took liquidity. Other channels (heartbeats, subscriptions, ticker, …)
// are control messages; a channel message without trades (an empty update)
// is one too.
func (p *coinbase) advanced(dst []tickbeam.Tick, payload []byte, channel jsonscan.Value) ([]tickbeam.Tick, error) {
	if string(channel.Raw) != "market_trades" {
		return dst, ErrControl
	}
	n := len(dst)
	var events jsonscan.Value
	it := jsonscan.Members(payload)
	for it.Next() {
		if string(it.Key().Text(p.text[:0])) == "events" {
			events = it.Value()
		}
	}
	if err := it.Finish(); err != nil {
		return dst, errors.New("coinbase: invalid JSON: " + err.Error())
	}
	if events.Kind != jsonscan.Array {
		return dst, errors.New(`coinbase: market_trades message has no "events" array`)
	}
	ev := events.Elements()
	for i := 0; ev.Next(); i++ {
		e := ev.Value()
		if e.Kind != jsonscan.Object {
			return dst[:n], fmt.Errorf("coinbase: events[%d] is a JSON %s, not an object", i, e.Kind)
		}
		em := e.Members()
		for em.Next() {
			if string(em.Key().Text(p.text[:0])) != "trades" {
				continue
			}
			trades := em.Value()
			if trades.Kind != jsonscan.Array {
				return dst[:n], fmt.Errorf(`coinbase: events[%d].trades is not an array`, i)
			}
			tr := trades.Elements()
			for j := 0; tr.Next(); j++ {
				var err error
				if dst, err = p.advancedTrade(dst, tr.Value()); err != nil {
					return dst[:n], fmt.Errorf("coinbase: events[%d].trades[%d]: %w", i, j, err)
				}
			}
			if err := tr.Err(); err != nil {
				return dst[:n], errors.New("coinbase: invalid JSON: " + err.Error())
			}
		}
		if err := em.Err(); err != nil {
			return dst[:n], errors.New("coinbase: invalid JSON: " + err.Error())
		}
	}
	if err := ev.Err(); err != nil {
		return dst[:n], errors.New("coinbase: invalid JSON: " + err.Error())
	}
	if len(dst) == n {
		return dst, ErrControl
	}
	return dst, nil
}

func (p *coinbase) advancedTrade(dst []tickbeam.Tick, v jsonscan.Value) ([]tickbeam.Tick, error) {
	if v.Kind != jsonscan.Object {
		return dst, fmt.Errorf("is a JSON %s, not an object", v.Kind)
	}
	var id, tm, product, size, price, side jsonscan.Value
	it := v.Members()
	for it.Next() {
		switch string(it.Key().Text(p.text[:0])) {
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
		}
	}
	if err := it.Err(); err != nil {
		return dst, err
	}
	for _, f := range [...]struct {
		v    jsonscan.Value
		name string
	}{{id, "trade_id"}, {tm, "time"}, {product, "product_id"}, {size, "size"}, {price, "price"}, {side, "side"}} {
		if f.v.IsNull() {
			return dst, errors.New(`missing field "` + f.name + `"`)
		}
	}
	return p.trade(dst, id, tm, product, size, price, side, "SELL", "BUY")
}
