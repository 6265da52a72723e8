package live

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Spec is a parsed live input URI, "vendor:[variant]?key=value&...": the
// one place tickbeam turns such a string into typed settings.
type Spec struct {
	// URI is the text it was parsed from; it keys the process-wide
	// connections of Read.
	URI string
	// Vendor is the scheme: binance, coinbase, alpaca, kis, tradingview or
	// alphavantage.
	Vendor string
	// Format is the parse format of its lines (transforms/parse).
	Format string
	Common Common
	cfg    vendorConfig
}

// Common are the settings every vendor takes, each with a URI key.
type Common struct {
	// Endpoint overrides the websocket (or, polling, REST) URL: endpoint=.
	Endpoint string
	// REST overrides the base URL of the vendor's REST API (history for
	// backfills, auth): rest=.
	REST string
	// Silence is how long a connection may stay without any frame (pings
	// included) before the watchdog reconnects it: silence=, default per vendor.
	Silence time.Duration
	// MaxFrame bounds one frame; larger frames become dead letters holding
	// their first bytes: max_frame= (bytes), default 1 MiB.
	MaxFrame int
	// MaxAge reconnects a connection this old before the vendor drops it
	// (Binance: 24 h): max_age=.
	MaxAge time.Duration
	// MaxBackoff caps the reconnect backoff: max_backoff=, default 1m.
	MaxBackoff time.Duration
	// Backfill fills detected gaps from the vendor's history endpoint:
	// backfill=false turns it off.
	Backfill bool
	// Source names the ticks' source (default the vendor): source=.
	Source string
}

// Defaults of Common.
const (
	DefaultMaxFrame   = 1 << 20
	DefaultMaxBackoff = time.Minute
	DefaultSilence    = time.Minute
)

// vendorConfig is one vendor's typed settings.
type vendorConfig interface {
	connector(s Spec, o Options) (Connector, error)
}

// vendor describes a scheme: its format, the keys of its own settings, and
// how to read them.
type vendor struct {
	format   string
	keys     []string
	variants []string // allowed opaque parts ("" always)
	silence  time.Duration
	maxAge   time.Duration
	parse    func(variant string, q url.Values) (vendorConfig, error)
}

var vendors = map[string]vendor{}

// Schemes lists the live input schemes.
func Schemes() []string {
	names := make([]string, 0, len(vendors))
	for n := range vendors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsURI reports whether s names a live input: it starts with a vendor
// scheme and a colon.
func IsURI(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	_, known := vendors[scheme]
	return ok && known
}

var commonKeys = []string{"endpoint", "rest", "silence", "max_frame", "max_age", "max_backoff", "backfill", "source"}

// Parse reads a live input URI.
func Parse(uri string) (Spec, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return Spec{}, fmt.Errorf("live input %q: %w", uri, err)
	}
	v, ok := vendors[u.Scheme]
	if !ok {
		return Spec{}, fmt.Errorf("live input %q: unknown vendor %q (known: %s)", uri, u.Scheme, strings.Join(Schemes(), ", "))
	}
	if u.Opaque != "" && !slices.Contains(v.variants, u.Opaque) {
		return Spec{}, fmt.Errorf("live input %q: %s has no variant %q", uri, u.Scheme, u.Opaque)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Spec{}, fmt.Errorf("live input %q: %w", uri, err)
	}
	for k := range q {
		if !slices.Contains(commonKeys, k) && !slices.Contains(v.keys, k) {
			all := append(slices.Clone(v.keys), commonKeys...)
			return Spec{}, fmt.Errorf("live input %q: unknown key %q (%s takes %s)", uri, k, u.Scheme, strings.Join(all, ", "))
		}
	}
	c, err := parseCommon(q, v, u.Scheme)
	if err != nil {
		return Spec{}, fmt.Errorf("live input %q: %w", uri, err)
	}
	cfg, err := v.parse(u.Opaque, q)
	if err != nil {
		return Spec{}, fmt.Errorf("live input %q: %w", uri, err)
	}
	return Spec{URI: uri, Vendor: u.Scheme, Format: v.format, Common: c, cfg: cfg}, nil
}

func parseCommon(q url.Values, v vendor, scheme string) (Common, error) {
	c := Common{Endpoint: q.Get("endpoint"), REST: q.Get("rest"), Source: q.Get("source"), Backfill: true,
		MaxFrame: DefaultMaxFrame, MaxBackoff: DefaultMaxBackoff, Silence: v.silence, MaxAge: v.maxAge}
	if c.Silence == 0 {
		c.Silence = DefaultSilence
	}
	if c.Source == "" {
		c.Source = scheme
	}
	for _, u := range []struct{ key, v string }{{"endpoint", c.Endpoint}, {"rest", c.REST}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || p.Host == "" || !slices.Contains([]string{"ws", "wss", "http", "https"}, p.Scheme) {
			return c, fmt.Errorf("%s=%q: want an absolute ws(s):// or http(s):// URL", u.key, u.v)
		}
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"silence", &c.Silence}, {"max_age", &c.MaxAge}, {"max_backoff", &c.MaxBackoff}} {
		if s := q.Get(d.key); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil || v <= 0 {
				return c, fmt.Errorf("%s=%q: want a positive duration like 30s", d.key, s)
			}
			*d.dst = v
		}
	}
	if s := q.Get("max_frame"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1024 || n > 64<<20 {
			return c, fmt.Errorf("max_frame=%q: want a size in bytes, 1024..%d", s, 64<<20)
		}
		c.MaxFrame = n
	}
	if s := q.Get("backfill"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return c, fmt.Errorf("backfill=%q: want true or false", s)
		}
		c.Backfill = b
	}
	return c, nil
}

// endpointOr is endpoint=, else the vendor's URL def.
func (c Common) endpointOr(def string) string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return def
}

// restOr is rest=, else the vendor's REST base def, without a trailing
// slash.
func (c Common) restOr(def string) string {
	if c.REST != "" {
		def = c.REST
	}
	return strings.TrimSuffix(def, "/")
}

// Open returns the connector of s.
func (s Spec) Open(o Options) (Connector, error) {
	if s.cfg == nil {
		return nil, errors.New("live: Open of a Spec not made by Parse")
	}
	return s.cfg.connector(s, o)
}

// list reads a comma-separated list of key (required, each item checked).
func list(q url.Values, key string, check func(string) error) ([]string, error) {
	var out []string
	for _, item := range strings.Split(q.Get(key), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if err := check(item); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s= is required (comma-separated)", key)
	}
	if len(out) > 1024 {
		return nil, fmt.Errorf("%s: %d items, at most 1024 per connection", key, len(out))
	}
	return out, nil
}

// upperList is list with its items in upper case (vendors' symbols).
func upperList(q url.Values, key string, check func(string) error) ([]string, error) {
	items, err := list(q, key, check)
	for i, s := range items {
		items[i] = strings.ToUpper(s)
	}
	return items, err
}

// symbolChars checks a symbol holds only characters vendors use.
func symbolChars(extra string) func(string) error {
	return func(s string) error {
		if len(s) > 32 {
			return fmt.Errorf("%q is longer than 32 characters", s)
		}
		for _, r := range s {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
				return fmt.Errorf("%q: character %q is not allowed", s, r)
			}
		}
		return nil
	}
}
