package livetest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
)

// binanceTrade is a trade stream event's fields.
type binanceTrade struct {
	Symbol string `json:"s"`
	ID     uint64 `json:"t"`
	Price  string `json:"p"`
	Qty    string `json:"q"`
	Time   int64  `json:"T"`
	Maker  bool   `json:"m"`
	Best   bool   `json:"M"`
}

// BinanceHistory serves GET /api/v3/historicalTrades (symbol, fromId,
// limit) from recorded combined-stream frames, counting calls.
func BinanceHistory(frames []string, calls *atomic.Int64) http.HandlerFunc {
	var trades []binanceTrade
	for _, fr := range frames {
		var m struct{ Data binanceTrade }
		if json.Unmarshal([]byte(fr), &m) == nil && m.Data.Symbol != "" {
			trades = append(trades, m.Data)
		}
	}
	type row struct {
		ID           uint64 `json:"id"`
		Price        string `json:"price"`
		Qty          string `json:"qty"`
		QuoteQty     string `json:"quoteQty"`
		Time         int64  `json:"time"`
		IsBuyerMaker bool   `json:"isBuyerMaker"`
		IsBestMatch  bool   `json:"isBestMatch"`
	}
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		q := r.URL.Query()
		from, err1 := strconv.ParseUint(q.Get("fromId"), 10, 64)
		limit, err2 := strconv.Atoi(q.Get("limit"))
		if err1 != nil || err2 != nil || limit < 1 || limit > 1000 {
			http.Error(w, `{"code":-1100,"msg":"Illegal characters found in a parameter."}`, http.StatusBadRequest)
			return
		}
		rows := []row{}
		for _, t := range trades {
			if t.Symbol == q.Get("symbol") && t.ID >= from && len(rows) < limit {
				rows = append(rows, row{ID: t.ID, Price: t.Price, Qty: t.Qty, Time: t.Time, IsBuyerMaker: t.Maker, IsBestMatch: t.Best})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rows)
	}
}
