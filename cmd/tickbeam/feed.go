package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/cmd/tickbeam/internal/feed"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/io/live"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/metrics"
)

// runFeed publishes a capture or the synthetic feed to a Pub/Sub topic:
//
//	tickbeam feed --input=FILE|synthetic:... --format=F --to=pubsub:projects/P/topics/T --speed=max|N
//	tickbeam feed --input=binance:?symbols=BTCUSDT --to=pubsub:projects/P/topics/T [--duration=1h] [--gaps_out=F]
func runFeed(ctx context.Context, args []string, stdout, stderr io.Writer, progressTo *os.File) int {
	fs := flag.NewFlagSet("tickbeam feed", flag.ContinueOnError)
	input := fs.String("input", "", "a file path or glob (.gz read transparently), or synthetic:?symbols=A,B&rate=N&seed=S[&count=N]"+liveInputHelp)
	format := fs.String("format", "", "the format of file lines: "+strings.Join(feedformat.Formats(), ", ")+" (the synthetic feed publishes tick JSON)")
	to := fs.String("to", "", "pubsub:projects/P/topics/T")
	speed := fs.String("speed", "max", "max, or a multiple of the recorded pace (1 = real time, 10 = ten times faster)")
	source := fs.String("source", "", "the source attribute (default: the format)")
	create := fs.Bool("create_topic", false, "create the topic if it does not exist")
	duration := fs.Duration("duration", 0, "live input: publish this long, then stop (0: until SIGINT/SIGTERM)")
	gapsOut := fs.String("gaps_out", "", "live input: Gap rows as JSON lines: a local file (appended) or pubsub:projects/P/topics/T")
	deadOut := fs.String("deadletter_out", "", "live input: DeadLetter rows of frames over the connector's bound, as --gaps_out (default: counted only)")
	createSub := fs.String("create_subscription", "", "also create this subscription (projects/P/subscriptions/S) on the topic before publishing, so a pipeline started later finds every message")
	metricsAddr := fs.String("metrics_addr", "", "serve the feed's counts for Prometheus at http://ADDR/metrics while it publishes, e.g. 127.0.0.1:9464: messages published, event-time freshness per source, a live input's connection counts and dead letters")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	sp, err := feed.ParseSpeed(*speed)
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tickbeam feed: "+format+"\n", a...)
		return 2
	}
	in, inErr := endpoint.ParseInput(*input)
	out, toErr := endpoint.ParseOutput(*to)
	switch {
	case err != nil:
		return fail("%v", err)
	case *input == "":
		return fail("--input is required: a file path or glob, or synthetic:?symbols=...")
	case in.Kind == endpoint.LiveInput && inErr != nil:
		return fail("--input: %v", inErr)
	case in.Kind != endpoint.LiveInput && (*gapsOut != "" || *deadOut != "" || *duration != 0):
		return fail("--gaps_out, --deadletter_out and --duration are for live inputs (%s)", strings.Join(live.Schemes(), ":, ")+":")
	case in.Kind != endpoint.LiveInput && in.Kind != endpoint.SyntheticInput && in.Kind != endpoint.FileInput:
		return fail("--input %s: want a file path or glob, synthetic:?symbols=... or a live input", *input)
	case in.Kind == endpoint.FileInput && *format == "":
		return fail("--format is required for file input (one of %s)", strings.Join(feedformat.Formats(), ", "))
	case out.Kind != endpoint.TopicOutput:
		return fail("--to %q: want pubsub:projects/P/topics/T", *to)
	case inErr != nil:
		return fail("--input: %v", inErr)
	}
	if *format != "" {
		if _, err := feedformat.New(*format, feedformat.Options{}); err != nil {
			return fail("--format: %v", err)
		}
	}
	if toErr != nil {
		return fail("--to: %v", toErr)
	}
	topic := out.Topic

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *create || *createSub != "" {
		if err := pubsubx.CreateTopic(ctx, topic); err != nil {
			fmt.Fprintf(stderr, "tickbeam feed: %v\n", err)
			return 1
		}
	}
	if *createSub != "" {
		if err := pubsubx.CreateSubscription(ctx, *createSub, topic); err != nil {
			fmt.Fprintf(stderr, "tickbeam feed: %v\n", err)
			return 1
		}
	}
	pub, err := pubsubx.NewPublisher(ctx, topic, pubsubx.PublisherOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam feed: %v\n", err)
		return 1
	}
	defer pub.Close(context.Background())
	var sink feed.Sink = pub
	tally := metrics.NewTally()
	if *metricsAddr != "" {
		srv, err := metrics.Serve(*metricsAddr, tally.Results)
		if err != nil {
			return fail("--metrics_addr: %v", err)
		}
		defer srv.Close()
		fmt.Fprintf(stderr, "tickbeam feed: Prometheus metrics at http://%s/metrics\n", srv.Addr())
		sink = tallySink{Sink: pub, tally: tally}
	}
	opts := feed.Options{Input: in, Format: *format, Source: *source, Speed: sp, Duration: *duration,
		Live:        live.Options{Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "tickbeam feed: "+format+"\n", a...) }},
		DeadLetters: func(d tickbeam.DeadLetter) error { tally.DeadLetter(d.Stage); return nil }}
	var last feed.Progress
	terminal := isTerminal(progressTo)
	opts.Progress = func(p feed.Progress) {
		last = p
		if in.Kind == endpoint.LiveInput {
			tallyLive(tally, p.Live)
		}
		if terminal {
			drawProgress(progressTo, p)
		}
	}
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	for _, o := range []struct {
		flag, v string
		set     func(func(any) error)
	}{
		{"--gaps_out", *gapsOut, func(w func(any) error) { opts.Gaps = func(g tickbeam.Gap) error { return w(g) } }},
		{"--deadletter_out", *deadOut, func(w func(any) error) {
			opts.DeadLetters = func(d tickbeam.DeadLetter) error { tally.DeadLetter(d.Stage); return w(d) }
		}},
	} {
		if o.v == "" {
			continue
		}
		w, closeFn, err := openRowSink(ctx, o.v)
		if err != nil {
			fmt.Fprintf(stderr, "tickbeam feed: %s: %v\n", o.flag, err)
			return 1
		}
		closers = append(closers, closeFn)
		o.set(w)
	}
	n, err := feed.Run(ctx, sink, opts)
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam feed: %v (%d published)\n", err, n)
		return 1
	}
	fmt.Fprintf(stdout, "tickbeam feed: published %d messages to %s\n", n, topic)
	if in.Kind == endpoint.LiveInput {
		st := last.Live
		fmt.Fprintf(stdout, "tickbeam feed: live: %d frames, %d reconnects, %d silences, %d rate-limited, %d gaps (%d missing, %d lines backfilled), %d oversize, resume latency %s\n",
			st.Frames, st.Reconnects, st.Silences, st.RateLimited, st.Gaps, st.Missing, st.Backfilled, st.Oversize, st.ResumeLatency)
	}
	return 0
}

// tallySink counts what it publishes into a Tally: messages, and the latest
// event time per source from the attributes io/feed sets.
type tallySink struct {
	feed.Sink
	tally *metrics.Tally
}

func (s tallySink) Publish(ctx context.Context, payload []byte, attrs map[string]string) error {
	if err := s.Sink.Publish(ctx, payload, attrs); err != nil {
		return err
	}
	s.tally.Add("tickbeam/feed", "published", 1)
	if ms, err := strconv.ParseInt(attrs[feed.TimestampAttribute], 10, 64); err == nil {
		s.tally.EventTime(attrs[feedformat.SourceAttribute], time.UnixMilli(ms))
	}
	return nil
}

// tallyLive sets a live input's connection counts (tickbeam_live_*_total).
func tallyLive(t *metrics.Tally, st live.Stats) {
	for name, v := range map[string]int64{"connects": st.Connects, "reconnects": st.Reconnects, "frames": st.Frames, "oversize": st.Oversize,
		"silences": st.Silences, "rate_limited": st.RateLimited, "gaps": st.Gaps, "missing": st.Missing, "backfilled": st.Backfilled} {
		t.Set("tickbeam/live", name, v)
	}
}

// openRowSink opens a JSON-lines row output: a Pub/Sub topic
// (pubsub:projects/P/topics/T) or a local file, appended.
func openRowSink(ctx context.Context, uri string) (write func(any) error, closeFn func() error, err error) {
	// Whatever is not a topic is a local file, not a directory or prefix:
	// ParseOutput's check of those does not apply to it.
	if out, err := endpoint.ParseOutput(uri); out.Kind == endpoint.TopicOutput {
		if err != nil {
			return nil, nil, err
		}
		pub, err := pubsubx.NewPublisher(ctx, out.Topic, pubsubx.PublisherOptions{})
		if err != nil {
			return nil, nil, err
		}
		write = func(row any) error {
			b, err := json.Marshal(row)
			if err != nil {
				return err
			}
			return pub.Publish(ctx, b, nil)
		}
		return write, func() error { _ = pub.Flush(context.Background()); return pub.Close(context.Background()) }, nil
	}
	f, err := os.OpenFile(uri, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(f)
	write = func(row any) error {
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(row)
	}
	return write, f.Close, nil
}

func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// drawProgress redraws one line: a bar when the total is known, a count and
// rate always.
func drawProgress(w io.Writer, p feed.Progress) {
	rate := float64(p.Published) / max(p.Elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("%d published, %.0f msg/s, %s", p.Published, rate, p.Elapsed.Round(time.Second))
	if p.Total > 0 {
		const width = 30
		done := int(width * p.Published / p.Total)
		line = fmt.Sprintf("[%s%s] %d/%d, %.0f msg/s, %s", strings.Repeat("=", done), strings.Repeat(" ", width-done),
			p.Published, p.Total, rate, p.Elapsed.Round(time.Second))
	}
	fmt.Fprintf(w, "\r%s\033[K", line)
	if p.Done {
		fmt.Fprintln(w)
	}
}
