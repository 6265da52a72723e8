package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/tickbeam/tickbeam"
)

// AlphaVantageURL is Alpha Vantage's REST API.
const AlphaVantageURL = "https://www.alphavantage.co/query"

var avIntervals = map[string]time.Duration{"1min": time.Minute, "5min": 5 * time.Minute, "15min": 15 * time.Minute,
	"30min": 30 * time.Minute, "60min": time.Hour}

func init() {
	vendors["alphavantage"] = vendor{
		format: "alphavantage",
		keys:   []string{"symbols", "interval", "every"},
		parse: func(_ string, q url.Values) (vendorConfig, error) {
			syms, err := list(q, "symbols", symbolChars(".-"))
			if err != nil {
				return nil, err
			}
			c := alphaVantageConfig{Symbols: syms, Interval: q.Get("interval"), Every: time.Minute}
			if c.Interval == "" {
				c.Interval = "1min"
			}
			if _, ok := avIntervals[c.Interval]; !ok {
				return nil, fmt.Errorf("interval=%q: want 1min, 5min, 15min, 30min or 60min", c.Interval)
			}
			if s := q.Get("every"); s != "" {
				d, err := time.ParseDuration(s)
				if err != nil || d < 100*time.Millisecond {
					return nil, fmt.Errorf("every=%q: want a duration of at least 100ms (mind the plan's calls per minute and day)", s)
				}
				c.Every = d
			}
			return c, nil
		},
	}
}

// alphaVantageConfig is alphavantage:?symbols=IBM&interval=1min&every=60s:
// TIME_SERIES_INTRADAY polled every Every per symbol with
// ALPHAVANTAGE_API_KEY; each poll emits only the bars not emitted before.
type alphaVantageConfig struct {
	Symbols  []string
	Interval string
	Every    time.Duration
}

func (c alphaVantageConfig) connector(s Spec, o Options) (Connector, error) {
	return &alphaVantage{cfg: c, spec: s, opts: o, last: map[string]string{}}, nil
}

type alphaVantage struct {
	cfg  alphaVantageConfig
	spec Spec
	opts Options
	st   stats
	last map[string]string // newest bar time emitted per symbol, as Alpha Vantage writes it
}

func (a *alphaVantage) Stats() Stats { return a.st.snapshot() }

// Run polls until ctx ends. A rate-limit reply ("Note"/"Information")
// backs off exponentially (from Every); a refused key stops.
func (a *alphaVantage) Run(ctx context.Context, sink Sink) error {
	key := a.opts.getenv("ALPHAVANTAGE_API_KEY")
	if key == "" {
		return &AuthError{Vendor: "alphavantage", Reason: "set ALPHAVANTAGE_API_KEY in the environment"}
	}
	em, err := newEmitter(a.spec, a.opts, &a.st, sink)
	if err != nil {
		return err
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.Multiplier = a.cfg.Every, max(a.spec.Common.MaxBackoff, a.cfg.Every), 2
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = a.cfg.Every
		for _, sym := range a.cfg.Symbols {
			err := a.poll(ctx, em, key, sym)
			var rl *rateLimitError
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.As(err, new(*AuthError)):
				return err
			case errors.As(err, &rl):
				a.st.rateLimited.Add(1)
				wait = max(rl.After, a.cfg.Every, bo.NextBackOff())
				a.opts.logf("alphavantage: %v; next poll in %s", err, wait.Round(time.Millisecond))
			case err != nil:
				wait = bo.NextBackOff()
				a.opts.logf("alphavantage: %s: %v; next poll in %s", sym, err, wait.Round(time.Millisecond))
			default:
				bo.Reset()
				continue
			}
			break
		}
	}
}

// poll fetches one symbol's series and emits its new bars.
func (a *alphaVantage) poll(ctx context.Context, em *emitter, key, sym string) error {
	base := a.spec.Common.endpointOr(AlphaVantageURL)
	q := url.Values{"function": {"TIME_SERIES_INTRADAY"}, "symbol": {sym}, "interval": {a.cfg.Interval},
		"outputsize": {"compact"}, "apikey": {key}}
	var resp map[string]json.RawMessage
	if err := getJSON(ctx, "alphavantage", base+"?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	for _, k := range []string{"Note", "Information", "Error Message"} {
		if v, ok := resp[k]; ok {
			// Shown as a dead letter too: the pipeline quotes the message.
			if err := em.frame(ctx, mustJSON(map[string]json.RawMessage{k: v}), 0, time.Now()); err != nil {
				return err
			}
			if k == "Error Message" {
				return &AuthError{Vendor: "alphavantage", Reason: string(v)}
			}
			return &rateLimitError{Reason: "alphavantage " + k + ": " + strings.Trim(string(v), `"`)}
		}
	}
	seriesKey := "Time Series (" + a.cfg.Interval + ")"
	var rows map[string]json.RawMessage
	if err := json.Unmarshal(resp[seriesKey], &rows); err != nil || rows == nil {
		return fmt.Errorf("%s: response has no %q", sym, seriesKey)
	}
	var times []string
	for t := range rows {
		if t > a.last[sym] {
			times = append(times, t)
		}
	}
	if len(times) == 0 {
		return nil
	}
	sort.Strings(times)
	if err := a.gaps(ctx, em, sym, times); err != nil {
		return err
	}
	fresh := map[string]json.RawMessage{}
	for _, t := range times {
		fresh[t] = rows[t]
	}
	out := mustJSON(map[string]any{"Meta Data": resp["Meta Data"], seriesKey: fresh})
	a.last[sym] = times[len(times)-1]
	return em.frame(ctx, out, len(out), time.Now())
}

// gaps reports intervals of a trading day with no bar between the bars
// emitted (the last one before this poll included).
func (a *alphaVantage) gaps(ctx context.Context, em *emitter, sym string, times []string) error {
	step := avIntervals[a.cfg.Interval]
	seq := times
	if a.last[sym] != "" {
		seq = append([]string{a.last[sym]}, times...)
	}
	const layout = "2006-01-02 15:04:05"
	for i := 1; i < len(seq); i++ {
		prev, err1 := time.Parse(layout, seq[i-1])
		cur, err2 := time.Parse(layout, seq[i])
		if err1 != nil || err2 != nil || prev.YearDay() != cur.YearDay() || cur.Sub(prev) <= step {
			continue
		}
		g := tickbeam.Gap{Symbol: sym, From: prev, To: cur, FromID: seq[i-1], ToID: seq[i], Missing: int64(cur.Sub(prev)/step) - 1,
			Unit: tickbeam.GapBars, Detail: "no bar for these intervals (no trades, or the vendor missed them); times in the series' zone"}
		if err := em.gap(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of raw JSON always marshal
	}
	return b
}
