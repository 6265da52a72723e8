package live

import (
	"bytes"
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

// Binance spot endpoints.
const (
	BinanceStreamURL = "wss://stream.binance.com:9443/stream"
	BinanceRESTURL   = "https://api.binance.com"
	// binanceMaxAge: Binance drops every connection at 24 h; tickbeam
	// reconnects a little before, and backfills the moment in between.
	binanceMaxAge = 23*time.Hour + 50*time.Minute
)

func init() {
	vendors["binance"] = vendor{
		format:  "binance",
		keys:    []string{"symbols"},
		silence: time.Minute, // Binance pings every 20 s: a minute of nothing is a dead socket
		maxAge:  binanceMaxAge,
		parse: func(_ string, q url.Values) (vendorConfig, error) {
			syms, err := upperList(q, "symbols", symbolChars(""))
			if err != nil {
				return nil, err
			}
			return binanceConfig{Symbols: syms}, nil
		},
	}
}

// binanceConfig is binance:?symbols=BTCUSDT,ETHUSDT: the spot trade streams
// of the symbols on one combined-stream connection.
type binanceConfig struct{ Symbols []string }

func (c binanceConfig) connector(s Spec, o Options) (Connector, error) {
	v := &binance{cfg: c, spec: s, opts: o}
	r := &wsRunner{spec: s, opts: o, vendor: v, track: newIDTracker(), fill: v}
	return r, nil
}

type binance struct {
	cfg  binanceConfig
	spec Spec
	opts Options
}

func (b *binance) dial(context.Context) (string, http.Header, error) {
	base := b.spec.Common.endpointOr(BinanceStreamURL)
	streams := make([]string, len(b.cfg.Symbols))
	for i, s := range b.cfg.Symbols {
		streams[i] = strings.ToLower(s) + "@trade"
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "streams=" + strings.Join(streams, "/"), nil, nil
}

// subscribe has nothing to send: the combined-stream URL names the streams.
func (b *binance) subscribe(context.Context, *wsConn) error { return nil }

// inspect stops at an error frame that says the connection sent too much
// ({"error":{"code":-1003,...}}, or a 429/418 status); trade frames pass.
func (b *binance) inspect(p []byte) ([]byte, error) {
	if len(p) > 512 || !bytes.Contains(p, []byte(`"error"`)) {
		return nil, nil
	}
	var m struct {
		Status int `json:"status"`
		Error  *struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"error"`
	}
	if json.Unmarshal(p, &m) != nil || m.Error == nil {
		return nil, nil
	}
	if m.Error.Code == -1003 || m.Status == 429 || m.Status == 418 || strings.Contains(strings.ToLower(m.Error.Msg), "too many") {
		return nil, &rateLimitError{Reason: fmt.Sprintf("binance error %d: %s", m.Error.Code, m.Error.Msg)}
	}
	return nil, fmt.Errorf("binance error %d: %s", m.Error.Code, m.Error.Msg)
}

// binanceTrade is a row of GET /api/v3/historicalTrades.
type binanceTrade struct {
	ID           uint64 `json:"id"`
	Price        string `json:"price"`
	Qty          string `json:"qty"`
	Time         int64  `json:"time"`
	IsBuyerMaker bool   `json:"isBuyerMaker"`
	IsBestMatch  bool   `json:"isBestMatch"`
}

// backfill reads the gap's trades from /api/v3/historicalTrades by id and
// returns them as trade stream events. BINANCE_API_KEY, when set, goes in
// the X-MBX-APIKEY header.
func (b *binance) backfill(ctx context.Context, g tickbeam.Gap) ([][]byte, error) {
	from, to, err := gapIDs(g)
	if err != nil {
		return nil, err
	}
	base := b.spec.Common.restOr(BinanceRESTURL)
	var h http.Header
	if k := b.opts.getenv("BINANCE_API_KEY"); k != "" {
		h = http.Header{"X-Mbx-Apikey": {k}}
	}
	var frames [][]byte
	for next := from; next <= to; {
		limit := min(to-next+1, 1000)
		q := url.Values{"symbol": {g.Symbol}, "fromId": {strconv.FormatUint(next, 10)}, "limit": {strconv.FormatUint(limit, 10)}}
		var rows []binanceTrade
		if err := getJSON(ctx, "binance", base+"/api/v3/historicalTrades?"+q.Encode(), h, &rows); err != nil {
			return frames, err
		}
		if len(rows) == 0 {
			break
		}
		for _, t := range rows {
			if t.ID < next || t.ID > to {
				continue
			}
			f, err := json.Marshal(binanceEvent{E: "trade", EventTime: t.Time, Symbol: g.Symbol, ID: t.ID, Price: t.Price, Qty: t.Qty,
				TradeTime: t.Time, Maker: t.IsBuyerMaker, Best: t.IsBestMatch})
			if err != nil {
				return frames, err
			}
			frames = append(frames, f)
		}
		last := rows[len(rows)-1].ID
		if last < next {
			break
		}
		next = last + 1
	}
	return frames, nil
}

// binanceEvent is a trade stream event, as the stream sends it.
type binanceEvent struct {
	E         string `json:"e"`
	EventTime int64  `json:"E"`
	Symbol    string `json:"s"`
	ID        uint64 `json:"t"`
	Price     string `json:"p"`
	Qty       string `json:"q"`
	TradeTime int64  `json:"T"`
	Maker     bool   `json:"m"`
	Best      bool   `json:"M"`
}
