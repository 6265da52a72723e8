package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tickbeam/tickbeam/io/feed"
	"github.com/tickbeam/tickbeam/io/pubsubx"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// runFeed publishes a capture or the synthetic feed to a Pub/Sub topic:
//
//	tickbeam feed --input=FILE|synthetic:... --format=F --to=pubsub:projects/P/topics/T --speed=max|N
func runFeed(ctx context.Context, args []string, stdout, stderr io.Writer, progressTo *os.File) int {
	fs := flag.NewFlagSet("tickbeam feed", flag.ContinueOnError)
	input := fs.String("input", "", "a file path or glob (.gz read transparently), or synthetic:?symbols=A,B&rate=N&seed=S[&count=N]")
	format := fs.String("format", "", "the format of file lines: "+strings.Join(parse.Formats(), ", ")+" (the synthetic feed publishes tick JSON)")
	to := fs.String("to", "", "pubsub:projects/P/topics/T")
	speed := fs.String("speed", "max", "max, or a multiple of the recorded pace (1 = real time, 10 = ten times faster)")
	source := fs.String("source", "", "the source attribute (default: the format)")
	create := fs.Bool("create_topic", false, "create the topic if it does not exist")
	createSub := fs.String("create_subscription", "", "also create this subscription (projects/P/subscriptions/S) on the topic before publishing, so a pipeline started later finds every message")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	sp, err := feed.ParseSpeed(*speed)
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tickbeam feed: "+format+"\n", a...)
		return 2
	}
	switch {
	case err != nil:
		return fail("%v", err)
	case *input == "":
		return fail("--input is required: a file path or glob, or synthetic:?symbols=...")
	case !strings.HasPrefix(*input, monitor.SyntheticScheme) && *format == "":
		return fail("--format is required for file input (one of %s)", strings.Join(parse.Formats(), ", "))
	case !strings.HasPrefix(*to, monitor.PubSubScheme):
		return fail("--to %q: want pubsub:projects/P/topics/T", *to)
	}
	if *format != "" {
		if _, err := parse.New(*format, parse.Options{}); err != nil {
			return fail("--format: %v", err)
		}
	}
	topic := strings.TrimPrefix(*to, monitor.PubSubScheme)
	if _, _, err := pubsubx.ParseTopic(topic); err != nil {
		return fail("--to: %v", err)
	}

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
	opts := feed.Options{Input: *input, Format: *format, Source: *source, Speed: sp}
	if isTerminal(progressTo) {
		opts.Progress = func(p feed.Progress) { drawProgress(progressTo, p) }
	}
	n, err := feed.Run(ctx, pub, opts)
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam feed: %v (%d published)\n", err, n)
		return 1
	}
	fmt.Fprintf(stdout, "tickbeam feed: published %d messages to %s\n", n, topic)
	return 0
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
