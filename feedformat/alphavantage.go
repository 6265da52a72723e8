package feedformat

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/jsonscan"
)

func init() { constructors["alphavantage"] = newAlphaVantage }

// alphavantage parses Alpha Vantage REST responses.
//
// TIME_SERIES_INTRADAY (and the other "Time Series …" responses): each row
// becomes one TRADE tick at its close: Price is the close, Size the volume,
// Side UNKNOWN, TradeID the row time's digits ("20240105195900"), EventTime
// the row time in the Meta Data time zone. The vendor's open, high and low
// are not kept: a bar is one trade-like tick at its close. Rows come out in
// ascending time order whatever the order of the JSON object. Date-only rows
// (daily series) are taken at 16:00 in the Meta Data zone, the close of the
// regular session.
//
// GLOBAL_QUOTE: one QUOTE tick with Price and PrevClose. Its only timestamp
// is the latest trading day, so EventTime is that day at 16:00
// America/New_York: a GLOBAL_QUOTE reflects the regular session, which
// closes then.
//
// "Information", "Note" and "Error Message" responses (rate limits, bad
// calls) are errors quoting the vendor's message, so they show in dead
// letters.
type alphavantage struct {
	source string
	symbol string
	syms   interner
	zones  map[string]*time.Location
	rows   []avRow
}

type avRow struct {
	at    time.Time
	id    string
	price float64
	size  float64
}

func newAlphaVantage(o Options) (Parser, error) {
	return &alphavantage{source: o.Source, symbol: o.Symbol, zones: map[string]*time.Location{}}, nil
}

// avName strips an Alpha Vantage key's "N. " ordinal: "4. close" -> "close".
func avName(k []byte) string {
	i := 0
	for i < len(k) && k[i] >= '0' && k[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(k) && k[i] == '.' && k[i+1] == ' ' {
		return string(k[i+2:])
	}
	return string(k)
}

func (p *alphavantage) Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error) {
	root, err := jsonscan.Parse(payload)
	if err != nil {
		return dst, errors.New("alphavantage: invalid JSON: " + err.Error())
	}
	if root.Kind != jsonscan.Object {
		return dst, fmt.Errorf("alphavantage: response is a JSON %s, not an object", root.Kind)
	}
	var meta, series, quote jsonscan.Value
	var seriesKey string
	it := root.Members()
	for it.Next() {
		k := string(it.Key().Text(nil))
		v := it.Value()
		switch {
		case k == "Meta Data":
			meta = v
		case k == "Global Quote":
			quote = v
		case k == "Information" || k == "Note" || k == "Error Message":
			return dst, fmt.Errorf("alphavantage: API %s: %s", k, quoteLong(v.Text(nil)))
		case strings.Contains(k, "Time Series"):
			series, seriesKey = v, k
		}
	}
	switch {
	case quote.Kind != jsonscan.Invalid:
		return p.globalQuote(dst, quote)
	case series.Kind != jsonscan.Invalid:
		return p.timeSeries(dst, meta, series, seriesKey)
	}
	return dst, errors.New(`alphavantage: response has no "Time Series", "Global Quote" or API message`)
}

func (p *alphavantage) location(name string) (*time.Location, error) {
	if loc, ok := p.zones[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("alphavantage: unknown time zone %s", quote(name))
	}
	if len(p.zones) > 100 {
		clear(p.zones)
	}
	p.zones[name] = loc
	return loc, nil
}

func (p *alphavantage) timeSeries(dst []tickbeam.Tick, meta, series jsonscan.Value, key string) ([]tickbeam.Tick, error) {
	if meta.Kind != jsonscan.Object {
		return dst, errors.New(`alphavantage: time series without "Meta Data"`)
	}
	if series.Kind != jsonscan.Object {
		return dst, fmt.Errorf("alphavantage: %s is a JSON %s, not an object", quote(key), series.Kind)
	}
	var symbol []byte
	zone := ""
	it := meta.Members()
	for it.Next() {
		switch avName(it.Key().Text(nil)) {
		case "Symbol":
			symbol = it.Value().Text(nil)
		case "Time Zone":
			zone = string(it.Value().Text(nil))
		}
	}
	sym, err := p.sym(symbol)
	if err != nil {
		return dst, err
	}
	if zone == "" {
		return dst, errors.New(`alphavantage: "Meta Data" has no "Time Zone"`)
	}
	loc, err := p.location(zone)
	if err != nil {
		return dst, err
	}

	rows := p.rows[:0]
	it = series.Members()
	for it.Next() {
		stamp := it.Key().Text(nil)
		at, ok := avTime(stamp, loc)
		if !ok {
			return dst, fmt.Errorf("alphavantage: %s: invalid row time %s", quote(key), quoteBytes(stamp))
		}
		row := avRow{at: at.UTC()}
		var close, volume jsonscan.Value
		fields := it.Value().Members()
		for fields.Next() {
			switch avName(fields.Key().Text(nil)) {
			case "close":
				close = fields.Value()
			case "volume":
				volume = fields.Value()
			}
		}
		if err := fields.Err(); err != nil {
			return dst, fmt.Errorf("alphavantage: row %s: %v", quoteBytes(stamp), err)
		}
		where := "alphavantage: row " + string(stamp)
		if close.IsNull() {
			return dst, errors.New(where + `: missing "close"`)
		}
		if row.price, ok = floatValue(close); !ok {
			return dst, errField(where, "close", "close", close.Raw)
		}
		if !volume.IsNull() {
			if row.size, ok = floatValue(volume); !ok {
				return dst, errField(where, "volume", "volume", volume.Raw)
			}
		}
		digits := make([]byte, 0, 14)
		for _, c := range stamp {
			if c >= '0' && c <= '9' {
				digits = append(digits, c)
			}
		}
		row.id = string(digits)
		rows = append(rows, row)
	}
	p.rows = rows[:0]
	if len(rows) == 0 {
		return dst, ErrControl
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].at.Equal(rows[j].at) {
			return rows[i].at.Before(rows[j].at)
		}
		return rows[i].id < rows[j].id
	})
	for _, r := range rows {
		dst = append(dst, tickbeam.Tick{
			Symbol:    sym,
			Kind:      tickbeam.Trade,
			EventTime: r.at,
			Price:     r.price,
			Size:      r.size,
			Side:      tickbeam.Unknown,
			TradeID:   r.id,
			Source:    p.source,
		})
	}
	return dst, nil
}

// avTime parses a row time: "2006-01-02 15:04:05", "2006-01-02 15:04", or a
// date alone, taken at 16:00 (the regular session's close).
func avTime(b []byte, loc *time.Location) (time.Time, bool) {
	s := string(b)
	for _, layout := range [...]string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, loc), true
	}
	return time.Time{}, false
}

func (p *alphavantage) sym(b []byte) (string, error) {
	if len(b) > 0 {
		return p.syms.get(b), nil
	}
	if p.symbol != "" {
		return p.symbol, nil
	}
	return "", errors.New(`alphavantage: response names no symbol and Options.Symbol is empty`)
}

func (p *alphavantage) globalQuote(dst []tickbeam.Tick, q jsonscan.Value) ([]tickbeam.Tick, error) {
	if q.Kind != jsonscan.Object {
		return dst, fmt.Errorf(`alphavantage: "Global Quote" is a JSON %s, not an object`, q.Kind)
	}
	var symbol []byte
	var price, prev, day jsonscan.Value
	members := 0
	it := q.Members()
	for it.Next() {
		members++
		switch avName(it.Key().Text(nil)) {
		case "symbol":
			symbol = it.Value().Text(nil)
		case "price":
			price = it.Value()
		case "previous close":
			prev = it.Value()
		case "latest trading day":
			day = it.Value()
		}
	}
	if members == 0 {
		return dst, errors.New(`alphavantage: empty "Global Quote" (unknown symbol?)`)
	}
	sym, err := p.sym(symbol)
	if err != nil {
		return dst, err
	}
	if price.IsNull() {
		return dst, errors.New(`alphavantage: "Global Quote" has no "05. price"`)
	}
	px, ok := floatValue(price)
	if !ok {
		return dst, errField("alphavantage", "05. price", "price", price.Raw)
	}
	d, err := time.ParseInLocation("2006-01-02", string(day.Text(nil)), newYork)
	if err != nil {
		if day.IsNull() {
			return dst, errors.New(`alphavantage: "Global Quote" has no "07. latest trading day"`)
		}
		return dst, errField("alphavantage", "07. latest trading day", "date", day.Raw)
	}
	t := tickbeam.Tick{
		Symbol:    sym,
		Kind:      tickbeam.Quote,
		EventTime: time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, newYork).UTC(),
		Price:     px,
		Side:      tickbeam.Unknown,
		Source:    p.source,
	}
	if !prev.IsNull() {
		if t.PrevClose, ok = floatValue(prev); !ok {
			return dst, errField("alphavantage", "08. previous close", "previous close", prev.Raw)
		}
	}
	return append(dst, t), nil
}
