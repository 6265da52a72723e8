package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Coinbase endpoints: Advanced Trade's websocket and the Exchange REST API
// (public trades by id, for backfills).
const (
	CoinbaseStreamURL = "wss://advanced-trade-ws.coinbase.com"
	CoinbaseRESTURL   = "https://api.exchange.coinbase.com"
)

func init() {
	vendors["coinbase"] = vendor{
		format:  "coinbase",
		keys:    []string{"products"},
		silence: 30 * time.Second, // the heartbeats channel ticks every second
		parse: func(_ string, q url.Values) (vendorConfig, error) {
			ps, err := upperList(q, "products", symbolChars("-"))
			if err != nil {
				return nil, err
			}
			return coinbaseConfig{Products: ps}, nil
		},
	}
}

// coinbaseConfig is coinbase:?products=BTC-USD,ETH-USD: the market_trades
// and heartbeats channels of Advanced Trade (public: no key needed).
type coinbaseConfig struct{ Products []string }

func (c coinbaseConfig) connector(s Spec, o Options) (Connector, error) {
	v := &coinbase{cfg: c, spec: s}
	return &wsRunner{spec: s, opts: o, vendor: v, track: newIDTracker(), fill: v}, nil
}

type coinbase struct {
	cfg  coinbaseConfig
	spec Spec
}

func (c *coinbase) dial(context.Context) (string, http.Header, error) {
	return c.spec.Common.endpointOr(CoinbaseStreamURL), nil, nil
}

// subscribe sends one subscribe per channel (Coinbase closes a connection
// that subscribes to nothing within 5 s); heartbeats keep quiet products'
// connections visibly alive.
func (c *coinbase) subscribe(ctx context.Context, w *wsConn) error {
	for _, ch := range []string{"market_trades", "heartbeats"} {
		b, err := json.Marshal(map[string]any{"type": "subscribe", "product_ids": c.cfg.Products, "channel": ch})
		if err != nil {
			return err
		}
		if err := w.write(ctx, b); err != nil {
			return fmt.Errorf("subscribe %s: %w", ch, err)
		}
	}
	return nil
}

// inspect ends the connection at an error message: a refused subscription
// is an *AuthError, a rate limit backs off.
func (c *coinbase) inspect(p []byte) ([]byte, error) {
	if len(p) > 1024 || !strings.Contains(string(p), `"error"`) {
		return nil, nil
	}
	var m struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(p, &m) != nil || m.Type != "error" {
		return nil, nil
	}
	why := strings.TrimSpace(m.Message + " " + m.Reason)
	switch low := strings.ToLower(why); {
	case strings.Contains(low, "rate"):
		return nil, &rateLimitError{Reason: "coinbase: " + why}
	case strings.Contains(low, "auth") || strings.Contains(low, "subscribe"):
		return nil, &AuthError{Vendor: "coinbase", Reason: why}
	}
	return nil, fmt.Errorf("coinbase error: %s", why)
}

// coinbaseTrade is a row of GET /products/{id}/trades.
type coinbaseTrade struct {
	Time    string `json:"time"`
	TradeID uint64 `json:"trade_id"`
	Price   string `json:"price"`
	Size    string `json:"size"`
	Side    string `json:"side"`
}

// backfill pages GET /products/{id}/trades?after=ID (trades older than ID,
// newest first) down to the gap's first id, and returns the trades as one
// market_trades message.
func (c *coinbase) backfill(ctx context.Context, g tickbeam.Gap) ([][]byte, error) {
	from, to, err := gapIDs(g)
	if err != nil {
		return nil, err
	}
	base := c.spec.Common.restOr(CoinbaseRESTURL)
	type trade struct {
		TradeID   string `json:"trade_id"`
		ProductID string `json:"product_id"`
		Price     string `json:"price"`
		Size      string `json:"size"`
		Side      string `json:"side"`
		Time      string `json:"time"`
	}
	var trades []trade
	for after := to + 1; after > from; {
		q := url.Values{"after": {strconv.FormatUint(after, 10)}, "limit": {strconv.FormatUint(min(after-from, 1000), 10)}}
		var rows []coinbaseTrade
		u := base + "/products/" + url.PathEscape(g.Symbol) + "/trades?" + q.Encode()
		if err := getJSON(ctx, "coinbase", u, nil, &rows); err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			break
		}
		next := after
		for _, r := range rows {
			if r.TradeID >= from && r.TradeID <= to {
				trades = append(trades, trade{TradeID: strconv.FormatUint(r.TradeID, 10), ProductID: g.Symbol, Price: r.Price,
					Size: r.Size, Side: strings.ToUpper(r.Side), Time: r.Time})
			}
			next = min(next, r.TradeID)
		}
		if next >= after {
			break
		}
		after = next
	}
	if len(trades) == 0 {
		return nil, nil
	}
	msg, err := json.Marshal(map[string]any{"channel": "market_trades", "events": []any{map[string]any{"type": "update", "trades": trades}}})
	if err != nil {
		return nil, err
	}
	return [][]byte{msg}, nil
}
