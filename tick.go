package tickbeam

import (
	"fmt"
	"time"
)

// Kind says whether a Tick is a trade or a quote.
type Kind string

// Kinds of tick.
const (
	Trade Kind = "TRADE"
	Quote Kind = "QUOTE"
)

// Side is the aggressor side of a trade: the party that took liquidity.
type Side string

// Sides of a trade. Unknown is for feeds that do not say (Alpaca, Alpha Vantage).
const (
	Buy     Side = "BUY"
	Sell    Side = "SELL"
	Unknown Side = "UNKNOWN"
)

// Tick is one trade or quote as a feed reported it, normalised.
//
// EventTime is the feed's own timestamp; IngestTime is when tickbeam received
// the message. Quote fields are zero on trades and Price/Size may be zero on
// quotes. PrevClose is set only when the feed carries it (KIS, TradingView,
// Alpha Vantage GLOBAL_QUOTE).
type Tick struct {
	Symbol     string    `json:"symbol"`
	Venue      string    `json:"venue"`
	Kind       Kind      `json:"kind"`
	EventTime  time.Time `json:"event_time"`
	IngestTime time.Time `json:"ingest_time"`
	Price      float64   `json:"price"`
	Size       float64   `json:"size"`
	Side       Side      `json:"side"`
	BidPrice   float64   `json:"bid_price"`
	BidSize    float64   `json:"bid_size"`
	AskPrice   float64   `json:"ask_price"`
	AskSize    float64   `json:"ask_size"`
	TradeID    string    `json:"trade_id"`
	PrevClose  float64   `json:"prev_close"`
	Source     string    `json:"source"`
	Currency   string    `json:"currency"`
}

// String is a compact human-readable form for logs and test failures.
func (t Tick) String() string {
	if t.Kind == Quote {
		return fmt.Sprintf("%s %s QUOTE %s bid %g x %g ask %g x %g", t.Source, t.Symbol,
			t.EventTime.Format(time.RFC3339Nano), t.BidPrice, t.BidSize, t.AskPrice, t.AskSize)
	}
	return fmt.Sprintf("%s %s %s %s %g x %g %s id=%s", t.Source, t.Symbol, t.Kind,
		t.EventTime.Format(time.RFC3339Nano), t.Price, t.Size, t.Side, t.TradeID)
}
