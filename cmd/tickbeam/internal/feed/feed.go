// Package feed replays recorded market data, or the synthetic feed, into a
// message sink such as a Pub/Sub topic, at the recorded pace, N times faster,
// or as fast as the sink takes it. It is what `tickbeam feed` runs, so a
// pipeline reading Pub/Sub can be fed real captures on a laptop.
//
// Every message carries the attributes "format" (the parser name) and
// "source", which parse.Messages uses when the pipeline is not told a format,
// and "ts", the earliest event time of its ticks in Unix milliseconds, which
// the pipeline's Pub/Sub reader stamps it with, so watermarks follow event
// time (a line that does not parse has no "ts" and keeps its publish time).
//
// A live input (io/live: binance:, coinbase:, alpaca:, kis:, tradingview:,
// alphavantage:) is published as its vendor sends it, with the same
// attributes, until the context ends or Options.Duration passes; its gaps
// and oversized frames go to Options.Gaps and Options.DeadLetters.
package feed

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/synthetic"
)

// Sink takes messages. Publish may buffer; Flush returns once everything
// published so far is accepted, or the first error.
type Sink interface {
	Publish(ctx context.Context, payload []byte, attrs map[string]string) error
	Flush(ctx context.Context) error
}

// Speed is how fast to replay: 0 means as fast as possible, otherwise a
// multiple of the recorded pace (1 = real time).
type Speed float64

// ParseSpeed reads "max" or a positive multiple such as "1", "10", "0.5"
// (a trailing "x", as in "10x", is allowed).
func ParseSpeed(s string) (Speed, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "x"), 64)
	if err != nil || !(v > 0 && v <= 1e6) {
		return 0, fmt.Errorf("--speed %q: want max or a positive multiple of the recorded pace, like 1 or 10", s)
	}
	return Speed(v), nil
}

// Options configure Run.
type Options struct {
	// Input is a file path or glob (.gz read transparently), the synthetic
	// feed "synthetic:?symbols=..." or a live input, parsed by
	// endpoint.ParseInput.
	Input endpoint.Input
	// Format of file lines (a parse format name); the synthetic feed is
	// published as "tick" JSON.
	Format string
	// Source is the "source" attribute; default the format.
	Source string
	// Speed of the replay.
	Speed Speed
	// Progress, when set, is called about every 200ms and at the end.
	Progress func(Progress)
	// Duration stops a live input after this long (0: until ctx ends).
	Duration time.Duration
	// Gaps receives a live input's Gap rows, DeadLetters its oversized
	// frames (never published); both may be nil (then only counted).
	Gaps        func(tickbeam.Gap) error
	DeadLetters func(tickbeam.DeadLetter) error
	// Live configures a live input's connection (logging); its Stats are
	// in Progress.Live.
	Live live.Options
}

// Progress reports a replay under way.
type Progress struct {
	Published int64
	Total     int64 // lines in the input files; 0 when unknown (synthetic)
	Elapsed   time.Duration
	Done      bool
	// Live are a live input's connection counts.
	Live live.Stats
}

// Run publishes every message of the input to sink and returns how many it
// published. Blank lines are skipped.
func Run(ctx context.Context, sink Sink, o Options) (int64, error) {
	if o.Source == "" {
		o.Source = o.Format
	}
	r := &runner{sink: sink, o: o, start: time.Now()}
	var err error
	switch o.Input.Kind {
	case endpoint.LiveInput:
		err = r.live(ctx)
	case endpoint.SyntheticInput:
		err = r.synthetic(ctx)
	case endpoint.FileInput:
		err = r.files(ctx)
	default:
		err = fmt.Errorf("--input %s: want a file, the synthetic feed or a live input", o.Input.URI)
	}
	if ferr := sink.Flush(ctx); err == nil && ferr != nil {
		err = fmt.Errorf("flush: %w", ferr)
	}
	r.report(true)
	return r.published, err
}

type runner struct {
	sink       Sink
	o          Options
	start      time.Time
	firstEvent time.Time
	published  int64
	total      int64
	lastReport time.Time
	conn       live.Connector
}

// pace sleeps until an event at time t is due at the replay speed.
func (r *runner) pace(ctx context.Context, t time.Time) error {
	if r.o.Speed == 0 || t.IsZero() {
		return nil
	}
	if r.firstEvent.IsZero() {
		r.firstEvent = t
	}
	due := r.start.Add(time.Duration(float64(t.Sub(r.firstEvent)) / float64(r.o.Speed)))
	if wait := time.Until(due); wait > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return nil
}

func (r *runner) publish(ctx context.Context, payload []byte, attrs map[string]string) error {
	if err := r.sink.Publish(ctx, payload, attrs); err != nil {
		return fmt.Errorf("publish message %d: %w", r.published+1, err)
	}
	r.published++
	r.report(false)
	return nil
}

func (r *runner) report(done bool) {
	if r.o.Progress == nil || (!done && time.Since(r.lastReport) < 200*time.Millisecond) {
		return
	}
	r.lastReport = time.Now()
	p := Progress{Published: r.published, Total: r.total, Elapsed: time.Since(r.start), Done: done}
	if r.conn != nil {
		p.Live = r.conn.Stats()
	}
	r.o.Progress(p)
}

func (r *runner) files(ctx context.Context) error {
	paths, err := filepath.Glob(r.o.Input.URI)
	if err != nil {
		return fmt.Errorf("--input %q: %w", r.o.Input.URI, err)
	}
	if len(paths) == 0 {
		return fmt.Errorf("--input %q matches no files", r.o.Input.URI)
	}
	sort.Strings(paths)
	parser, err := feedformat.New(r.o.Format, feedformat.Options{Source: r.o.Source})
	if err != nil {
		return err
	}
	if r.o.Progress != nil {
		for _, p := range paths {
			n, err := countLines(p)
			if err != nil {
				return err
			}
			r.total += n
		}
	}
	var buf []tickbeam.Tick
	for _, p := range paths {
		err := eachLine(p, func(line []byte) error {
			if len(strings.TrimSpace(string(line))) == 0 {
				return nil
			}
			// The event time paces the replay; a line that does not parse is
			// still published (the pipeline dead-letters it) without a pause.
			var at time.Time
			if ticks, err := parser.Parse(buf[:0], line); err == nil && len(ticks) > 0 {
				at = ticks[0].EventTime
				for _, t := range ticks[1:] {
					if t.EventTime.Before(at) {
						at = t.EventTime
					}
				}
				buf = ticks[:0]
			}
			if err := r.pace(ctx, at); err != nil {
				return err
			}
			return r.publish(ctx, append([]byte(nil), line...), attributes(r.o.Format, r.o.Source, at))
		})
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func (r *runner) synthetic(ctx context.Context) error {
	cfg := r.o.Input.Synthetic
	if cfg.Count == 0 && cfg.Duration == 0 && r.o.Speed == 0 {
		return errors.New("--input: a synthetic feed at --speed=max needs count= or duration=, or it never ends")
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	g, err := synthetic.NewGenerator(cfg)
	if err != nil {
		return err
	}
	source := r.o.Source
	if source == "" || source == r.o.Format {
		source = synthetic.Source
	}
	for {
		t, ok := g.Next()
		if !ok {
			return nil
		}
		if err := r.pace(ctx, t.EventTime); err != nil {
			return err
		}
		payload, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := r.publish(ctx, payload, attributes("tick", source, t.EventTime)); err != nil {
			return err
		}
	}
}

// TimestampAttribute holds a message's earliest event time in Unix ms.
const TimestampAttribute = "ts"

func attributes(format, source string, at time.Time) map[string]string {
	a := map[string]string{feedformat.FormatAttribute: format, feedformat.SourceAttribute: source}
	if !at.IsZero() {
		a[TimestampAttribute] = strconv.FormatInt(at.UnixMilli(), 10)
	}
	return a
}

func open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// maxLine bounds one message, as Pub/Sub bounds a message (10 MB).
const maxLine = 10 << 20

func eachLine(path string, fn func([]byte) error) error {
	rc, err := open(path)
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("a line is longer than Pub/Sub's %d-byte message limit", maxLine)
		}
		return err
	}
	return nil
}

func countLines(path string) (int64, error) {
	var n int64
	err := eachLine(path, func(line []byte) error {
		if len(strings.TrimSpace(string(line))) > 0 {
			n++
		}
		return nil
	})
	return n, err
}

// live publishes a live connection's lines until ctx ends or Duration
// passes. A refused connection returns the vendor's one-line reason.
func (r *runner) live(ctx context.Context) error {
	conn, err := r.o.Input.Live.Open(r.o.Live)
	if err != nil {
		return err
	}
	r.conn = conn
	if r.o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.o.Duration)
		defer cancel()
	}
	err = conn.Run(ctx, liveSink{r})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// liveSink publishes lines; oversized frames and gaps go to the callbacks.
type liveSink struct{ r *runner }

func (s liveSink) Line(ctx context.Context, l live.Line) error {
	if l.Oversize > 0 {
		if s.r.o.DeadLetters != nil {
			return s.r.o.DeadLetters(l.DeadLetter())
		}
		return nil
	}
	return s.r.publish(ctx, l.Payload, l.Attributes())
}

func (s liveSink) Gap(_ context.Context, g tickbeam.Gap) error {
	if s.r.o.Gaps != nil {
		return s.r.o.Gaps(g)
	}
	return nil
}
