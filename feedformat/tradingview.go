package feedformat

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["tradingview"] = newTradingView }

// tradingview parses TradingView quote-session payloads: one or more frames
// "~m~LEN~m~BODY", LEN being BODY's length in bytes. A "qsd" frame whose
// status is "ok" and whose values carry a last price (lp) becomes a QUOTE
// tick: Price lp, PrevClose lp-ch (when ch is present), BidPrice/AskPrice
// and sizes when present, EventTime lp_time (Unix seconds).
//
// The day's cumulative "volume" is not a trade size and is not kept. Partial
// updates without lp (volume or bid/ask only) carry no timestamp of their own
// and are skipped, like heartbeats (~h~N), quote_completed and every other
// frame; a payload of skipped frames only returns ErrControl. A qsd with lp
// but no lp_time is an error: the event time must come from the feed.
//
// Symbol is the qsd name as sent ("BINANCE:SOLUSDT"); Venue is its prefix.
type tradingview struct {
	source string
	syms   interner
	text   []byte
}

func newTradingView(o Options) (Parser, error) { return &tradingview{source: o.Source}, nil }

func (p *tradingview) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	n := len(dst)
	b := payload
	pos, frame := 0, 0
	for {
		for pos < len(b) && isSpace(b[pos]) {
			pos++
		}
		if pos >= len(b) {
			break
		}
		body, next, err := tvFrame(b, pos)
		if err != nil {
			return dst[:n], err
		}
		pos = next
		dst, err = p.frame(dst, body, frame)
		if err != nil {
			return dst[:n], err
		}
		frame++
	}
	if frame == 0 {
		return dst, errors.New("tradingview: empty payload")
	}
	if len(dst) == n {
		return dst, ErrControl
	}
	return dst, nil
}

// tvFrame reads the frame "~m~LEN~m~BODY" at b[pos:].
func tvFrame(b []byte, pos int) (body []byte, next int, err error) {
	const sep = "~m~"
	if !bytes.HasPrefix(b[pos:], []byte(sep)) {
		return nil, 0, fmt.Errorf("tradingview: expected frame start \"~m~\" at offset %d, got %s", pos, quoteBytes(b[pos:min(pos+8, len(b))]))
	}
	i := pos + len(sep)
	j := i
	for j < len(b) && j-i < 10 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	length, ok := parseUint(b[i:j])
	if !ok || !bytes.HasPrefix(b[j:], []byte(sep)) {
		return nil, 0, fmt.Errorf("tradingview: malformed frame length at offset %d: %s", i, quoteBytes(b[i:min(i+12, len(b))]))
	}
	start := j + len(sep)
	if length > uint64(len(b)-start) {
		return nil, 0, fmt.Errorf("tradingview: frame at offset %d declares %d bytes but only %d remain", pos, length, len(b)-start)
	}
	end := start + int(length)
	return b[start:end], end, nil
}

// frame appends the tick of one frame body, if it holds one.
func (p *tradingview) frame(dst []tickbeam.Tick, body []byte, k int) ([]tickbeam.Tick, error) {
	if bytes.HasPrefix(body, []byte("~h~")) {
		return dst, nil // heartbeat
	}
	if len(body) == 0 || body[0] != '{' {
		// Only heartbeats and JSON objects are the protocol's: a null or
		// empty frame is a malformed message, not a control one.
		return dst, fmt.Errorf("tradingview: frame[%d]: neither a heartbeat nor a JSON object: %s", k, quoteBytes(body[:min(len(body), 16)]))
	}
	var m, params jsonscan.Value
	session := false
	it := jsonscan.Members(body)
	for it.Next() {
		switch string(it.Key().Text(p.text[:0])) {
		case "m":
			m = it.Value()
		case "p":
			params = it.Value()
		case "session_id":
			session = true
		}
	}
	if err := it.Finish(); err != nil {
		return dst, fmt.Errorf("tradingview: frame[%d]: invalid JSON: %v", k, err)
	}
	if m.Kind != jsonscan.String {
		if session {
			return dst, nil // the server's hello
		}
		return dst, fmt.Errorf("tradingview: frame[%d]: a JSON object with no \"m\" method", k)
	}
	if string(m.Raw) != "qsd" {
		return dst, nil
	}
	// "p": [session, {"n": name, "s": status, "v": {values}}]
	data, found, err := jsonscan.Lookup(params, []string{"1"})
	if err != nil || !found || data.Kind != jsonscan.Object {
		return dst, fmt.Errorf("tradingview: frame[%d]: qsd without a symbol object in p[1]", k)
	}
	var name, status, values jsonscan.Value
	it = data.Members()
	for it.Next() {
		switch string(it.Key().Text(p.text[:0])) {
		case "n":
			name = it.Value()
		case "s":
			status = it.Value()
		case "v":
			values = it.Value()
		}
	}
	if string(status.Raw) != "ok" || values.Kind != jsonscan.Object {
		return dst, nil // "error" status (unknown symbol, no permission…)
	}
	if name.Kind != jsonscan.String || len(name.Raw) == 0 {
		return dst, fmt.Errorf("tradingview: frame[%d]: qsd without symbol name \"n\"", k)
	}
	sym := name.Text(nil)
	if sym[0] == '=' {
		// A resolved symbol with settings: ={"symbol":"NASDAQ:AAPL","adjustment":"splits"}
		v, err := jsonscan.Parse(sym[1:])
		if err == nil {
			s, ok, _ := jsonscan.Lookup(v, []string{"symbol"})
			if ok && s.Kind == jsonscan.String && len(s.Raw) > 0 {
				sym = s.Text(nil)
			}
		}
	}

	var lp, ch, lpTime, bid, ask, bidSize, askSize jsonscan.Value
	it = values.Members()
	for it.Next() {
		switch string(it.Key().Text(p.text[:0])) {
		case "lp":
			lp = it.Value()
		case "ch":
			ch = it.Value()
		case "lp_time":
			lpTime = it.Value()
		case "bid":
			bid = it.Value()
		case "ask":
			ask = it.Value()
		case "bid_size":
			bidSize = it.Value()
		case "ask_size":
			askSize = it.Value()
		}
	}
	if lp.IsNull() {
		return dst, nil // a partial update: no last price, no timestamp
	}
	where := func() string { return fmt.Sprintf("tradingview: frame[%d] (%s)", k, quoteBytes(sym)) }
	price, ok := floatValue(lp)
	if !ok {
		return dst, errField(where(), "lp", "last price", lp.Raw)
	}
	if lpTime.IsNull() {
		return dst, fmt.Errorf("tradingview: qsd for %s has lp but no lp_time", quoteBytes(sym))
	}
	at, ok := unixSeconds(lpTime)
	if !ok {
		return dst, errField(where(), "lp_time", "time", lpTime.Raw)
	}
	t := tickbeam.Tick{
		Symbol:    p.syms.get(sym),
		Kind:      tickbeam.Quote,
		EventTime: at,
		Price:     price,
		Side:      tickbeam.Unknown,
		Source:    p.source,
	}
	if i := bytes.IndexByte(sym, ':'); i > 0 {
		t.Venue = p.syms.get(sym[:i])
	}
	if !ch.IsNull() {
		c, ok := floatValue(ch)
		if !ok {
			return dst, errField(where(), "ch", "change", ch.Raw)
		}
		t.PrevClose = diff(price, c, lp.Raw, ch.Raw)
	}
	for _, f := range [...]struct {
		v    jsonscan.Value
		name string
		dst  *float64
	}{{bid, "bid", &t.BidPrice}, {ask, "ask", &t.AskPrice}, {bidSize, "bid_size", &t.BidSize}, {askSize, "ask_size", &t.AskSize}} {
		if f.v.IsNull() {
			continue
		}
		x, ok := floatValue(f.v)
		if !ok {
			return dst, errField(where(), f.name, f.name, f.v.Raw)
		}
		*f.dst = x
	}
	return append(dst, t), nil
}

// unixSeconds reads a JSON number of Unix seconds, possibly fractional.
func unixSeconds(v jsonscan.Value) (time.Time, bool) {
	if v.Kind != jsonscan.Number {
		return time.Time{}, false
	}
	if s, ok := parseInt(v.Raw); ok {
		if s > 1<<40 || s < -(1<<40) {
			return time.Time{}, false
		}
		return time.Unix(s, 0).UTC(), true
	}
	f, ok := parseDecimal(v.Raw)
	if !ok || math.Abs(f) > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
}
