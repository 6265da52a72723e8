package feedformat

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/tickbeam/tickbeam"
)

// Validate checks the rules every tick must meet, whatever its feed:
// a symbol, a finite positive trade price, finite non-negative sizes, quote
// prices that are finite and not negative, and an event time within limits
// relative to now.
func Validate(t *tickbeam.Tick, l Limits, now time.Time) error {
	l = l.withDefaults()
	if t.Symbol == "" {
		return errors.New("missing symbol")
	}
	// Text fields reach BigQuery STRING columns and file names downstream,
	// which both reject invalid UTF-8.
	for _, f := range [...]struct{ name, v string }{{"symbol", t.Symbol}, {"trade_id", t.TradeID}, {"venue", t.Venue}, {"currency", t.Currency}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s %q is not valid UTF-8", f.name, f.v)
		}
	}
	switch t.Kind {
	case tickbeam.Trade:
		if !finite(t.Price) || t.Price <= 0 {
			return fmt.Errorf("%s: trade price %v is not a positive finite number", t.Symbol, t.Price)
		}
		if !finite(t.Size) || t.Size < 0 {
			return fmt.Errorf("%s: trade size %v is negative or not finite", t.Symbol, t.Size)
		}
	case tickbeam.Quote:
		for _, f := range [...]struct {
			name string
			v    float64
		}{{"price", t.Price}, {"size", t.Size}, {"bid_price", t.BidPrice}, {"bid_size", t.BidSize}, {"ask_price", t.AskPrice}, {"ask_size", t.AskSize}} {
			if !finite(f.v) || f.v < 0 {
				return fmt.Errorf("%s: quote %s %v is negative or not finite", t.Symbol, f.name, f.v)
			}
		}
		if t.Price == 0 && t.BidPrice == 0 && t.AskPrice == 0 {
			return fmt.Errorf("%s: quote has no price, bid or ask", t.Symbol)
		}
	default:
		return fmt.Errorf("%s: unknown kind %q", t.Symbol, t.Kind)
	}
	if !finite(t.PrevClose) || t.PrevClose < 0 {
		return fmt.Errorf("%s: prev_close %v is negative or not finite", t.Symbol, t.PrevClose)
	}
	if t.EventTime.Before(l.NotBefore) {
		return fmt.Errorf("%s: event time %s is before %s", t.Symbol, t.EventTime.UTC().Format(time.RFC3339Nano), l.NotBefore.UTC().Format(time.RFC3339))
	}
	if t.EventTime.After(now.Add(l.MaxAhead)) {
		return fmt.Errorf("%s: event time %s is more than %s ahead of the clock", t.Symbol, t.EventTime.UTC().Format(time.RFC3339Nano), l.MaxAhead)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
