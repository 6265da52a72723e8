package feedformat

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
)

// field is a Tick field that the json and csv formats map from the payload.
type field uint8

const (
	fSymbol field = iota
	fPrice
	fSize
	fEventTime
	fSide
	fTradeID
	fVenue
	fBidPrice
	fBidSize
	fAskPrice
	fAskSize
	fPrevClose
	fCurrency
	fKind
	nFields
)

var fieldNames = [nFields]string{
	fSymbol: "symbol", fPrice: "price", fSize: "size", fEventTime: "event_time",
	fSide: "side", fTradeID: "trade_id", fVenue: "venue", fBidPrice: "bid_price",
	fBidSize: "bid_size", fAskPrice: "ask_price", fAskSize: "ask_size",
	fPrevClose: "prev_close", fCurrency: "currency", fKind: "kind",
}

func (f field) String() string {
	if f < nFields {
		return fieldNames[f]
	}
	return fmt.Sprintf("field(%d)", int(f))
}

func fieldByName(name string) (field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return field(i), true
		}
	}
	return 0, false
}

// checkRequired reports the required fields missing from have: symbol
// (unless Options.Symbol supplies it), price and event_time.
func checkRequired(have *[nFields]bool, o Options) error {
	var missing []string
	for _, f := range [...]field{fSymbol, fPrice, fEventTime} {
		if !have[f] && !(f == fSymbol && o.Symbol != "") {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("required fields not mapped: %s", strings.Join(missing, ", "))
	}
	return nil
}

// cell is the text of one mapped field in one record; set is false when the
// payload does not have it (a JSON path not found, or null).
type cell struct {
	text []byte
	set  bool
}

// builder turns the cells of a record into a Tick, with the rules json and
// csv share.
type builder struct {
	source string
	symbol string
	times  timeParser
	syms   interner
}

func newBuilder(o Options) (builder, error) {
	tp, err := newTimeParser(o)
	if err != nil {
		return builder{}, err
	}
	return builder{source: o.Source, symbol: o.Symbol, times: tp}, nil
}

// fieldError is a cell that does not parse; the format adds where it was.
type fieldError struct {
	f   field
	msg string
}

func (b *builder) build(c *[nFields]cell) (tickbeam.Tick, *fieldError) {
	t := tickbeam.Tick{Kind: tickbeam.Trade, Side: tickbeam.Unknown, Source: b.source, Symbol: b.symbol}
	if s := trimSpace(c[fSymbol].text); len(s) > 0 {
		t.Symbol = b.syms.get(s)
	}
	if v := c[fEventTime]; v.set {
		at, msg := b.times.parse(trimSpace(v.text))
		if msg != "" {
			return t, &fieldError{fEventTime, msg}
		}
		t.EventTime = at
	}
	for _, f := range [...]struct {
		f   field
		dst *float64
	}{
		{fPrice, &t.Price}, {fSize, &t.Size}, {fBidPrice, &t.BidPrice}, {fBidSize, &t.BidSize},
		{fAskPrice, &t.AskPrice}, {fAskSize, &t.AskSize}, {fPrevClose, &t.PrevClose},
	} {
		v := c[f.f]
		s := trimSpace(v.text)
		if !v.set || (len(s) == 0 && f.f != fPrice) {
			continue
		}
		x, ok := parseDecimal(s)
		if !ok {
			return t, &fieldError{f.f, "invalid number " + quoteBytes(v.text)}
		}
		*f.dst = x
	}
	if s := trimSpace(c[fSide].text); len(s) > 0 {
		t.Side = sideOf(s)
	}
	if s := trimSpace(c[fTradeID].text); len(s) > 0 {
		t.TradeID = string(s)
	}
	if s := trimSpace(c[fVenue].text); len(s) > 0 {
		t.Venue = b.syms.get(s)
	}
	if s := trimSpace(c[fCurrency].text); len(s) > 0 {
		t.Currency = b.syms.get(s)
	}
	if s := trimSpace(c[fKind].text); len(s) > 0 {
		switch strings.ToLower(string(s)) {
		case "trade", "t":
			t.Kind = tickbeam.Trade
		case "quote", "q":
			t.Kind = tickbeam.Quote
		default:
			return t, &fieldError{fKind, "unknown kind " + quoteBytes(s) + " (want trade or quote)"}
		}
	}
	return t, nil
}

// sideOf maps buy/b/bid to BUY and sell/s/ask/offer to SELL, ignoring case;
// anything else is UNKNOWN.
func sideOf(s []byte) tickbeam.Side {
	if len(s) > 5 {
		return tickbeam.Unknown
	}
	switch strings.ToLower(string(s)) {
	case "buy", "b", "bid":
		return tickbeam.Buy
	case "sell", "s", "ask", "offer":
		return tickbeam.Sell
	}
	return tickbeam.Unknown
}

// timeParser reads event times for json and csv.
type timeParser struct {
	layout string
	loc    *time.Location
}

func newTimeParser(o Options) (timeParser, error) {
	loc, err := loadLocation(o.Location)
	return timeParser{layout: o.TimeLayout, loc: loc}, err
}

// loadLocation is Options.Location's zone: UTC when empty.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, fmt.Errorf("unknown time zone %q in Options.Location", name)
	}
	return loc, nil
}

// Layouts tried for strings when no TimeLayout is set: with an offset first,
// then without, in the configured location.
var (
	offsetLayouts = [...]string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"}
	localLayouts  = [...]string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}
)

// parse returns the UTC time in s, or a message saying why it is not one.
func (tp *timeParser) parse(s []byte) (time.Time, string) {
	if len(s) == 0 {
		return time.Time{}, "empty time"
	}
	if tp.layout != "" {
		t, err := time.ParseInLocation(tp.layout, string(s), tp.loc)
		if err != nil {
			return time.Time{}, fmt.Sprintf("invalid time %s (want layout %q)", quoteBytes(s), tp.layout)
		}
		return t.UTC(), ""
	}
	if t, ok := parseEpoch(s); ok {
		return t, ""
	}
	str := string(s)
	for _, l := range offsetLayouts {
		if t, err := time.Parse(l, str); err == nil {
			return t.UTC(), ""
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, str, tp.loc); err == nil {
			return t.UTC(), ""
		}
	}
	return time.Time{}, "invalid time " + quoteBytes(s) + " (want RFC 3339 or Unix epoch seconds, ms, µs or ns)"
}

// parseEpoch reads a decimal Unix time whose unit follows from its
// magnitude: below 1e11 seconds, below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds. A fraction is kept to the nanosecond.
func parseEpoch(s []byte) (time.Time, bool) {
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac := s, []byte(nil)
	for i, c := range s {
		if c == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
		if c == 'e' || c == 'E' {
			return epochFloat(s, neg)
		}
	}
	n, ok := parseUint(intPart)
	if !ok || n > math.MaxInt64 {
		return time.Time{}, false
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			if c == 'e' || c == 'E' {
				return epochFloat(s, neg)
			}
			return time.Time{}, false
		}
	}
	// fracNanos scales the fraction of one unit of 10^digits nanoseconds.
	fracNanos := func(digits int) int64 {
		var v int64
		for i := 0; i < digits; i++ {
			v *= 10
			if i < len(frac) {
				v += int64(frac[i] - '0')
			}
		}
		return v
	}
	var sec, nsec int64
	switch {
	case n < 1e11:
		sec, nsec = int64(n), fracNanos(9)
	case n < 1e14:
		sec, nsec = int64(n/1e3), int64(n%1e3)*1e6+fracNanos(6)
	case n < 1e17:
		sec, nsec = int64(n/1e6), int64(n%1e6)*1e3+fracNanos(3)
	default:
		sec, nsec = int64(n/1e9), int64(n%1e9)
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), true
}

// epochFloat handles exponent notation, at float64 precision.
func epochFloat(s []byte, neg bool) (time.Time, bool) {
	f, ok := parseDecimal(s)
	if !ok || f >= 9e18 {
		return time.Time{}, false
	}
	var unit float64
	switch {
	case f < 1e11:
		unit = 1e9
	case f < 1e14:
		unit = 1e6
	case f < 1e17:
		unit = 1e3
	default:
		unit = 1
	}
	sec := math.Floor(f * unit / 1e9)
	nsec := math.Round(f*unit - sec*1e9)
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}
