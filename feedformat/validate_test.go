package feedformat

import (
	"math"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
)

func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ok := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Trade, EventTime: now.Add(-time.Hour), Price: 1, Size: 1}
	with := func(f func(*tickbeam.Tick)) tickbeam.Tick { t := ok; f(&t); return t }
	quote := tickbeam.Tick{Symbol: "AAPL", Kind: tickbeam.Quote, EventTime: now, BidPrice: 10, AskPrice: 10.5}
	for _, c := range []struct {
		name   string
		tick   tickbeam.Tick
		limits Limits
		want   string
	}{
		{"valid trade", ok, Limits{}, ""},
		{"zero-size trade", with(func(t *tickbeam.Tick) { t.Size = 0 }), Limits{}, ""},
		{"valid quote", quote, Limits{}, ""},
		{"old replay is fine", with(func(t *tickbeam.Tick) { t.EventTime = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }), Limits{}, ""},
		{"missing symbol", with(func(t *tickbeam.Tick) { t.Symbol = "" }), Limits{}, "missing symbol"},
		{"bad utf-8", with(func(t *tickbeam.Tick) { t.Symbol = "A\xffB" }), Limits{}, `symbol "A\xffB" is not valid UTF-8`},
		{"zero price", with(func(t *tickbeam.Tick) { t.Price = 0 }), Limits{}, "AAPL: trade price 0 is not a positive finite number"},
		{"NaN price", with(func(t *tickbeam.Tick) { t.Price = math.NaN() }), Limits{}, "AAPL: trade price NaN is not a positive finite number"},
		{"infinite price", with(func(t *tickbeam.Tick) { t.Price = math.Inf(1) }), Limits{}, "AAPL: trade price +Inf is not a positive finite number"},
		{"negative size", with(func(t *tickbeam.Tick) { t.Size = -2 }), Limits{}, "AAPL: trade size -2 is negative or not finite"},
		{"negative prev close", with(func(t *tickbeam.Tick) { t.PrevClose = -1 }), Limits{}, "AAPL: prev_close -1 is negative or not finite"},
		{"quote without prices", tickbeam.Tick{Symbol: "X", Kind: tickbeam.Quote, EventTime: now}, Limits{}, "X: quote has no price, bid or ask"},
		{"negative ask", with(func(t *tickbeam.Tick) { *t = quote; t.AskPrice = -1 }), Limits{}, "AAPL: quote ask_price -1 is negative or not finite"},
		{"unknown kind", with(func(t *tickbeam.Tick) { t.Kind = "BAR" }), Limits{}, `AAPL: unknown kind "BAR"`},
		{"epoch zero", with(func(t *tickbeam.Tick) { t.EventTime = time.Unix(0, 0) }), Limits{}, "AAPL: event time 1970-01-01T00:00:00Z is before 2000-01-01T00:00:00Z"},
		{"a day and a second ahead", with(func(t *tickbeam.Tick) { t.EventTime = now.Add(24*time.Hour + time.Second) }), Limits{},
			"AAPL: event time 2026-11-23T12:00:01Z is more than 24h0m0s ahead of the clock"},
		{"custom limits", ok, Limits{NotBefore: now, MaxAhead: time.Minute}, "AAPL: event time 2026-11-22T11:00:00Z is before 2026-11-22T12:00:00Z"},
	} {
		tk := c.tick
		err := Validate(&tk, c.limits, now)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: Validate = %q, want %q", c.name, got, c.want)
		}
	}
}
