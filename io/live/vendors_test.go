package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/live/livetest"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// Coinbase Advanced Trade: subscribe to market_trades and heartbeats; the
// second connection skips trades 106 and 107, which the Exchange trades
// endpoint backfills (paged by "after", newest first).
func TestCoinbaseSubscribeGapBackfill(t *testing.T) {
	frames := livetest.Lines(t, "testdata/coinbase/stream.jsonl")
	var subs []string
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		for range 2 {
			if b, ok := livetest.Read(ctx, c); ok && n == 1 {
				subs = append(subs, string(b))
			}
		}
		if n == 1 {
			livetest.Send(ctx, c, frames[:8]...) // trades 100..105
			c.Close(websocket.StatusGoingAway, "")
			return
		}
		livetest.Send(ctx, c, frames[10:]...) // 108, 109
		<-ctx.Done()
	})
	var calls atomic.Int64
	f.Mux.HandleFunc("/products/BTC-USD/trades", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Query().Get("after") != "108" {
			t.Errorf("trades?%s, want after=108", r.URL.RawQuery)
		}
		fmt.Fprint(w, `[{"time":"2026-01-15T00:00:03.600Z","trade_id":107,"price":"97007.00","size":"0.08","side":"buy"},`+
			`{"time":"2026-01-15T00:00:03.100Z","trade_id":106,"price":"97006.00","size":"0.07","side":"sell"}]`)
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 11 }}
	conn, err := runConnector(t, "coinbase:?products=btc-usd&endpoint="+f.WS()+"&rest="+f.HTTP(), Options{}, sink, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"channel":"market_trades","product_ids":["BTC-USD"],"type":"subscribe"}`
	if len(subs) != 2 || subs[0] != want || !strings.Contains(subs[1], `"heartbeats"`) {
		t.Errorf("subscriptions %q, want market_trades then heartbeats", subs)
	}
	ticks, failed := sink.ticks(t, "coinbase")
	var ids []string
	for _, k := range ticks {
		ids = append(ids, k.TradeID)
	}
	sort.Strings(ids)
	if failed != 0 || strings.Join(uniq(ids), ",") != "100,101,102,103,104,105,106,107,108,109" {
		t.Errorf("trade ids %v (%d failed lines), want 100..109", ids, failed)
	}
	if len(sink.gaps) != 1 || sink.gaps[0].FromID != "106" || sink.gaps[0].ToID != "107" || !sink.gaps[0].Filled {
		t.Errorf("gaps %+v", sink.gaps)
	}
	if st := conn.Stats(); st.Reconnects != 1 || calls.Load() != 1 {
		t.Errorf("stats %+v, %d REST calls", st, calls.Load())
	}
}

// alpacaServer speaks Alpaca's handshake: connected, auth (key/secret
// checked), subscribe; then script sends trades.
func alpacaServer(t *testing.T, script func(ctx context.Context, n int, c *websocket.Conn)) *livetest.Server {
	return livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		livetest.Send(ctx, c, `[{"T":"success","msg":"connected"}]`)
		b, _ := livetest.Read(ctx, c)
		var auth map[string]string
		_ = json.Unmarshal(b, &auth)
		if auth["action"] != "auth" || auth["key"] != "AKTEST" || auth["secret"] != "s3cret" {
			livetest.Send(ctx, c, `[{"T":"error","code":402,"msg":"auth failed"}]`)
			c.Close(websocket.StatusPolicyViolation, "auth failed")
			return
		}
		livetest.Send(ctx, c, `[{"T":"success","msg":"authenticated"}]`)
		b, _ = livetest.Read(ctx, c)
		if !strings.Contains(string(b), `"trades":["AAPL"]`) {
			t.Errorf("subscribe message %s", b)
		}
		livetest.Send(ctx, c, `[{"T":"subscription","trades":["AAPL"],"quotes":[],"bars":[]}]`)
		script(ctx, n, c)
	})
}

// Alpaca: authenticate from the environment, subscribe, reconnect after the
// server drops the connection, and backfill the outage from
// /v2/stocks/AAPL/trades (trades 5..7 between the last before and the first
// after it).
func TestAlpacaAuthOutageBackfill(t *testing.T) {
	frames := livetest.Lines(t, "testdata/alpaca/stream.jsonl")
	f := alpacaServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		if n == 1 {
			livetest.Send(ctx, c, frames[:5]...)
			c.Close(websocket.StatusGoingAway, "")
			return
		}
		livetest.Send(ctx, c, frames[8:]...)
		<-ctx.Done()
	})
	f.Mux.HandleFunc("/v2/stocks/AAPL/trades", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Apca-Api-Key-Id") != "AKTEST" || r.URL.Query().Get("feed") != "iex" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		var rows []json.RawMessage
		for _, fr := range frames[4:9] { // inclusive of both bounds, as the endpoint is
			var m []map[string]any
			_ = json.Unmarshal([]byte(fr), &m)
			delete(m[0], "T")
			delete(m[0], "S")
			b, _ := json.Marshal(m[0])
			rows = append(rows, b)
		}
		b, _ := json.Marshal(map[string]any{"trades": rows, "symbol": "AAPL", "next_page_token": nil})
		w.Write(b)
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 10 }}
	o := Options{Getenv: env("ALPACA_API_KEY_ID", "AKTEST", "ALPACA_API_SECRET_KEY", "s3cret")}
	_, err := runConnector(t, "alpaca:?symbols=AAPL&endpoint="+f.WS()+"&rest="+f.HTTP(), o, sink, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ticks, failed := sink.ticks(t, "alpaca")
	if failed != 0 || len(ticks) != 10 || len(uniq(tradeIDs(ticks))) != 10 {
		t.Errorf("%d ticks (%d distinct), %d failed lines; want the 10 recorded trades once each", len(ticks), len(uniq(tradeIDs(ticks))), failed)
	}
	if len(sink.gaps) != 1 || sink.gaps[0].Missing != 3 || !sink.gaps[0].Filled || sink.gaps[0].Symbol != "AAPL" {
		t.Errorf("gaps %+v, want one filled outage of 3 trades", sink.gaps)
	}
}

// Wrong credentials: Alpaca's 402 stops the connector after one dial, with
// one line that names the vendor and no secret.
func TestAlpacaAuthRefused(t *testing.T) {
	f := alpacaServer(t, func(ctx context.Context, n int, c *websocket.Conn) {})
	o := Options{Getenv: env("ALPACA_API_KEY_ID", "AKTEST", "ALPACA_API_SECRET_KEY", "wrong-secret")}
	_, err := runConnector(t, "alpaca:?symbols=AAPL&endpoint="+f.WS(), o, &collect{}, 10*time.Second)
	if err == nil || err.Error() != "alpaca refused the connection: error 402: auth failed" {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.Dials()); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
	_, err = runConnector(t, "alpaca:?symbols=AAPL&endpoint="+f.WS(), Options{Getenv: env()}, &collect{}, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "ALPACA_API_KEY_ID") || len(f.Dials()) != 1 {
		t.Errorf("without credentials: err = %v after %d dials, want a refusal naming the variables before dialling", err, len(f.Dials()))
	}
}

// KIS: an approval key from POST /oauth2/Approval, one H0STCNT0
// subscription per code, PINGPONG echoed; a jump of the cumulative volume
// is a volume gap (KIS has no tick history: not filled).
func TestKISApprovalPingPongVolumeGap(t *testing.T) {
	frames := livetest.Lines(t, "testdata/kis/stream.jsonl")
	echoed := make(chan string, 1)
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		b, _ := livetest.Read(ctx, c)
		if !strings.Contains(string(b), `"approval_key":"APPROVAL-1"`) || !strings.Contains(string(b), `"tr_key":"005930"`) {
			t.Errorf("subscription %s", b)
		}
		livetest.Send(ctx, c, `{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"0123456789abcdef","key":"abcdefghijklmnopabcdefghijklmnop"}}}`)
		ping := `{"header":{"tr_id":"PINGPONG","datetime":"20260115093000"}}`
		livetest.Send(ctx, c, ping)
		if b, ok := livetest.Read(ctx, c); ok {
			echoed <- string(b)
		}
		livetest.Send(ctx, c, frames[:3]...)
		livetest.Send(ctx, c, frames[4:]...) // the fourth trade's volume never arrives
		<-ctx.Done()
	})
	f.Mux.HandleFunc("/oauth2/Approval", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		_ = json.NewDecoder(r.Body).Decode(&req)
		if r.Method != http.MethodPost || req["appkey"] != "PSKEY" || req["secretkey"] != "PSSECRET" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"approval_key":"APPROVAL-1"}`)
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 9 }}
	o := Options{Getenv: env("KIS_APP_KEY", "PSKEY", "KIS_APP_SECRET", "PSSECRET")}
	_, err := runConnector(t, "kis:?symbols=005930&endpoint="+f.WS()+"&rest="+f.HTTP(), o, sink, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-echoed:
		if e != `{"header":{"tr_id":"PINGPONG","datetime":"20260115093000"}}` {
			t.Errorf("PINGPONG echo %s", e)
		}
	default:
		t.Error("PINGPONG was not echoed")
	}
	ticks, _ := sink.ticks(t, "kis")
	if len(ticks) != 7 {
		t.Errorf("%d ticks, want 7", len(ticks))
	}
	if len(sink.gaps) != 1 || sink.gaps[0].Unit != tickbeam.GapVolume || sink.gaps[0].Missing != 40 || sink.gaps[0].Filled {
		t.Errorf("gaps %+v, want one unfilled gap of 40 shares", sink.gaps)
	}
	// Refused app key: one line, no retry.
	f2 := livetest.NewServer(t, func(context.Context, int, *websocket.Conn) {})
	f2.Mux.HandleFunc("/oauth2/Approval", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error_code":"EGW00105","error_description":"유효하지 않은 AppSecret입니다."}`)
	})
	_, err = runConnector(t, "kis:?symbols=005930&endpoint="+f2.WS()+"&rest="+f2.HTTP(), o, &collect{}, 10*time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "kis refused the connection: HTTP 403") || strings.Contains(err.Error(), "PSSECRET") {
		t.Errorf("refused approval: err = %v", err)
	}
}

// TradingView: the ~m~-framed quote session is opened, heartbeats are
// echoed, quote frames pass as lines.
func TestTradingViewSessionHeartbeat(t *testing.T) {
	qsd, err := os.ReadFile("../../feedformat/testdata/tradingview/qsd.txt")
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	echo := make(chan string, 1)
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		livetest.Send(ctx, c, `~m~51~m~{"session_id":"<0.1.2>_abc","timestamp":1700000000}`)
		for range 4 {
			b, _ := livetest.Read(ctx, c)
			sent = append(sent, string(b))
		}
		livetest.Send(ctx, c, "~m~4~m~~h~1")
		if b, ok := livetest.Read(ctx, c); ok {
			echo <- string(b)
		}
		livetest.Send(ctx, c, strings.TrimSpace(string(qsd)))
		<-ctx.Done()
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 3 }}
	_, err = runConnector(t, "tradingview:?symbols=BINANCE:SOLUSDT&endpoint="+f.WS(), Options{Getenv: env()}, sink, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 4 || !strings.Contains(sent[0], `"set_auth_token"`) || !strings.Contains(sent[3], `"quote_add_symbols"`) ||
		!strings.Contains(sent[3], `"BINANCE:SOLUSDT"`) || !strings.HasPrefix(sent[3], fmt.Sprintf("~m~%d~m~", len(sent[3])-len(fmt.Sprintf("~m~%d~m~", len(sent[3]))))) {
		t.Errorf("session messages %q", sent)
	}
	if e := <-echo; e != "~m~4~m~~h~1" {
		t.Errorf("heartbeat echo %q", e)
	}
	ticks, _ := sink.ticks(t, "tradingview")
	if len(ticks) != 1 || ticks[0].Symbol != "BINANCE:SOLUSDT" || ticks[0].Kind != tickbeam.Quote {
		t.Errorf("ticks %+v", ticks)
	}
}

// Alpha Vantage: each poll emits only bars not emitted before; a "Note"
// (the rate limit) backs off; a missing minute is a bars gap.
func TestAlphaVantagePolling(t *testing.T) {
	body, err := os.ReadFile("testdata/alphavantage/intraday.json")
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]json.RawMessage
	if err := json.Unmarshal(body, &full); err != nil {
		t.Fatal(err)
	}
	var rows map[string]json.RawMessage
	_ = json.Unmarshal(full["Time Series (1min)"], &rows)
	var polls atomic.Int64
	var times []time.Time
	f := livetest.NewServer(t, func(context.Context, int, *websocket.Conn) {})
	f.Mux.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		times = append(times, time.Now())
		if r.URL.Query().Get("apikey") != "AVKEY" || r.URL.Query().Get("symbol") != "IBM" {
			fmt.Fprint(w, `{"Error Message":"the parameter apikey is invalid or missing."}`)
			return
		}
		series := map[string]json.RawMessage{}
		switch n {
		case 1: // 19:57 only
			series["2024-01-05 19:57:00"] = rows["2024-01-05 19:57:00"]
		case 2:
			fmt.Fprint(w, `{"Note":"Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 25 calls per day."}`)
			return
		default: // everything: 19:58 and 19:59 are new
			series = rows
		}
		b, _ := json.Marshal(map[string]any{"Meta Data": full["Meta Data"], "Time Series (1min)": series})
		w.Write(b)
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 3 }}
	conn, err := runConnector(t, "alphavantage:?symbols=IBM&interval=1min&every=100ms&endpoint="+f.HTTP()+"/query",
		Options{Getenv: env("ALPHAVANTAGE_API_KEY", "AVKEY")}, sink, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ticks, failed := sink.ticks(t, "alphavantage")
	if len(ticks) != 3 || failed != 1 {
		t.Errorf("%d ticks, %d failed lines (want 3 bars once each and the Note)", len(ticks), failed)
	}
	if st := conn.Stats(); st.RateLimited != 1 {
		t.Errorf("stats %+v", st)
	}
	if len(times) >= 3 && times[2].Sub(times[1]) < 100*time.Millisecond {
		t.Errorf("polled %s after the rate limit, want a backoff of at least every", times[2].Sub(times[1]))
	}
	if len(sink.gaps) != 0 {
		t.Errorf("gaps %+v, want none (19:57..19:59 are consecutive)", sink.gaps)
	}
	_, err = runConnector(t, "alphavantage:?symbols=IBM&every=100ms&endpoint="+f.HTTP()+"/query", Options{Getenv: env("ALPHAVANTAGE_API_KEY", "BAD")},
		&collect{}, 10*time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "alphavantage refused the connection") {
		t.Errorf("bad key: err = %v", err)
	}
}

// Alpha Vantage: a response that is not JSON is retried after a backoff
// (no line, no stop); a poll whose new bars skip an interval reports a bars
// gap (Alpha Vantage has no finer history: not filled).
func TestAlphaVantageGarbageAndMissingInterval(t *testing.T) {
	body, err := os.ReadFile("testdata/alphavantage/intraday.json")
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]json.RawMessage
	if err := json.Unmarshal(body, &full); err != nil {
		t.Fatal(err)
	}
	var rows map[string]json.RawMessage
	_ = json.Unmarshal(full["Time Series (1min)"], &rows)
	var polls atomic.Int64
	f := livetest.NewServer(t, func(context.Context, int, *websocket.Conn) {})
	f.Mux.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) {
		series := map[string]json.RawMessage{"2024-01-05 19:57:00": rows["2024-01-05 19:57:00"]}
		switch polls.Add(1) {
		case 1:
		case 2:
			fmt.Fprint(w, "<html>502 Bad Gateway</html>")
			return
		default: // 19:58 never came
			series["2024-01-05 19:59:00"] = rows["2024-01-05 19:59:00"]
		}
		b, _ := json.Marshal(map[string]any{"Meta Data": full["Meta Data"], "Time Series (1min)": series})
		w.Write(b)
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 2 }}
	conn, err := runConnector(t, "alphavantage:?symbols=IBM&every=100ms&endpoint="+f.HTTP()+"/query",
		Options{Getenv: env("ALPHAVANTAGE_API_KEY", "AVKEY")}, sink, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ticks, failed := sink.ticks(t, "alphavantage")
	if len(ticks) != 2 || failed != 0 || polls.Load() < 3 {
		t.Errorf("%d bars, %d failed lines after %d polls; want 19:57 and 19:59 once each, the garbage poll retried", len(ticks), failed, polls.Load())
	}
	want := []tickbeam.Gap{{Source: "alphavantage", Symbol: "IBM", FromID: "2024-01-05 19:57:00", ToID: "2024-01-05 19:59:00", Missing: 1,
		Unit: tickbeam.GapBars, From: time.Date(2024, 1, 5, 19, 57, 0, 0, time.UTC), To: time.Date(2024, 1, 5, 19, 59, 0, 0, time.UTC)}}
	if diff := cmp.Diff(want, sink.gaps, cmpopts.IgnoreFields(tickbeam.Gap{}, "DetectedAt", "Detail")); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	if st := conn.Stats(); st.Gaps != 1 || st.Missing != 1 || st.RateLimited != 0 {
		t.Errorf("stats %+v, want 1 gap of 1 bar", st)
	}
}
