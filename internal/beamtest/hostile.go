package beamtest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Hostile messages: one valid trade per feed format, and the same trade
// made hostile in each way a feed or a file can be (a 10 MB message, deep
// nesting, invalid UTF-8, NUL bytes, out-of-range numbers and years,
// duplicate keys, truncation). The parse tests judge each message alone;
// the CLI tests run them as files through tickbeam monitor.

// HostileJSONFields and HostileCSVColumns are the json and csv formats'
// field maps for the messages of HostileMessages.
var (
	HostileJSONFields = map[string]string{"symbol": "data.s", "price": "data.p", "size": "data.q", "event_time": "data.T",
		"side": "data.side", "trade_id": "data.t"}
	HostileCSVColumns = []string{"event_time", "symbol", "price", "size", "side", "trade_id", "-"}
)

// HostileTime is the event time of the valid messages.
var HostileTime = time.Date(2026, 1, 15, 1, 2, 3, 0, time.UTC)

// Hostile is one message of HostileMessages.
type Hostile struct {
	Name    string
	Payload []byte
}

// trade is what a template fills in: raw tokens, so a test can write what
// no encoder would.
type trade struct {
	sym, price, size string
	at               time.Time
	// extra is a JSON value placed where the format ignores a field.
	extra string
}

// template writes a trade in one format; dup is a key and value that
// repeat a key of the object holding extra ("" for formats without keys).
type template struct {
	dup   string
	write func(t trade) string
}

var seoul, newYork = mustZone("Asia/Seoul"), mustZone("America/New_York")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

var templates = map[string]template{
	"binance": {`"s":"DUPUSDT"`, func(t trade) string {
		return fmt.Sprintf(`{"e":"trade","E":%d,"s":"%s","t":7,"p":"%s","q":"%s","T":%d,"m":false,"zz":%s,"M":true}`,
			t.at.UnixMilli(), t.sym, t.price, t.size, t.at.UnixMilli(), t.extra)
	}},
	"alpaca": {`"S":"DUPUSDT"`, func(t trade) string {
		return fmt.Sprintf(`[{"T":"t","S":"%s","i":7,"x":"D","p":%s,"s":%s,"t":"%s","zz":%s,"c":["@"],"z":"C"}]`,
			t.sym, t.price, t.size, t.at.Format(time.RFC3339Nano), t.extra)
	}},
	"coinbase": {`"product_id":"DUPUSDT"`, func(t trade) string {
		return fmt.Sprintf(`{"type":"match","trade_id":7,"sequence":50,"time":"%s","product_id":"%s","size":"%s","price":"%s","zz":%s,"side":"sell"}`,
			t.at.Format(time.RFC3339Nano), t.sym, t.size, t.price, t.extra)
	}},
	"kis": {"", func(t trade) string {
		// H0STCNT0 fields: 0 symbol, 1 HHMMSS, 2 price, 3 sign, 4 change,
		// 12 volume, 13 cumulative volume, 21 side, 33 date; 7 unread.
		f := strings.Split("005930^093015^71000^5^-300^-0.42^71120.35^71400^71500^70900^71100^71000^120^8123456^577894561000^12345^23456^11111^98.76^1500000^1481234^5^0.52^45.67^090000^5^-400^091500^5^-500^092030^2^100^20260115^20^N^123456^234567^3456789^4567890^0.14^7654321^106.12^0^0^71200", "^")
		at := t.at.In(seoul)
		f[0], f[1], f[2], f[4], f[7], f[12], f[33] = t.sym, at.Format("150405"), t.price, "0", t.extra, t.size, at.Format("20060102")
		return "0|H0STCNT0|001|" + strings.Join(f, "^")
	}},
	"tradingview": {`"lp":999`, func(t trade) string {
		m := fmt.Sprintf(`{"m":"qsd","p":["qs_x",{"n":"%s","s":"ok","v":{"lp":%s,"volume":%s,"zz":%s,"lp_time":%d}}]}`,
			t.sym, t.price, t.size, t.extra, t.at.Unix())
		return "~m~" + strconv.Itoa(len(m)) + "~m~" + m
	}},
	"alphavantage": {`"2. Symbol":"DUPUSDT"`, func(t trade) string {
		return fmt.Sprintf(`{"Meta Data":{"2. Symbol":"%s","zz":%s,"6. Time Zone":"US/Eastern"},"Time Series (1min)":{"%s":{"1. open":"%s","2. high":"%s","3. low":"%s","4. close":"%s","5. volume":"%s"}}}`,
			t.sym, t.extra, t.at.In(newYork).Format("2006-01-02 15:04:05"), t.price, t.price, t.price, t.price, t.size)
	}},
	"json": {`"s":"DUPUSDT"`, func(t trade) string {
		return fmt.Sprintf(`{"stream":"trades","data":{"s":"%s","p":"%s","q":%s,"T":%d,"zz":%s,"side":"Buy","t":"7"}}`,
			t.sym, t.price, t.size, t.at.UnixMilli(), t.extra)
	}},
	"csv": {"", func(t trade) string {
		return fmt.Sprintf("%s,%s,%s,%s,sell,7,%s", t.at.Format(time.RFC3339Nano), t.sym, t.price, t.size, t.extra)
	}},
	"tick": {`"symbol":"DUPUSDT"`, func(t trade) string {
		return fmt.Sprintf(`{"symbol":"%s","kind":"TRADE","event_time":"%s","price":%s,"size":%s,"zz":%s,"side":"BUY","trade_id":"7"}`,
			t.sym, t.at.Format(time.RFC3339Nano), t.price, t.size, t.extra)
	}},
}

// HostileFormats lists the formats HostileMessages knows, sorted.
func HostileFormats() []string {
	var fs []string
	for f := range templates {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return fs
}

// HostileMessages returns the hostile messages of format, the valid trade
// first, or nil for an unknown format. Names are the same for every format,
// except that "duplicate key" exists only for formats with keys.
func HostileMessages(format string) []Hostile {
	tpl, ok := templates[format]
	if !ok {
		return nil
	}
	ok0 := trade{sym: "BTCUSDT", price: "100.5", size: "2", at: HostileTime, extra: "0"}
	with := func(change func(*trade)) []byte {
		t := ok0
		change(&t)
		return []byte(tpl.write(t))
	}
	valid := []byte(tpl.write(ok0))
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	hs := []Hostile{
		{"valid", valid},
		{"10 MB message", with(func(t *trade) { t.extra = `"` + strings.Repeat("x", 10<<20) + `"` })},
		{"10 MB symbol", with(func(t *trade) { t.sym = strings.Repeat("S", 10<<20) })},
		{"deep nesting in a field", with(func(t *trade) { t.extra = deep })},
		{"deep nesting alone", []byte(deep)},
		{"invalid UTF-8 symbol", with(func(t *trade) { t.sym = "BTC\xff\xfe" })},
		{"invalid UTF-8 in an ignored field", with(func(t *trade) { t.extra = "\"\xff\xfe\"" })},
		{"NUL in the symbol", with(func(t *trade) { t.sym = "BTC\x00USDT" })},
		{"NUL after the message", append(append([]byte(nil), valid...), 0)},
		{"price 1e400", with(func(t *trade) { t.price = "1e400" })},
		{"price NaN", with(func(t *trade) { t.price = "NaN" })},
		{"price -1", with(func(t *trade) { t.price = "-1" })},
		{"price 0", with(func(t *trade) { t.price = "0" })},
		{"size 1e400", with(func(t *trade) { t.size = "1e400" })},
		{"size NaN", with(func(t *trade) { t.size = "NaN" })},
		{"size -1", with(func(t *trade) { t.size = "-1" })},
		{"size 0", with(func(t *trade) { t.size = "0" })},
		{"year 1970", with(func(t *trade) { t.at = time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC) })},
		{"year 2100", with(func(t *trade) { t.at = time.Date(2100, 1, 15, 1, 2, 3, 0, time.UTC) })},
		{"truncated", valid[:len(valid)/2]},
		{"empty", nil},
		{"whitespace", []byte(" \t ")},
	}
	if tpl.dup != "" {
		// A key given twice with different values: which is the trade's?
		hs = append(hs, Hostile{"duplicate key", with(func(t *trade) { t.extra = "0," + tpl.dup })})
	}
	return hs
}
