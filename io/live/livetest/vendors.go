package livetest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Vendor is the server side of one websocket vendor, for tests and
// benchmarks that treat every vendor alike: the URI of a connector pointed
// at a Server, the handshake the connector expects, generated trade frames,
// and the frames with which the vendor refuses us or asks us to slow down.
type Vendor struct {
	// Name is the URI scheme and the parse format.
	Name string
	// URI points a connector at s.
	URI func(s *Server) string
	// Env holds the credentials the connector reads; none may show in an
	// error.
	Env map[string]string
	// Setup installs REST handlers the connection needs (KIS's approval
	// key); nil when none.
	Setup func(s *Server)
	// Handshake plays the server's side of connecting and subscribing on
	// connection n; refuse, when set, is sent instead of accepting the
	// credentials or subscription. False when the client did not do its
	// part.
	Handshake func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool
	// Subscribed reports whether connection n subscribed.
	Subscribed func(s *Server, n int) bool
	// Trade is the i-th trade (quote, for TradingView) of a generated
	// stream: ids and times grow with i.
	Trade func(i int) string
	// Refusal and RateLimit are vendor frames; "" when the vendor refuses
	// or limits only at the HTTP handshake.
	Refusal, RateLimit string
}

// Getenv reads v.Env.
func (v Vendor) Getenv(k string) string { return v.Env[k] }

// subscriptions notes which connections subscribed.
type subscriptions struct {
	mu sync.Mutex
	n  map[int]bool
}

func (s *subscriptions) mark(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[int]bool{}
	}
	s.n[n] = true
}

func (s *subscriptions) has(_ *Server, n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[n]
}

// genesis is when generated streams start: 2026-01-15 00:00 UTC (09:00 in
// Seoul, when KRX opens).
var genesis = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)

// kisTemplate is a recorded H0STCNT0 record (io/live/testdata/kis).
const kisTemplate = "0|H0STCNT0|001|005930^093000^71000^2^100^0.42^71120.35^71400^71500^70900^71100^71000^10^8123010^577894561000^12345^23456^11111^98.76^1500000^1481234^5^0.52^45.67^090000^5^-400^091500^5^-500^092030^2^100^20260115^20^N^123456^234567^3456789^4567890^0.14^7654321^106.12^0^0^71200"

// Vendors are the websocket vendors; each call makes fresh handshake state,
// so parallel tests each take their own.
func Vendors() []Vendor {
	cb, alpaca, kis, tv := &subscriptions{}, &subscriptions{}, &subscriptions{}, &subscriptions{}
	var kisKeys atomic.Int64
	kisFields := strings.Split(kisTemplate, "^")
	return []Vendor{{
		Name: "binance",
		URI: func(s *Server) string {
			return "binance:?symbols=BTCUSDT,ETHUSDT&endpoint=" + s.WS() + "&rest=" + s.HTTP()
		},
		Handshake: func(ctx context.Context, c *websocket.Conn, _ int, refuse string) bool {
			return refuse == "" || Send(ctx, c, refuse) // the URL subscribes
		},
		Subscribed: func(s *Server, n int) bool {
			u := s.URLs()
			return len(u) >= n && strings.Contains(u[n-1], "streams=btcusdt@trade/ethusdt@trade")
		},
		Trade: func(i int) string {
			ms := genesis.Add(time.Duration(i) * time.Millisecond).UnixMilli()
			return fmt.Sprintf(`{"stream":"btcusdt@trade","data":{"e":"trade","E":%d,"s":"BTCUSDT","t":%d,"p":"97000.%02d","q":"0.001","T":%d,"m":%v,"M":true}}`,
				ms, i+1, i%100, ms, i%2 == 0)
		},
		RateLimit: `{"error":{"code":-1003,"msg":"Too many requests; current limit is 5 requests per second."},"id":null}`,
	}, {
		Name: "coinbase",
		URI: func(s *Server) string {
			return "coinbase:?products=BTC-USD&endpoint=" + s.WS() + "&rest=" + s.HTTP()
		},
		Handshake: func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool {
			for range 2 {
				if b, ok := Read(ctx, c); !ok || !strings.Contains(string(b), `"type":"subscribe"`) {
					return false
				}
			}
			if refuse != "" {
				return Send(ctx, c, refuse)
			}
			cb.mark(n)
			return true
		},
		Subscribed: cb.has,
		Trade: func(i int) string {
			at := genesis.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
			return fmt.Sprintf(`{"channel":"market_trades","client_id":"","timestamp":%q,"sequence_num":%d,"events":[{"type":"update","trades":[{"trade_id":"%d","product_id":"BTC-USD","price":"97000.%02d","size":"0.01","side":"SELL","time":%q}]}]}`,
				at, i, i+1, i%100, at)
		},
		Refusal:   `{"type":"error","message":"Failed to subscribe","reason":"BTC-XYZ is not a valid product"}`,
		RateLimit: `{"type":"error","message":"rate limit exceeded"}`,
	}, {
		Name: "alpaca",
		URI:  func(s *Server) string { return "alpaca:?symbols=AAPL&backfill=false&endpoint=" + s.WS() },
		Env:  map[string]string{"ALPACA_API_KEY_ID": "AKFAKE", "ALPACA_API_SECRET_KEY": "alpaca-s3cret"},
		Handshake: func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool {
			Send(ctx, c, `[{"T":"success","msg":"connected"}]`)
			if b, ok := Read(ctx, c); !ok || !strings.Contains(string(b), `"key":"AKFAKE","secret":"alpaca-s3cret"`) {
				return false
			}
			if refuse != "" {
				return Send(ctx, c, refuse)
			}
			Send(ctx, c, `[{"T":"success","msg":"authenticated"}]`)
			if b, ok := Read(ctx, c); !ok || !strings.Contains(string(b), `"trades":["AAPL"]`) {
				return false
			}
			alpaca.mark(n)
			return Send(ctx, c, `[{"T":"subscription","trades":["AAPL"],"quotes":[],"bars":[]}]`)
		},
		Subscribed: alpaca.has,
		Trade: func(i int) string {
			at := genesis.Add(14*time.Hour + 30*time.Minute + time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano)
			return fmt.Sprintf(`[{"T":"t","S":"AAPL","i":%d,"x":"V","p":241.%02d,"s":10,"t":%q,"c":["@"],"z":"C"}]`, i+1, i%100, at)
		},
		Refusal:   `[{"T":"error","code":402,"msg":"auth failed"}]`,
		RateLimit: `[{"T":"error","code":406,"msg":"connection limit exceeded"}]`,
	}, {
		Name: "kis",
		URI: func(s *Server) string {
			return "kis:?symbols=005930&endpoint=" + s.WS() + "&rest=" + s.HTTP()
		},
		Env: map[string]string{"KIS_APP_KEY": "PSFAKE", "KIS_APP_SECRET": "kis-s3cret"},
		Setup: func(s *Server) {
			s.Mux.HandleFunc("/oauth2/Approval", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"approval_key":"APPROVAL-%d"}`, kisKeys.Add(1))
			})
		},
		Handshake: func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool {
			// A fresh approval key on every connection.
			b, ok := Read(ctx, c)
			if !ok || !strings.Contains(string(b), fmt.Sprintf(`"approval_key":"APPROVAL-%d"`, kisKeys.Load())) ||
				!strings.Contains(string(b), `"tr_id":"H0STCNT0"`) {
				return false
			}
			if refuse != "" {
				return Send(ctx, c, refuse)
			}
			kis.mark(n)
			return Send(ctx, c, `{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS"}}`)
		},
		Subscribed: kis.has,
		Trade: func(i int) string {
			// One share a trade, 1000 trades a second of KRX time.
			f := append([]string(nil), kisFields...)
			f[1] = genesis.Add(9*time.Hour + time.Duration(i/1000)*time.Second).Format("150405")
			f[12], f[13] = "1", fmt.Sprint(8123010+i)
			return strings.Join(f, "^")
		},
		Refusal: `{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"1","msg_cd":"OPSP0011","msg1":"invalid approval : NOT FOUND"}}`,
	}, {
		Name: "tradingview",
		URI:  func(s *Server) string { return "tradingview:?symbols=BINANCE:SOLUSDT&endpoint=" + s.WS() },
		Env:  map[string]string{"TRADINGVIEW_AUTH_TOKEN": "tv-s3cret-token"},
		Handshake: func(ctx context.Context, c *websocket.Conn, n int, _ string) bool { // refuses by HTTP only
			Send(ctx, c, TVFrame(`{"session_id":"<0.1.2>_abc","timestamp":1700000000}`))
			for _, m := range []string{"set_auth_token", "quote_create_session", "quote_set_fields", "quote_add_symbols"} {
				if b, ok := Read(ctx, c); !ok || !strings.Contains(string(b), `"`+m+`"`) {
					return false
				}
			}
			tv.mark(n)
			return true
		},
		Subscribed: tv.has,
		Trade: func(i int) string {
			return TVFrame(fmt.Sprintf(`{"m":"qsd","p":["qs_abc",{"n":"BINANCE:SOLUSDT","s":"ok","v":{"lp":101.%02d,"volume":%d,"lp_time":%d}}]}`,
				i%100, 12345+i, genesis.Unix()+int64(i)))
		},
	}}
}

// TVFrame frames a TradingView message: ~m~LEN~m~BODY.
func TVFrame(body string) string { return fmt.Sprintf("~m~%d~m~%s", len(body), body) }
