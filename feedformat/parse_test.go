package feedformat

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
)

func mustNew(t testing.TB, format string, o Options) Parser {
	t.Helper()
	p, err := New(format, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var jsonTestOptions = Options{JSONFields: map[string]string{"symbol": "s", "price": "p", "event_time": "T", "size": "q", "side": "side", "kind": "k"}}
var csvTestOptions = Options{CSVColumns: []string{"event_time", "symbol", "price", "size", "side"}}

func optionsFor(format string) Options {
	switch format {
	case "json":
		return jsonTestOptions
	case "csv":
		return csvTestOptions
	}
	return Options{}
}

func TestFormats(t *testing.T) {
	got := strings.Join(Formats(), ",")
	if want := "alpaca,alphavantage,binance,coinbase,csv,json,kis,tick,tradingview"; got != want {
		t.Errorf("Formats() = %s, want %s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	kisRecord := func(fields map[int]string) string {
		f := make([]string, kisFields)
		for i := range f {
			f[i] = "0"
		}
		f[kisSymbol], f[kisHour], f[kisPrice], f[kisSign], f[kisChange] = "005930", "093015", "71000", "5", "-300"
		f[kisVolume], f[kisCumVolume], f[kisSide], f[kisDate] = "1", "2", "1", "20260115"
		for i, v := range fields {
			f[i] = v
		}
		return "0|H0STCNT0|001|" + strings.Join(f, "^")
	}
	tests := []struct {
		format, payload, want string
	}{
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1705312215122,"m":true}`, `binance: field "p": invalid price "abc"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1e999","T":1705312215122,"m":true}`, `binance: field "q": invalid quantity "1e999"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"p":"NaN","q":"1","T":1705312215122,"m":true}`, `binance: field "p": invalid price "NaN"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":18446744073709551616,"p":"1","q":"1","T":1,"m":true}`, `binance: field "t": invalid trade id "18446744073709551616"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":"soon","m":true}`, `binance: field "T": invalid trade time "soon"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":"yes"}`, `binance: field "m": invalid buyer-is-maker flag "yes"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}`, `binance: trade is missing field "m"`},
		{"binance", `{"e":"trade","s":7,"t":1,"p":"1","q":"1","T":1,"m":true}`, `binance: field "s": invalid symbol "7"`},
		{"binance", `{"e":"trade","s":"BTCUSDT","t":1,"q":"1","T":1,"m":true,"p":"` + strings.Repeat("9", 100) + `x"}`, `binance: field "p": invalid price "` + strings.Repeat("9", 64) + `"...`},
		{"binance", `{"e":"trade",`, `binance: invalid JSON: jsonscan: unexpected end of input looking for object key at offset 13`},
		{"binance", `[]`, `binance: invalid JSON: jsonscan: invalid character '[' looking for beginning of object at offset 0`},
		{"alpaca", `[{"T":"t","S":"AAPL","i":1,"p":1,"s":1,"t":"2021-02-22"}]`, `alpaca: message[0]: field "t": invalid time "2021-02-22"`},
		{"alpaca", `[{"T":"q","S":"AMD","bp":"x","t":"2021-02-22T15:51:45Z"}]`, `alpaca: message[0]: field "bp": invalid bid price "x"`},
		{"alpaca", `{"T":"t","S":"AAPL","i":1.5,"p":1,"s":1,"t":"2021-02-22T15:51:45Z"}`, `alpaca: field "i": invalid trade id "1.5"`},
		{"alpaca", `[{"S":"AAPL"}]`, `alpaca: message[0]: message has no type "T"`},
		{"alpaca", `[{"T":"t","i":1,"p":1,"s":1,"t":"2021-02-22T15:51:45Z"}]`, `alpaca: message[0]: missing field "S"`},
		{"alpaca", `"t"`, `alpaca: invalid JSON: jsonscan: invalid character '"' looking for beginning of array at offset 0`},
		{"coinbase", `{"type":"match","trade_id":1,"time":"2014-11-07T08:19:27Z","product_id":"BTC-USD","size":"1","price":"-","side":"buy"}`, `coinbase: field "price": invalid price "-"`},
		{"coinbase", `{"type":"match","trade_id":1,"time":"2014-11-07T08:19:27Z","product_id":"BTC-USD","size":"1","price":"1","side":"BUY"}`, `coinbase: field "side": invalid side "BUY"`},
		{"coinbase", `{"type":"match","trade_id":"x1","time":"2014-11-07T08:19:27Z","product_id":"BTC-USD","size":"1","price":"1","side":"buy"}`, `coinbase: field "trade_id": invalid trade id "x1"`},
		{"coinbase", `{"type":"match","trade_id":1,"time":"2014-11-07 08:19:27","product_id":"BTC-USD","size":"1","price":"1","side":"buy"}`, `coinbase: field "time": invalid time "2014-11-07 08:19:27"`},
		{"kis", kisRecord(nil)[:30], `kis: H0STCNT0 with 1 records needs 46 fields, got 3`},
		{"kis", kisRecord(map[int]string{kisPrice: ""}), `kis: record[0]: field STCK_PRPR: invalid price ""`},
		{"kis", kisRecord(map[int]string{kisSign: "9"}), `kis: record[0]: field PRDY_VRSS_SIGN: invalid change sign "9"`},
		{"kis", kisRecord(map[int]string{kisCumVolume: "-1"}), `kis: record[0]: field ACML_VOL: invalid cumulative volume "-1"`},
		{"kis", kisRecord(map[int]string{kisDate: "2026011"}), `kis: record[0]: field BSOP_DATE: invalid date "2026011"`},
		{"kis", kisRecord(map[int]string{kisHour: "240000"}), `kis: record[0]: field STCK_CNTG_HOUR: invalid time "240000"`},
		{"kis", "1|H0STCNT0|001|AAAA", `kis: encrypted payload (AES) not supported; subscribe to unencrypted H0STCNT0`},
		{"kis", "0|H0STASP0|001|x", `kis: unsupported tr_id H0STASP0`},
		{"kis", "0|H0 ST|001|x", `kis: unsupported tr_id "H0 ST"`},
		{"kis", "0|H0STCNT0|000|x", `kis: invalid record count "000"`},
		{"kis", "2|H0STCNT0|001|x", `kis: invalid frame: encryption flag "2" is not 0 or 1`},
		{"kis", `{"header":`, `kis: invalid JSON frame: jsonscan: unexpected end of input (expected a value) at offset 10`},
		{"tradingview", `~m~abc~m~x`, `tradingview: malformed frame length at offset 3: "abc~m~x"`},
		{"tradingview", `~m~99999999999~m~x`, `tradingview: malformed frame length at offset 3: "99999999999~"`},
		{"tradingview", `~m~4~m~~h~7~m~5~m~`, `tradingview: frame at offset 11 declares 5 bytes but only 0 remain`},
		{"tradingview", `~m~4~m~~h~7garbage`, `tradingview: expected frame start "~m~" at offset 11, got "garbage"`},
		{"tradingview", `~m~46~m~{"m":"qsd","p":["qs",{"s":"ok","v":{"lp":1}}]}`, `tradingview: frame[0]: qsd without symbol name "n"`},
		{"tradingview", ``, `tradingview: empty payload`},
		{"alphavantage", `{"Global Quote":{"01. symbol":"IBM","05. price":"161","07. latest trading day":"01/05/2024"}}`, `alphavantage: field "07. latest trading day": invalid date "01/05/2024"`},
		{"alphavantage", `{"Global Quote":{"05. price":"161","07. latest trading day":"2024-01-05"}}`, `alphavantage: response names no symbol and Options.Symbol is empty`},
		{"alphavantage", `{"Time Series (1min)":{}}`, `alphavantage: time series without "Meta Data"`},
		{"alphavantage", `{"Meta Data":{"2. Symbol":"IBM"},"Time Series (1min)":{}}`, `alphavantage: "Meta Data" has no "Time Zone"`},
		{"alphavantage", `[1]`, `alphavantage: response is a JSON array, not an object`},
		{"json", `{"s":"A","p":"1","T":"2024-13-01T00:00:00Z"}`, `json: field event_time (path "T"): invalid time "2024-13-01T00:00:00Z" (want RFC 3339 or Unix epoch seconds, ms, µs or ns)`},
		{"json", `{"s":"A","p":"1","T":1,"k":"bar"}`, `json: field kind (path "k"): unknown kind "bar" (want trade or quote)`},
		{"json", `{"s":"A","p":{"x":1},"T":1}`, `json: field price (path "p"): want a string or number, got object`},
		{"json", `{"s":"A","p":null,"T":1}`, `json: field price: path "p" not found`},
		{"json", `[{"s":"A","p":1,"T":1},7]`, `json: record[1]: is a JSON number, not an object`},
		{"json", `"AAPL"`, `json: payload is a JSON string, not an object`},
		{"json", `{"s":"A","p":1,"T":"1e400"}`, `json: field event_time (path "T"): invalid time "1e400" (want RFC 3339 or Unix epoch seconds, ms, µs or ns)`},
		{"csv", `2024-01-15T09:50:15Z,AAPL,x,1,buy`, `csv: line 1: column 3 (price): invalid number "x"`},
		{"csv", `2024-01-15T09:50:15Z,AAPL,1,1,buy` + "\n" + `2024-01-15T09:50:15Z,AAPL,1,1`, `csv: line 2: want 5 columns (Options.CSVColumns), got 4`},
		{"csv", `2024-01-15T09:50:15Z,AAPL,,1,buy`, `csv: line 1: column 3 (price): invalid number ""`},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			p := mustNew(t, tc.format, optionsFor(tc.format))
			dst := []tickbeam.Tick{{Symbol: "KEEP"}}
			got, err := p.Parse(dst, []byte(tc.payload))
			if err == nil {
				t.Fatalf("Parse(%.80q) = %v, want error %q", tc.payload, got, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse(%.80q) error:\n got %s\nwant %s", tc.payload, err, tc.want)
			}
			if errors.Is(err, ErrControl) {
				t.Errorf("Parse(%.80q): %v is a control error", tc.payload, err)
			}
			if len(got) != 1 || got[0].Symbol != "KEEP" {
				t.Errorf("Parse(%.80q) returned %v, want dst unchanged", tc.payload, got)
			}
		})
	}
}

func TestControl(t *testing.T) {
	tests := []struct {
		format, payload string
		want            string // error message; "control message" for bare ErrControl
	}{
		{"binance", `{"result":null,"id":312}`, "control message"},
		{"binance", `{"e":"24hrTicker","s":"BTCUSDT"}`, "control message"},
		{"binance", `{"error":{"code":-1121,"msg":"Invalid symbol."},"id":3}`, `binance: server error -1121: "Invalid symbol."`},
		{"alpaca", `[{"T":"success","msg":"connected"},{"T":"success","msg":"authenticated"}]`, "control message"},
		{"alpaca", `[{"T":"success","msg":"connected"},{"T":"error","code":406,"msg":"connection limit exceeded"}]`, `alpaca: server error 406: "connection limit exceeded"`},
		{"alpaca", `{"T":"error","code":401,"msg":"not authenticated"}`, `alpaca: server error 401: "not authenticated"`},
		{"coinbase", `{"type":"l2update","product_id":"BTC-USD","changes":[["buy","10101.80000000","0.162567"]]}`, "control message"},
		{"kis", `{"header":{"tr_id":"PINGPONG","datetime":"20260115093015"}}`, "control message"},
		{"tradingview", `~m~4~m~~h~1~m~4~m~~h~2`, "control message"},
		{"csv", "\n\n", "control message"},
		{"json", `[]`, "control message"},
	}
	for _, tc := range tests {
		p := mustNew(t, tc.format, optionsFor(tc.format))
		got, err := p.Parse(nil, []byte(tc.payload))
		if !errors.Is(err, ErrControl) || err.Error() != tc.want || len(got) != 0 {
			t.Errorf("%s: Parse(%q) = %v, %v; want no ticks, control error %q", tc.format, tc.payload, got, err, tc.want)
		}
	}
}

// TestAppends checks that Parse appends to dst, keeping what was there.
func TestAppends(t *testing.T) {
	p := mustNew(t, "binance", Options{Source: "binance-eu"})
	dst := make([]tickbeam.Tick, 1, 4)
	dst[0].Symbol = "KEEP"
	msg := `{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1.5","q":"2","T":1705312215122,"m":false,"M":true}`
	dst, err := p.Parse(dst, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	dst, err = p.Parse(dst, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(dst) != 3 || dst[0].Symbol != "KEEP" || dst[1].Source != "binance-eu" || dst[2].TradeID != "7" {
		t.Errorf("got %v", dst)
	}
	// A failing payload leaves dst as it was, capacity beyond it aside.
	before := len(dst)
	dst, err = p.Parse(dst, []byte(`{"e":"trade"}`))
	if err == nil || len(dst) != before {
		t.Errorf("after error: len %d (want %d), err %v", len(dst), before, err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		format string
		opts   Options
		want   string
	}{
		{"nope", Options{}, fmt.Sprintf(`parse: unknown format "nope" (known: %v)`, Formats())}, // TestFormats pins the list
		{"json", Options{}, `parse: format json: Options.JSONFields is empty: map tick fields to dotted JSON paths, e.g. {"symbol": "s", "price": "p", "event_time": "T"}`},
		{"json", Options{JSONFields: map[string]string{"size": "q"}}, `parse: format json: JSONFields: required fields not mapped: symbol, price, event_time`},
		{"json", Options{JSONFields: map[string]string{"price": "p", "event_time": "T"}}, `parse: format json: JSONFields: required fields not mapped: symbol`},
		{"json", Options{JSONFields: map[string]string{"prise": "p"}}, `parse: format json: unknown tick field "prise" in JSONFields (known: symbol, price, size, event_time, side, trade_id, venue, bid_price, bid_size, ask_price, ask_size, prev_close, currency, kind)`},
		{"json", Options{JSONFields: map[string]string{"symbol": "a..b", "price": "p", "event_time": "T"}}, `parse: format json: JSONFields["symbol"]: invalid path "a..b"`},
		{"json", Options{JSONFields: map[string]string{"symbol": "s", "price": "p", "event_time": "T"}, Location: "Nowhere/Land"}, `parse: format json: unknown time zone "Nowhere/Land" in Options.Location`},
		{"csv", Options{}, `parse: format csv: Options.CSVColumns is empty: name the tick field of each column, e.g. ["event_time", "symbol", "price", "size"]`},
		{"csv", Options{CSVColumns: []string{"symbol", "price", "-"}}, `parse: format csv: CSVColumns: required fields not mapped: event_time`},
		{"csv", Options{CSVColumns: []string{"symbol", "price", "event_time", "price"}}, `parse: format csv: CSVColumns: field price named twice`},
		{"csv", Options{CSVColumns: []string{"symbol", "px"}}, `parse: format csv: unknown tick field "px" in CSVColumns[1] (known: symbol, price, size, event_time, side, trade_id, venue, bid_price, bid_size, ask_price, ask_size, prev_close, currency, kind)`},
	}
	for _, tc := range tests {
		_, err := New(tc.format, tc.opts)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%s, %+v) error:\n got %v\nwant %s", tc.format, tc.opts, err, tc.want)
		}
	}
	// Options.Symbol stands in for an unmapped symbol.
	if _, err := New("csv", Options{CSVColumns: []string{"event_time", "price"}, Symbol: "IBM"}); err != nil {
		t.Errorf("csv with Options.Symbol: %v", err)
	}
}

func TestSourceDefault(t *testing.T) {
	for _, f := range allFormats {
		p := mustNew(t, f, optionsFor(f))
		var src string
		switch p := p.(type) {
		case *binance:
			src = p.source
		case *alpaca:
			src = p.source
		case *coinbase:
			src = p.source
		case *kis:
			src = p.source
		case *tradingview:
			src = p.source
		case *alphavantage:
			src = p.source
		case *jsonParser:
			src = p.b.source
		case *csvParser:
			src = p.b.source
		case *tickParser:
			src = p.source
		default:
			t.Fatalf("%s: unexpected parser type %T", f, p)
		}
		if src != f {
			t.Errorf("%s: source %q, want the format name", f, src)
		}
	}
}

func TestSide(t *testing.T) {
	for in, want := range map[string]tickbeam.Side{
		"buy": tickbeam.Buy, "BUY": tickbeam.Buy, "b": tickbeam.Buy, "Bid": tickbeam.Buy,
		"sell": tickbeam.Sell, "S": tickbeam.Sell, "ask": tickbeam.Sell, "OFFER": tickbeam.Sell,
		"": tickbeam.Unknown, "x": tickbeam.Unknown, "buyer": tickbeam.Unknown, "unknown": tickbeam.Unknown,
	} {
		if got := sideOf([]byte(in)); got != want {
			t.Errorf("sideOf(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestEventTimes(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		in, layout, loc string
		want            time.Time
	}{
		{in: "1705312215", want: utc("2024-01-15T09:50:15Z")},
		{in: "1705312215.5", want: utc("2024-01-15T09:50:15.5Z")},
		{in: "1705312215122", want: utc("2024-01-15T09:50:15.122Z")},
		{in: "1705312215122.5", want: utc("2024-01-15T09:50:15.1225Z")},
		{in: "1705312215122334", want: utc("2024-01-15T09:50:15.122334Z")},
		{in: "1705312215122334455", want: utc("2024-01-15T09:50:15.122334455Z")},
		{in: "99999999999", want: utc("5138-11-16T09:46:39Z")},  // the largest seconds
		{in: "100000000000", want: utc("1973-03-03T09:46:40Z")}, // the smallest milliseconds
		{in: "1.705312215e9", want: utc("2024-01-15T09:50:15Z")},
		{in: "-1", want: utc("1969-12-31T23:59:59Z")},
		{in: "2024-01-15T09:50:15Z", want: utc("2024-01-15T09:50:15Z")},
		{in: "2024-01-15T10:50:15.123+01:00", want: utc("2024-01-15T09:50:15.123Z")},
		{in: "2024-01-15 09:50:15.123Z", want: utc("2024-01-15T09:50:15.123Z")},
		{in: "2024-01-15T09:50:15", want: utc("2024-01-15T09:50:15Z")},
		{in: "2024-01-15 09:50:15", loc: "Asia/Seoul", want: utc("2024-01-15T00:50:15Z")},
		{in: "2024-07-15 09:50:15", loc: "America/New_York", want: utc("2024-07-15T13:50:15Z")},
		{in: "2024-07-15T09:50:15Z", loc: "America/New_York", want: utc("2024-07-15T09:50:15Z")},
		{in: "20240115 095015", layout: "20060102 150405", loc: "Asia/Seoul", want: utc("2024-01-15T00:50:15Z")},
	}
	for _, tc := range tests {
		tp, err := newTimeParser(Options{TimeLayout: tc.layout, Location: tc.loc})
		if err != nil {
			t.Fatal(err)
		}
		got, msg := tp.parse([]byte(tc.in))
		if msg != "" || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parse(%q, layout %q, loc %q) = %v, %q; want %v", tc.in, tc.layout, tc.loc, got, msg, tc.want)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "12:00", "99999999999999999999", "2024-01-15T09:50:15+25:00", "NaN"} {
		tp, _ := newTimeParser(Options{})
		if got, msg := tp.parse([]byte(bad)); msg == "" {
			t.Errorf("parse(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "42817.55000000", "0.00125000", "100.00", "1000", "0.1", "0.3",
		"123456789012345", "1234567890123456", "12345678901234567890", "0.000000000000000000000001",
		"9007199254740993", "1e5", "1.5E-3", "-2.5", ".5", "5.", "1e308", "4.9e-324", "000123.4500"} {
		want, werr := strconv.ParseFloat(s, 64)
		got, ok := parseDecimal([]byte(s))
		if (werr == nil) != ok || (ok && math.Float64bits(got) != math.Float64bits(want)) {
			t.Errorf("parseDecimal(%q) = %v, %v; strconv: %v, %v", s, got, ok, want, werr)
		}
	}
	for _, s := range []string{"", "-", "+", ".", "abc", "Inf", "-inf", "NaN", "0x10", "1_000", "1e999", "1,5", " 1", "1 "} {
		if got, ok := parseDecimal([]byte(s)); ok {
			t.Errorf("parseDecimal(%q) = %v, want failure", s, got)
		}
	}
	// The fast path agrees with strconv on random prices.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 3 {
		case 0:
			s = strconv.FormatFloat(r.Float64()*math.Pow10(r.IntN(12)), 'f', r.IntN(10), 64)
		case 1:
			s = fmt.Sprintf("%d.%0*d", r.IntN(1000000), 8, r.IntN(100000000))
		default:
			s = strconv.FormatUint(r.Uint64()>>r.IntN(64), 10)
		}
		want, _ := strconv.ParseFloat(s, 64)
		if got, ok := parseDecimal([]byte(s)); !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDecimal(%q) = %v, %v; strconv says %v", s, got, ok, want)
		}
	}
}

func TestParseInts(t *testing.T) {
	for s, want := range map[string]uint64{"0": 0, "007": 7, "18446744073709551615": math.MaxUint64} {
		if got, ok := parseUint([]byte(s)); !ok || got != want {
			t.Errorf("parseUint(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-1", "+1", "1.0", "18446744073709551616", "99999999999999999999", "1 "} {
		if got, ok := parseUint([]byte(s)); ok {
			t.Errorf("parseUint(%q) = %d, want failure", s, got)
		}
	}
	for s, want := range map[string]int64{"-9223372036854775808": math.MinInt64, "9223372036854775807": math.MaxInt64, "-1": -1, "+2": 2} {
		if got, ok := parseInt([]byte(s)); !ok || got != want {
			t.Errorf("parseInt(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"-9223372036854775809", "9223372036854775808", "-", ""} {
		if got, ok := parseInt([]byte(s)); ok {
			t.Errorf("parseInt(%q) = %d, want failure", s, got)
		}
	}
	if got := canonicalUint([]byte("007"), 7); got != "7" {
		t.Errorf("canonicalUint(007) = %q", got)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"0.3", "0.1", 0.2}, {"101.5", "1.5", 100}, {"71000", "-300", 71300}, {"189.71", "-0.3", 190.01},
		{"1.005", "0.0001", 1.0049}, {"1e3", "1", 999},
	}
	for _, tc := range tests {
		a, _ := strconv.ParseFloat(tc.a, 64)
		b, _ := strconv.ParseFloat(tc.b, 64)
		if got := diff(a, b, []byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("diff(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestInternerBounded(t *testing.T) {
	var in interner
	for i := 0; i < 3*maxInterned; i++ {
		in.get([]byte(strconv.Itoa(i)))
	}
	if len(in.m) > maxInterned {
		t.Errorf("interner holds %d strings, want at most %d", len(in.m), maxInterned)
	}
	b := []byte("BTCUSDT")
	s := in.get(b)
	b[0] = 'X' // the interned string must not alias the input
	if s != "BTCUSDT" || in.get([]byte("BTCUSDT")) != "BTCUSDT" {
		t.Errorf("interned string changed with its input: %q", s)
	}
}

// TestNoAliasing checks that no tick refers to the payload's memory: after
// Parse, scribbling over the payload must not change the ticks.
func TestNoAliasing(t *testing.T) {
	for _, format := range allFormats {
		for _, path := range payloads(t, format) {
			p := mustNew(t, format, testOptions(t, path))
			payload := readPayload(t, path)
			ticks, err := p.Parse(nil, payload)
			if err != nil {
				continue
			}
			before := fmt.Sprint(ticks)
			for i := range payload {
				payload[i] = 'Z'
			}
			if after := fmt.Sprint(ticks); after != before {
				t.Errorf("%s: ticks changed when the payload did:\n%s\n%s", path, before, after)
			}
		}
	}
}

func TestBinanceAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := mustNew(t, "binance", Options{})
	dst := make([]tickbeam.Tick, 0, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		var err error
		if dst, err = p.Parse(dst[:0], benchBinanceMsg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("binance Parse allocates %v times per message, want at most 1 (the trade id)", allocs)
	}
}

// TradesHaveSide holds only where the parser gives every trade a side:
// each recorded payload of a format it names parses into trades with one.
// (KIS is not among them: a trade of CCLD_DVSN other than 1 or 5 has none.)
func TestTradesHaveSide(t *testing.T) {
	for _, format := range allFormats {
		trades, unknown := 0, 0
		for _, path := range payloads(t, format) {
			p, err := New(format, testOptions(t, path))
			if err != nil {
				t.Fatal(err)
			}
			ticks, _ := p.Parse(nil, readPayload(t, path))
			for _, tk := range ticks {
				if tk.Kind == tickbeam.Trade {
					trades++
					if tk.Side == tickbeam.Unknown {
						unknown++
					}
				}
			}
		}
		if TradesHaveSide(format) && (unknown > 0 || trades == 0) {
			t.Errorf("TradesHaveSide(%q), but %d of its %d recorded trades have no side", format, unknown, trades)
		}
	}
	if TradesHaveSide("") {
		t.Error(`TradesHaveSide("") = true: messages naming their own format may lack sides`)
	}
}
