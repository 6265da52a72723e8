package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TradingViewStreamURL is TradingView's quote websocket.
const TradingViewStreamURL = "wss://data.tradingview.com/socket.io/websocket"

func init() {
	vendors["tradingview"] = vendor{
		format:  "tradingview",
		keys:    []string{"symbols"},
		silence: time.Minute, // ~h~ heartbeats come every few seconds
		parse: func(_ string, q url.Values) (vendorConfig, error) {
			syms, err := list(q, "symbols", func(s string) error {
				ex, sym, ok := strings.Cut(s, ":")
				if !ok || ex == "" || sym == "" {
					return fmt.Errorf("%q: want EXCHANGE:SYMBOL, e.g. BINANCE:SOLUSDT", s)
				}
				return symbolChars(":_.!-")(s)
			})
			if err != nil {
				return nil, err
			}
			return tradingViewConfig{Symbols: syms}, nil
		},
	}
}

// tradingViewConfig is tradingview:?symbols=BINANCE:SOLUSDT: a quote session
// of the symbols. TRADINGVIEW_AUTH_TOKEN, when set, authenticates it
// (otherwise quotes are those of an anonymous user, delayed for some
// exchanges).
type tradingViewConfig struct{ Symbols []string }

func (c tradingViewConfig) connector(s Spec, o Options) (Connector, error) {
	return &wsRunner{spec: s, opts: o, vendor: &tradingView{cfg: c, spec: s, opts: o}}, nil
}

type tradingView struct {
	cfg  tradingViewConfig
	spec Spec
	opts Options
}

func (t *tradingView) dial(context.Context) (string, http.Header, error) {
	return t.spec.Common.endpointOr(TradingViewStreamURL), http.Header{"Origin": {"https://www.tradingview.com"}}, nil
}

// tvFrame frames a message: ~m~LEN~m~BODY.
func tvFrame(body string) []byte {
	return []byte("~m~" + strconv.Itoa(len(body)) + "~m~" + body)
}

func tvCall(method string, params ...any) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"m": method, "p": params})
	if err != nil {
		return nil, err
	}
	return tvFrame(string(b)), nil
}

// subscribe opens a quote session and adds the symbols to it.
func (t *tradingView) subscribe(ctx context.Context, w *wsConn) error {
	token := t.opts.getenv("TRADINGVIEW_AUTH_TOKEN")
	if token == "" {
		token = "unauthorized_user_token"
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	qs := "qs_" + hex.EncodeToString(id[:])
	syms := make([]any, 0, len(t.cfg.Symbols)+1)
	syms = append(syms, qs)
	for _, s := range t.cfg.Symbols {
		syms = append(syms, s)
	}
	for _, c := range []struct {
		m string
		p []any
	}{
		{"set_auth_token", []any{token}},
		{"quote_create_session", []any{qs}},
		{"quote_set_fields", []any{qs, "lp", "lp_time", "ch", "chp", "volume", "bid", "ask", "bid_size", "ask_size"}},
		{"quote_add_symbols", syms},
	} {
		f, err := tvCall(c.m, c.p...)
		if err != nil {
			return err
		}
		if err := w.write(ctx, f); err != nil {
			return fmt.Errorf("%s: %w", c.m, err)
		}
	}
	return nil
}

var tvHeartbeat = regexp.MustCompile(`^~m~\d+~m~~h~\d+$`)

// inspect echoes heartbeats (~h~N, which TradingView requires back) and
// stops at a protocol or critical error frame.
func (t *tradingView) inspect(p []byte) ([]byte, error) {
	if len(p) < 64 && tvHeartbeat.Match(p) {
		return p, nil
	}
	if len(p) < 2048 {
		s := string(p)
		for _, m := range []string{`"m":"critical_error"`, `"m":"protocol_error"`} {
			if strings.Contains(s, m) {
				return nil, fmt.Errorf("tradingview %s: %s", strings.Trim(m[4:], `"`), snippet(p))
			}
		}
	}
	return nil, nil
}
