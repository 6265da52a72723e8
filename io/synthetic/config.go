package synthetic

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults and limits of a Config.
const (
	// DefaultRate is the rate ParseURI uses when the URI has none.
	DefaultRate = 100.0
	// MaxRate is the highest Rate a Config may ask for, in ticks per second.
	MaxRate = 1e6
	// DefaultVolatility is the annualised volatility used when
	// Config.Volatility is zero.
	DefaultVolatility = 0.6
	// MaxVolatility is the highest Volatility a Config may ask for.
	MaxVolatility = 10.0
)

// Config describes a synthetic feed.
//
// Only Symbols and Rate are required. A Config with Start set is
// deterministic: the same Seed gives the same ticks in the same order (on one
// platform and Go version; the maths library may round differently
// elsewhere). Paced changes when ticks are emitted, never what they are.
type Config struct {
	// Symbols to trade, each matching [A-Z0-9.:_-]{1,32}, no duplicates. They
	// take turns: tick i is for Symbols[i % len(Symbols)].
	Symbols []string
	// Rate is the number of ticks per second of event time, all symbols
	// together: tick i has event time Start + i/Rate. 0 < Rate <= MaxRate.
	Rate float64
	// Seed selects the random path. Different seeds give different feeds.
	Seed int64
	// Count ends the feed after this many ticks; 0 means no limit.
	Count int64
	// Duration ends the feed once event time reaches Start + Duration;
	// 0 means no limit. With Count and Duration both set, the first limit to
	// be reached ends the feed.
	Duration time.Duration
	// Start is the event time of the first tick. The zero value means the wall
	// clock when the feed starts running.
	Start time.Time
	// Paced emits each tick when the wall clock reaches its due time (the feed
	// start plus i/Rate), like a live feed. Otherwise ticks are emitted as fast
	// as the pipeline takes them; their event times are spaced 1/Rate apart
	// either way.
	Paced bool
	// Volatility is the annualised volatility (sigma) of each symbol's
	// geometric Brownian motion. 0 means DefaultVolatility.
	Volatility float64
}

// Validate reports the first problem with c, naming the URI parameter of the
// offending field.
func (c Config) Validate() error {
	if len(c.Symbols) == 0 {
		return fmt.Errorf("synthetic: symbols: at least one symbol is required")
	}
	seen := make(map[string]bool, len(c.Symbols))
	for _, s := range c.Symbols {
		if !validTicker(s) {
			return fmt.Errorf("synthetic: symbols: %q is not a ticker (1-32 of A-Z 0-9 . : _ -)", s)
		}
		if seen[s] {
			return fmt.Errorf("synthetic: symbols: %q is listed twice", s)
		}
		seen[s] = true
	}
	if !(c.Rate > 0 && c.Rate <= MaxRate) { // also rejects NaN
		return fmt.Errorf("synthetic: rate: must be > 0 and <= 1e6 ticks per second, got %v", c.Rate)
	}
	if c.Count < 0 {
		return fmt.Errorf("synthetic: count: must be >= 0, got %d", c.Count)
	}
	if c.Duration < 0 {
		return fmt.Errorf("synthetic: duration: must be >= 0, got %v", c.Duration)
	}
	if !c.Start.IsZero() && (c.Start.Year() < 1900 || c.Start.Year() >= 2200) {
		return fmt.Errorf("synthetic: start: must be in the years 1900 to 2199, got %v", c.Start.Format(time.RFC3339))
	}
	if !(c.Volatility >= 0 && c.Volatility <= MaxVolatility) {
		return fmt.Errorf("synthetic: vol: must be > 0 and <= 10, got %v", c.Volatility)
	}
	return nil
}

func validTicker(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == ':', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

var uriParams = []string{"count", "duration", "paced", "rate", "seed", "start", "symbols", "vol"}

// ParseURI parses the command-line form of a synthetic feed:
//
//	synthetic:?symbols=AAPL,MSFT&rate=200&seed=7
//
// Parameters: symbols (required, comma-separated; FIRST..LAST names a range
// of symbols that differ in a final run of digits of one width, so
// S000..S499 is 500 symbols), rate (ticks per second,
// default 100), seed (default 0), count (default 0: no limit), duration (a Go
// duration such as 90s; default 0: no limit), start (RFC 3339; default: the
// wall clock at run time), paced (true or false; default true, as a live feed)
// and vol (annualised volatility; default 0.6). "synthetic://?…" is accepted
// too. Unknown or repeated parameters are errors.
func ParseURI(uri string) (Config, error) {
	rest, ok := strings.CutPrefix(uri, "synthetic:")
	if !ok {
		return Config{}, fmt.Errorf("synthetic: %q does not start with \"synthetic:\"", uri)
	}
	rest = strings.TrimPrefix(rest, "//")
	query, hasQuery := strings.CutPrefix(rest, "?")
	if !hasQuery && rest != "" {
		return Config{}, fmt.Errorf("synthetic: unexpected %q before the query in %q", rest, uri)
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return Config{}, fmt.Errorf("synthetic: bad query in %q: %w", uri, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(uriParams, k) {
			return Config{}, fmt.Errorf("synthetic: unknown parameter %q (known: %s)", k, strings.Join(uriParams, ", "))
		}
		if n := len(values[k]); n > 1 {
			return Config{}, fmt.Errorf("synthetic: parameter %q is given %d times", k, n)
		}
	}

	cfg := Config{Rate: DefaultRate, Paced: true}
	for _, k := range keys {
		v := values.Get(k)
		switch k {
		case "symbols":
			if v != "" {
				if cfg.Symbols, err = expandSymbols(strings.Split(v, ",")); err != nil {
					return Config{}, err
				}
			}
		case "rate":
			cfg.Rate, err = strconv.ParseFloat(v, 64)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: rate: %q is not a number", v)
			}
		case "seed":
			cfg.Seed, err = strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: seed: %q is not a 64-bit integer", v)
			}
		case "count":
			cfg.Count, err = strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: count: %q is not a 64-bit integer", v)
			}
		case "duration":
			cfg.Duration, err = time.ParseDuration(v)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: duration: %q is not a Go duration such as 90s or 1h30m", v)
			}
		case "start":
			// An unescaped "+" of an offset decodes as a space; a space is
			// never part of an RFC 3339 time, so take it back.
			v = strings.ReplaceAll(v, " ", "+")
			cfg.Start, err = time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: start: %q is not an RFC 3339 time such as 2024-01-02T15:04:05Z", v)
			}
			cfg.Start = cfg.Start.UTC()
		case "paced":
			cfg.Paced, err = strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: paced: %q is neither true nor false", v)
			}
		case "vol":
			cfg.Volatility, err = strconv.ParseFloat(v, 64)
			if err != nil {
				return Config{}, fmt.Errorf("synthetic: vol: %q is not a number", v)
			}
			if cfg.Volatility == 0 {
				return Config{}, fmt.Errorf("synthetic: vol: must be > 0 and <= 10, got 0")
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// maxRangeSymbols bounds what one FIRST..LAST range of the symbols
// parameter expands to.
const maxRangeSymbols = 100_000

// expandSymbols expands the FIRST..LAST ranges among symbols: FIRST and LAST
// share everything but a final run of digits of the same width, and every
// number between them (inclusive) is a symbol. A ticker never holds "..",
// so a symbol that does and is not such a range is an error, not a ticker.
func expandSymbols(symbols []string) ([]string, error) {
	out := make([]string, 0, len(symbols))
	for _, s := range symbols {
		first, last, ok := strings.Cut(s, "..")
		if !ok {
			out = append(out, s)
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("synthetic: symbols: range %q: %s (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)", s, why)
		}
		pf, nf := splitDigits(first)
		pl, nl := splitDigits(last)
		if nf == "" || nl == "" || len(nf) != len(nl) || pf != pl {
			return nil, bad("not a range")
		}
		lo, err1 := strconv.Atoi(nf)
		hi, err2 := strconv.Atoi(nl)
		if err1 != nil || err2 != nil || lo > hi {
			return nil, bad("its first number is past its last")
		}
		if hi-lo+1 > maxRangeSymbols {
			return nil, bad(fmt.Sprintf("%d symbols, at most %d", hi-lo+1, maxRangeSymbols))
		}
		for n := lo; n <= hi; n++ {
			out = append(out, fmt.Sprintf("%s%0*d", pf, len(nf), n))
		}
	}
	return out, nil
}

// splitDigits splits s into a prefix and its final run of ASCII digits.
func splitDigits(s string) (prefix, digits string) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[:i], s[i:]
}
