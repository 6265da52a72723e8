// Package monitor is tickbeam's ready-made market-monitoring pipeline: raw
// messages from files or a synthetic feed are parsed into ticks, redelivered
// trades are dropped, and event-time bars are written as JSONL, with every
// message that could not be used written as a dead letter.
//
//	input --> parse --> dedupe --> bars (one or more resolutions) --> bars_out
//	              \--> dead letters ------------------------------> deadletter_out
//
// Nothing disappears without a count: the Beam counters tickbeam/parse.messages,
// .ticks, .control, .blank, .dead_letters and tickbeam/dedupe.duplicates add up.
package monitor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/io/lake"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// SyntheticScheme prefixes an Input naming the synthetic feed.
const SyntheticScheme = "synthetic:"

// Config is what the monitor pipeline reads, computes and writes.
type Config struct {
	// Input is a file path or glob, local or gs:// (.gz read transparently),
	// or a synthetic feed "synthetic:?symbols=A,B&rate=N&seed=S".
	Input string
	// Format names the parser of file input (see parse.Formats).
	Format string
	// ParseOptions configure the parser (source name, json/csv fields).
	ParseOptions parse.Options
	// Limits bound plausible event times.
	Limits parse.Limits
	// MaxPayloadBytes bounds one message; default parse.DefaultMaxPayloadBytes.
	MaxPayloadBytes int
	// Bars are the bar resolutions; at least one.
	Bars []bars.Resolution
	// BarsOut is a local directory or gs:// prefix receiving Bar rows as JSONL.
	BarsOut string
	// DeadLetterOut is a local directory or gs:// prefix receiving DeadLetter
	// rows; default BarsOut (the files are named deadletters-*, apart from bars).
	DeadLetterOut string
	// RawOut, when set, is a local directory or gs:// prefix receiving the
	// deduplicated ticks as Tick JSON under hive-style dt=/hour= partitions:
	// the raw archive, which replays with --format=tick.
	RawOut string
	// KeepDuplicates turns deduplication of redelivered trades off.
	KeepDuplicates bool
	// Shards is the number of files per window and pane; default 1.
	Shards int
	// Gzip compresses output files.
	Gzip bool
	// Duration bounds a synthetic feed in event time (0: unbounded).
	Duration time.Duration
}

// Synthetic reports whether the input is the synthetic feed.
func (c Config) Synthetic() bool { return strings.HasPrefix(c.Input, SyntheticScheme) }

// Validate checks the configuration before a pipeline is built, so bad flags
// fail fast with one clear reason.
func (c Config) Validate() error {
	if c.Input == "" {
		return errors.New("--input is required: a file path or glob, or synthetic:?symbols=...")
	}
	if c.Synthetic() {
		if _, err := synthetic.ParseURI(c.Input); err != nil {
			return fmt.Errorf("--input: %w", err)
		}
	} else {
		if c.Format == "" {
			return fmt.Errorf("--format is required for file input (one of %s)", strings.Join(parse.Formats(), ", "))
		}
		if _, err := parse.New(c.Format, c.ParseOptions); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if len(c.Bars) == 0 {
		return errors.New("--bar: at least one resolution is required")
	}
	if c.BarsOut == "" {
		return errors.New("--bars_out is required: a local directory or gs:// prefix")
	}
	if c.Shards < 0 || c.Shards > 1000 {
		return fmt.Errorf("--shards %d: want 1..1000", c.Shards)
	}
	for _, o := range []struct{ flag, v string }{{"--bars_out", c.BarsOut}, {"--deadletter_out", c.DeadLetterOut}, {"--raw_out", c.RawOut}} {
		if o.v == "" {
			continue
		}
		if err := lake.ValidatePrefix(o.v); err != nil {
			return fmt.Errorf("%s: %w", o.flag, err)
		}
	}
	return nil
}

// Build adds the monitor pipeline to s.
func Build(s beam.Scope, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s = s.Scope("monitor")
	var ticks beam.PCollection
	var dead []beam.PCollection
	bounded := true
	if c.Synthetic() {
		sc, _ := synthetic.ParseURI(c.Input)
		if c.Duration > 0 && (sc.Duration == 0 || c.Duration < sc.Duration) {
			sc.Duration = c.Duration
		}
		// A paced feed is live: its bars are written window by window.
		bounded = !sc.Paced && (sc.Count > 0 || sc.Duration > 0)
		ticks = synthetic.Ticks(s, sc)
	} else {
		raw, oversized := lines.Read(s, c.Input, lines.MaxLineBytes(c.maxPayload()))
		t, d := parse.Lines(s, parse.Config{Format: c.Format, Options: c.ParseOptions, Limits: c.Limits, MaxPayloadBytes: c.maxPayload()}, raw)
		ticks = t
		dead = append(dead, oversized, d)
	}
	if !c.KeepDuplicates {
		// Deduplicated ticks leave each dedupe window when it closes; every
		// bar window must then still be open, so dedupe windows must tile
		// every bar window: their length divides every resolution.
		ticks = dedupe.Ticks(s, ticks, dedupe.Options{Window: bars.GCD(c.Bars)})
	}
	// Bounded runs write one file per day and resolution, not one per bar
	// window; streaming runs write each bar window's panes as they fire.
	var fileWindow time.Duration
	rawWindow := time.Minute
	if bounded {
		fileWindow, rawWindow = 24*time.Hour, time.Hour
	}
	if c.RawOut != "" {
		lake.Write(s, c.RawOut, ticks, lake.Options{Name: "ticks", Shards: c.Shards, Gzip: c.Gzip, Window: rawWindow, Partition: true})
	}
	for i, b := range bars.Compute(s, ticks, bars.Options{Resolutions: c.Bars}) {
		r := c.Bars[i].String()
		lake.Write(s, c.BarsOut, b, lake.Options{Name: "bars-" + r, Shards: c.Shards, Gzip: c.Gzip, Window: fileWindow})
	}
	if len(dead) > 0 {
		out := c.DeadLetterOut
		if out == "" {
			out = c.BarsOut
		}
		lake.Write(s, out, beam.Flatten(s, dead...), lake.Options{Name: "deadletters", Shards: c.Shards, Gzip: c.Gzip})
	}
	return nil
}

func (c Config) maxPayload() int {
	if c.MaxPayloadBytes > 0 {
		return c.MaxPayloadBytes
	}
	return parse.DefaultMaxPayloadBytes
}
