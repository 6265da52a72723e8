package feedformat

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
)

// ErrControl is returned by a Parser for a payload that holds only control or
// heartbeat messages (Alpaca success/subscription, KIS PINGPONG, TradingView
// ~h~ frames). Such payloads are counted, not dead-lettered.
var ErrControl = errors.New("control message")

// Parser turns one raw payload into ticks.
//
// Parse appends every tick in payload to dst and returns the extended slice.
// It returns ErrControl when the payload holds no market data by design, and
// another error (wrapping nothing in particular) when the payload is malformed;
// on any error the returned slice is dst unchanged. Parse never panics, and it
// does not validate: Validate does, so every format shares the same rules.
// A Parser is not safe for concurrent use.
type Parser interface {
	Parse(dst []tickbeam.Tick, payload []byte) ([]tickbeam.Tick, error)
}

// Options configure a parser. The zero value suits every named feed format;
// json and csv need their field maps.
type Options struct {
	// Source names where ticks came from (Tick.Source, DeadLetter.Source).
	// Default: the format name.
	Source string
	// Location is the time zone for timestamps without an offset in formats
	// that do not say theirs (json, csv). KIS is always Asia/Seoul and Alpha
	// Vantage uses its Meta Data zone. Default: UTC.
	Location string
	// JSONFields maps Tick fields (symbol, price, size, event_time, side,
	// trade_id, venue, bid_price, bid_size, ask_price, ask_size, prev_close,
	// currency, kind) to dotted paths in a JSON object, e.g.
	// {"symbol": "data.s", "price": "data.p"}. Used by format json.
	JSONFields map[string]string
	// CSVColumns names the Tick field in each CSV column, in order; "" or "-"
	// skips a column. Used by format csv.
	CSVColumns []string
	// CSVHeader says files carry a header line: a line whose price and
	// event_time cells both fail to parse is taken for it and skipped (a
	// parser sees one line, not its position). Lines whose cells equal their
	// column names are skipped either way.
	CSVHeader bool
	// TimeLayout is the Go time layout of event_time in json and csv. Default:
	// RFC 3339, or Unix epoch seconds/milliseconds/microseconds/nanoseconds when
	// the value is a number (told apart by magnitude).
	TimeLayout string
	// Symbol is the symbol of ticks from payloads that do not carry one
	// (Alpha Vantage falls back to its Meta Data symbol first).
	Symbol string
}

// Validate reports the first problem of o that no format would accept: a
// JSONFields key or CSVColumns name that is not a tick field, a JSONFields
// path with an empty segment, a field named twice in CSVColumns, or a
// Location that is not a time zone. The zero Options are valid. Whether a
// format has the fields it needs (json and csv: symbol, price, event_time)
// is New's to check, since only it knows the format. New calls Validate.
func (o Options) Validate() error {
	if err := o.check(); err != nil {
		return fmt.Errorf("feedformat: %w", err)
	}
	return nil
}

// check is Validate's error without the package prefix, as New wraps it.
func (o Options) check() error {
	names := make([]string, 0, len(o.JSONFields))
	for name := range o.JSONFields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := fieldByName(name); !ok {
			return fmt.Errorf("unknown tick field %q in JSONFields (known: %s)", name, strings.Join(fieldNames[:], ", "))
		}
		if path := o.JSONFields[name]; slices.Contains(strings.Split(path, "."), "") {
			return fmt.Errorf("JSONFields[%q]: invalid path %q", name, path)
		}
	}
	var have [nFields]bool
	for i, name := range o.CSVColumns {
		if name == "" || name == "-" {
			continue
		}
		f, ok := fieldByName(name)
		if !ok {
			return fmt.Errorf("unknown tick field %q in CSVColumns[%d] (known: %s)", name, i, strings.Join(fieldNames[:], ", "))
		}
		if have[f] {
			return fmt.Errorf("CSVColumns: field %s named twice", name)
		}
		have[f] = true
	}
	_, err := loadLocation(o.Location)
	return err
}

// Formats lists the names New accepts.
func Formats() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var constructors = map[string]func(Options) (Parser, error){}

// sided are the formats whose every trade carries its aggressor side.
var sided = map[string]bool{"binance": true, "coinbase": true}

// TradesHaveSide reports whether every trade of format carries its
// aggressor side, so the tick test (transforms/tickrule) has nothing to
// infer. False for Alpaca (stocks have none), Alpha Vantage, KIS (a trade of
// CCLD_DVSN other than 1 or 5 has none), json, csv and tick (they may or
// may not), and for a format not named ("": Pub/Sub messages naming their
// own).
func TradesHaveSide(format string) bool { return sided[format] }

// New returns the parser for the named format. It fails on an unknown
// format, on Options that Validate refuses, and on Options the format
// cannot use (json without JSONFields, csv without CSVColumns, either
// without symbol, price and event_time mapped).
func New(format string, opts Options) (Parser, error) {
	c, ok := constructors[format]
	if !ok {
		return nil, fmt.Errorf("parse: unknown format %q (known: %v)", format, Formats())
	}
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("parse: format %s: %w", format, err)
	}
	if opts.Source == "" {
		opts.Source = format
	}
	p, err := c(opts)
	if err != nil {
		return nil, fmt.Errorf("parse: format %s: %w", format, err)
	}
	return p, nil
}

// Limits bound what Validate accepts as a plausible event time.
type Limits struct {
	// NotBefore is the earliest plausible event time. Default 2000-01-01 UTC:
	// replays of old data are normal, epoch-zero timestamps are bugs.
	NotBefore time.Time
	// MaxAhead is how far past the clock an event time may be. Default 24h.
	MaxAhead time.Duration
}

// DefaultLimits are the limits of the zero Limits value.
var DefaultLimits = Limits{
	NotBefore: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	MaxAhead:  24 * time.Hour,
}

func (l Limits) withDefaults() Limits {
	if l.NotBefore.IsZero() {
		l.NotBefore = DefaultLimits.NotBefore
	}
	if l.MaxAhead == 0 {
		l.MaxAhead = DefaultLimits.MaxAhead
	}
	return l
}

// Attribute names of a message that say how to parse it, when the pipeline
// is not told a format: `tickbeam feed` and io/live set them, parse.Messages
// reads them.
const (
	FormatAttribute = "format"
	SourceAttribute = "source"
)
