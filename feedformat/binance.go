package feedformat

import (
	"errors"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["binance"] = newBinance }

// binance parses Binance spot trade stream messages, raw or wrapped in a
// combined-stream envelope {"stream":…,"data":{…}}. It is the hot path of the
// busiest feed: one pass of jsonscan over the payload, symbols interned, no
// allocation but the trade id string.
type binance struct {
	source string
	syms   interner
	key    []byte // scratch for escaped keys
	text   []byte // scratch for escaped strings
}

func newBinance(o Options) (Parser, error) { return &binance{source: o.Source}, nil }

// Bits of the trade fields seen.
const (
	bnE = 1 << iota
	bnS
	bnT
	bnP
	bnQ
	bnTime
	bnM
	bnRequired = bnS | bnT | bnP | bnQ | bnTime | bnM
)

func (p *binance) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	n := len(dst)
	dst = append(dst, tickbeam.Tick{})
	if err := p.parse(&dst[n], payload, true); err != nil {
		dst[n] = tickbeam.Tick{}
		return dst[:n], err
	}
	return dst, nil
}

func (p *binance) parse(t *tickbeam.Tick, obj []byte, top bool) error {
	var (
		seen                  uint
		event, sym, id, pr, q jsonscan.Value
		ms                    uint64
		maker                 bool
		data, errv            jsonscan.Value
		hasData, result, rid  bool // "data", "result" and "id" members seen
	)
	it := jsonscan.Members(obj)
	for it.Next() {
		k := it.Key()
		key := k.Raw
		if k.Escaped {
			p.key = jsonscan.Unquote(p.key[:0], k.Raw)
			key = p.key
		}
		if len(key) != 1 {
			switch string(key) {
			case "data":
				data, hasData = it.Value(), true
			case "error":
				errv = it.Value()
			case "result":
				result = true
			case "id":
				rid = true
			}
			continue
		}
		switch key[0] {
		case 'e':
			event, seen = it.Value(), seen|bnE
		case 's':
			sym, seen = it.Value(), seen|bnS
		case 't':
			id, seen = it.Value(), seen|bnT
		case 'p':
			pr, seen = it.Value(), seen|bnP
		case 'q':
			q, seen = it.Value(), seen|bnQ
		case 'T':
			v := it.Value()
			var ok bool
			if ms, ok = uintValue(v); !ok || ms > 1<<62 {
				return errField("binance", "T", "trade time", v.Raw)
			}
			seen |= bnTime
		case 'm':
			switch v := it.Value(); v.Kind {
			case jsonscan.True:
				maker = true
			case jsonscan.False:
				maker = false
			default:
				return errField("binance", "m", "buyer-is-maker flag", v.Raw)
			}
			seen |= bnM
		}
	}
	var err error
	if top {
		err = it.Finish()
	} else {
		err = it.Err()
	}
	if err != nil {
		return errors.New("binance: invalid JSON: " + err.Error())
	}

	// Control messages are only what Binance sends besides events: replies
	// to requests ({"result":null,"id":1}) and errors. Anything else without
	// an event is malformed, e.g. a combined-stream envelope whose data is
	// not an event: a dead letter, not a message skipped.
	switch {
	case seen&bnE != 0:
	case top && hasData:
		if data.Kind != jsonscan.Object {
			return errField("binance", "data", "combined-stream event", data.Raw)
		}
		return p.parse(t, data.Raw, false)
	case top && errv.Kind != jsonscan.Invalid && errv.Kind != jsonscan.Null:
		return binanceServerError(errv)
	case top && result && rid:
		return ErrControl
	case top:
		return errors.New(`binance: not a trade, event, request reply or error: no field "e"`)
	default:
		return errors.New(`binance: combined-stream data is not an event: no field "e"`)
	}
	if event.Kind != jsonscan.String {
		return errField("binance", "e", "event type", event.Raw)
	}
	if string(event.Raw) != "trade" {
		return ErrControl // another stream's event, e.g. 24hrTicker
	}
	if seen&bnRequired != bnRequired {
		for _, f := range [...]struct {
			bit  uint
			name string
		}{{bnS, "s"}, {bnT, "t"}, {bnP, "p"}, {bnQ, "q"}, {bnTime, "T"}, {bnM, "m"}} {
			if seen&f.bit == 0 {
				return errors.New(`binance: trade is missing field "` + f.name + `"`)
			}
		}
	}

	if sym.Kind != jsonscan.String {
		return errField("binance", "s", "symbol", sym.Raw)
	}
	tid, ok := uintValue(id)
	if !ok {
		return errField("binance", "t", "trade id", id.Raw)
	}
	price, ok := floatValue(pr)
	if !ok {
		return errField("binance", "p", "price", pr.Raw)
	}
	size, ok := floatValue(q)
	if !ok {
		return errField("binance", "q", "quantity", q.Raw)
	}
	symText := sym.Raw
	if sym.Escaped {
		p.text = jsonscan.Unquote(p.text[:0], sym.Raw)
		symText = p.text
	}
	side := tickbeam.Buy
	if maker {
		side = tickbeam.Sell // the buyer was the maker: the seller took liquidity
	}
	*t = tickbeam.Tick{
		Symbol:    p.syms.get(symText),
		Venue:     "BINANCE",
		Kind:      tickbeam.Trade,
		EventTime: time.UnixMilli(int64(ms)).UTC(),
		Price:     price,
		Size:      size,
		Side:      side,
		TradeID:   canonicalUint(id.Raw, tid),
		Source:    p.source,
	}
	return nil
}

// binanceServerError reports {"error":{"code":2,"msg":"Invalid request"},"id":1}.
func binanceServerError(v jsonscan.Value) error {
	code, msg := "?", v.Raw
	if v.Kind == jsonscan.Object {
		it := v.Members()
		for it.Next() {
			switch string(it.Key().Raw) {
			case "code":
				if c := it.Value(); c.Kind == jsonscan.Number && len(c.Raw) <= 20 {
					code = string(c.Raw)
				} else {
					code = quoteBytes(c.Text(nil))
				}
			case "msg":
				msg = it.Value().Text(nil)
			}
		}
	}
	return errControlf("binance: server error %s: %s", code, quoteLong(msg))
}
