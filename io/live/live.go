package live

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
)

// Line is one raw message of a live feed, exactly as its vendor sent it (or,
// for a backfill, shaped as the vendor's stream sends it), for the parser of
// Format to read.
type Line struct {
	Payload []byte
	Format  string
	Source  string
	// EventTime is the earliest event time of the line's ticks; zero when it
	// has none (control frames, garbage).
	EventTime time.Time
	Received  time.Time
	// Oversize is the real size of a frame larger than the connector's
	// bound: Payload then holds only its first bytes, and the line is a dead
	// letter, not a message.
	Oversize int
	// Backfill marks a line recovered from the vendor's history endpoint.
	Backfill bool
}

// Attributes are the Pub/Sub attributes `tickbeam feed` publishes a line
// with: format, source and ts (Unix ms of EventTime, when it has one).
func (l Line) Attributes() map[string]string {
	a := map[string]string{feedformat.FormatAttribute: l.Format, feedformat.SourceAttribute: l.Source}
	if !l.EventTime.IsZero() {
		a[TimestampAttribute] = strconv.FormatInt(l.EventTime.UnixMilli(), 10)
	}
	return a
}

// TimestampAttribute holds a line's event time in Unix ms, as `tickbeam feed` sets it.
const TimestampAttribute = "ts"

// DeadLetter is the dead letter of an oversized line.
func (l Line) DeadLetter() tickbeam.DeadLetter {
	err := fmt.Errorf("frame of %d bytes exceeds the %s connector's %d-byte bound (first %d bytes kept)",
		l.Oversize, l.Format, len(l.Payload), len(l.Payload))
	return tickbeam.NewDeadLetter(l.Received, l.Payload, l.Attributes(), StageRead, l.Source, err)
}

// StageRead is the dead-letter stage of frames a connector could not pass on.
const StageRead = "read"

// Sink receives a connector's output, from one goroutine at a time. Line may
// block (back pressure: the vendor's socket then waits); an error from it
// stops the connector.
type Sink interface {
	Line(context.Context, Line) error
	Gap(context.Context, tickbeam.Gap) error
}

// Connector is a live connection to one vendor, kept up until its context
// ends.
type Connector interface {
	// Run connects, subscribes and passes every frame to sink, reconnecting
	// with jittered exponential backoff, until ctx is done (nil) or the
	// vendor refuses the credentials or subscription for good (an error
	// naming the vendor and its reason, never a secret).
	Run(ctx context.Context, sink Sink) error
	// Stats are the counts so far; safe to call while Run runs.
	Stats() Stats
}

// Stats count what a connector did.
type Stats struct {
	Connects    int64 // successful connections (subscribed)
	Reconnects  int64 // connections after the first
	Frames      int64 // frames received (lines emitted from the stream)
	Oversize    int64 // frames over the bound (dead letters)
	Silences    int64 // connections the watchdog dropped for silence
	RateLimited int64 // rate-limit replies (HTTP 429/418, vendor error frames)
	Gaps        int64 // gaps detected
	Missing     int64 // trades (or volume, bars) missing in them
	Backfilled  int64 // lines recovered from history endpoints
	// ResumeLatency is the time from the last reconnect's dial to the first
	// trade after it (0 until there is one).
	ResumeLatency time.Duration
}

type stats struct {
	connects, reconnects, frames, oversize, silences, rateLimited, gaps, missing, backfilled, resumeNs atomic.Int64
}

func (s *stats) snapshot() Stats {
	return Stats{Connects: s.connects.Load(), Reconnects: s.reconnects.Load(), Frames: s.frames.Load(), Oversize: s.oversize.Load(),
		Silences: s.silences.Load(), RateLimited: s.rateLimited.Load(), Gaps: s.gaps.Load(), Missing: s.missing.Load(),
		Backfilled: s.backfilled.Load(), ResumeLatency: time.Duration(s.resumeNs.Load())}
}

// Options configure Open.
type Options struct {
	// Getenv reads credentials; default os.Getenv. Credentials come only
	// from the environment: never from flags or URIs, never logged.
	Getenv func(string) string
	// Logf receives one line per connection event (connect, reconnect with
	// its reason, gap); default none.
	Logf func(format string, args ...any)
}

// Validate returns nil: both fields may be nil (the defaults), so every
// Options is valid. It is here so that every options type has one.
func (o Options) Validate() error { return nil }

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}
