package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Alpaca market data endpoints.
const (
	AlpacaStreamURL = "wss://stream.data.alpaca.markets"
	AlpacaRESTURL   = "https://data.alpaca.markets"
)

func init() {
	vendors["alpaca"] = vendor{
		format:   "alpaca",
		keys:     []string{"symbols", "feed"},
		variants: []string{"crypto"},
		silence:  2 * time.Minute, // quiet symbols trade rarely; the server pings
		parse: func(variant string, q url.Values) (vendorConfig, error) {
			c := alpacaConfig{Crypto: variant == "crypto", Feed: q.Get("feed")}
			syms, err := upperList(q, "symbols", symbolChars("/.-"))
			if err != nil {
				return nil, err
			}
			c.Symbols = syms
			switch {
			case c.Crypto && c.Feed != "":
				return nil, fmt.Errorf("feed=%s: crypto has one feed (us)", c.Feed)
			case c.Crypto:
			case c.Feed == "":
				c.Feed = "iex"
			case c.Feed != "iex" && c.Feed != "sip":
				return nil, fmt.Errorf("feed=%q: want iex (free) or sip (paid)", c.Feed)
			}
			return c, nil
		},
	}
}

// alpacaConfig is alpaca:?symbols=AAPL,MSFT&feed=iex|sip (stocks) or
// alpaca:crypto?symbols=BTC/USD: the trades of the symbols, with key and
// secret from ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY (or Alpaca's own
// APCA_API_KEY_ID and APCA_API_SECRET_KEY).
type alpacaConfig struct {
	Symbols []string
	Feed    string
	Crypto  bool
}

func (c alpacaConfig) connector(s Spec, o Options) (Connector, error) {
	v := &alpaca{cfg: c, spec: s, opts: o}
	return &wsRunner{spec: s, opts: o, vendor: v, track: newOutageTracker(), fill: v}, nil
}

type alpaca struct {
	cfg  alpacaConfig
	spec Spec
	opts Options
}

// credentials reads the key pair; their absence is a refusal before any dial.
func (a *alpaca) credentials() (key, secret string, err error) {
	for _, p := range [][2]string{{"ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY"}, {"APCA_API_KEY_ID", "APCA_API_SECRET_KEY"}} {
		if k, s := a.opts.getenv(p[0]), a.opts.getenv(p[1]); k != "" && s != "" {
			return k, s, nil
		}
	}
	return "", "", &AuthError{Vendor: "alpaca", Reason: "set ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY in the environment"}
}

func (a *alpaca) dial(context.Context) (string, http.Header, error) {
	if _, _, err := a.credentials(); err != nil {
		return "", nil, err
	}
	path := "/v2/" + a.cfg.Feed
	if a.cfg.Crypto {
		path = "/v1beta3/crypto/us"
	}
	return a.spec.Common.endpointOr(AlpacaStreamURL + path), nil, nil
}

type alpacaMsg struct {
	T    string `json:"T"`
	Msg  string `json:"msg"`
	Code int    `json:"code"`
}

// subscribe waits for "connected", authenticates (an error reply is an
// *AuthError, or a rate limit for 406/429), and subscribes to trades.
func (a *alpaca) subscribe(ctx context.Context, w *wsConn) error {
	key, secret, err := a.credentials()
	if err != nil {
		return err
	}
	if _, err := a.expect(ctx, w, "connected"); err != nil {
		return err
	}
	auth, _ := json.Marshal(map[string]string{"action": "auth", "key": key, "secret": secret})
	if err := w.write(ctx, auth); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if _, err := a.expect(ctx, w, "authenticated"); err != nil {
		return err
	}
	sub, _ := json.Marshal(map[string]any{"action": "subscribe", "trades": a.cfg.Symbols})
	if err := w.write(ctx, sub); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// expect reads frames until a success message saying want.
func (a *alpaca) expect(ctx context.Context, w *wsConn, want string) (alpacaMsg, error) {
	for {
		p, _, err := w.read(ctx)
		if err != nil {
			return alpacaMsg{}, fmt.Errorf("waiting for %q: %w", want, err)
		}
		var msgs []alpacaMsg
		if json.Unmarshal(p, &msgs) != nil {
			continue
		}
		for _, m := range msgs {
			switch {
			case m.T == "success" && m.Msg == want:
				return m, nil
			case m.T == "error":
				return m, alpacaError(m)
			}
		}
	}
}

// alpacaError classifies an error message: connection limit (406) and slow
// client (407) back off; the rest (402 auth failed, 409 insufficient
// subscription, 405 symbol limit) refuse us for good.
func alpacaError(m alpacaMsg) error {
	switch m.Code {
	case 406, 407, 429:
		return &rateLimitError{Reason: fmt.Sprintf("alpaca error %d: %s", m.Code, m.Msg)}
	case 500:
		return fmt.Errorf("alpaca error %d: %s", m.Code, m.Msg)
	}
	return &AuthError{Vendor: "alpaca", Reason: fmt.Sprintf("error %d: %s", m.Code, m.Msg)}
}

func (a *alpaca) inspect(p []byte) ([]byte, error) {
	if len(p) > 512 || !strings.Contains(string(p), `"error"`) {
		return nil, nil
	}
	var msgs []alpacaMsg
	if json.Unmarshal(p, &msgs) != nil {
		return nil, nil
	}
	for _, m := range msgs {
		if m.T == "error" {
			return nil, alpacaError(m)
		}
	}
	return nil, nil
}

// backfill reads the trades between the last trade before an outage and the
// first after it from the historical trades endpoint, as stream messages.
func (a *alpaca) backfill(ctx context.Context, g tickbeam.Gap) ([][]byte, error) {
	key, secret, err := a.credentials()
	if err != nil {
		return nil, err
	}
	base := a.spec.Common.restOr(AlpacaRESTURL)
	h := http.Header{"Apca-Api-Key-Id": {key}, "Apca-Api-Secret-Key": {secret}}
	q := url.Values{"start": {g.From.Format(time.RFC3339Nano)}, "end": {g.To.Format(time.RFC3339Nano)}, "limit": {"10000"}}
	var rows []map[string]any
	if a.cfg.Crypto {
		q.Set("symbols", g.Symbol)
		var resp struct {
			Trades map[string][]map[string]any `json:"trades"`
		}
		if err := getJSON(ctx, "alpaca", base+"/v1beta3/crypto/us/trades?"+q.Encode(), h, &resp); err != nil {
			return nil, err
		}
		rows = resp.Trades[g.Symbol]
	} else {
		q.Set("feed", a.cfg.Feed)
		var resp struct {
			Trades []map[string]any `json:"trades"`
		}
		u := base + "/v2/stocks/" + url.PathEscape(g.Symbol) + "/trades?" + q.Encode()
		if err := getJSON(ctx, "alpaca", u, h, &resp); err != nil {
			return nil, err
		}
		rows = resp.Trades
	}
	var msgs []map[string]any
	for _, r := range rows {
		// The endpoint's range is inclusive: the two trades that bound the
		// outage were streamed.
		if t, _ := r["t"].(string); t == g.From.Format(time.RFC3339Nano) || t == g.To.Format(time.RFC3339Nano) {
			continue
		}
		r["T"], r["S"] = "t", g.Symbol
		msgs = append(msgs, r)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

// outageTracker finds the trades a feed without consecutive ids may have
// lost: after a reconnect, each symbol's first trade opens a gap back to its
// last trade before the outage, which the history fills (Missing is then
// what it held; a gap with nothing missing is no gap).
type outageTracker struct {
	last    map[string]time.Time
	pending map[string]bool
}

func newOutageTracker() *outageTracker {
	return &outageTracker{last: map[string]time.Time{}, pending: map[string]bool{}}
}

func (t *outageTracker) reconnected() {
	for s := range t.last {
		t.pending[s] = true
	}
}

func (t *outageTracker) check(k *tickbeam.Tick) (tickbeam.Gap, bool) {
	if k.Kind != tickbeam.Trade {
		return tickbeam.Gap{}, false
	}
	prev, seen := t.last[k.Symbol]
	if seen && !k.EventTime.After(prev) {
		return tickbeam.Gap{}, false
	}
	t.last[k.Symbol] = k.EventTime
	if !t.pending[k.Symbol] {
		return tickbeam.Gap{}, false
	}
	delete(t.pending, k.Symbol)
	return tickbeam.Gap{Symbol: k.Symbol, From: prev, To: k.EventTime, Unit: tickbeam.GapTrades, Detail: "reconnect"}, true
}
