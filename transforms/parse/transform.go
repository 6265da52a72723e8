package parse

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/optcheck"
)

// DefaultMaxPayloadBytes bounds one message; larger payloads become dead
// letters instead of being parsed.
const DefaultMaxPayloadBytes = 1 << 20

// deadLetterPayloadBytes is how much of an oversized payload a dead letter keeps.
const deadLetterPayloadBytes = 4 << 10

// Config says how to parse: the format, its options, and the validation limits.
type Config struct {
	Format  string
	Options feedformat.Options
	Limits  feedformat.Limits
	// MaxPayloadBytes bounds a message. Default DefaultMaxPayloadBytes.
	MaxPayloadBytes int
}

// Validate reports the first problem of c: a Format feedformat.New refuses
// with c.Options (when Format is set; else Options that
// feedformat.Options.Validate refuses), a negative MaxPayloadBytes or
// Limits.MaxAhead. The zero Config is valid for Messages and Late (each
// message names its format); Lines needs a Format.
func (c Config) Validate() error {
	if c.Format != "" {
		if _, err := feedformat.New(c.Format, c.Options); err != nil {
			return err
		}
	} else if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("parse: Options: %w", err)
	}
	return optcheck.First(
		optcheck.NonNegative("parse", optcheck.F("MaxPayloadBytes", c.MaxPayloadBytes)),
		optcheck.NonNegative("parse", optcheck.F("Limits.MaxAhead", c.Limits.MaxAhead)))
}

func init() {
	register.DoFn4x0[context.Context, string, func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter)](&linesFn{})
	register.DoFn4x0[context.Context, tickbeam.Message, func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter)](&messagesFn{})
	register.Emitter2[beam.EventTime, tickbeam.Tick]()
	register.Emitter1[tickbeam.DeadLetter]()
}

// Lines parses a PCollection<string> of raw payloads (one message per element,
// e.g. lines of a file) into a PCollection<tickbeam.Tick> timestamped with each
// tick's event time, and a PCollection<tickbeam.DeadLetter> of the payloads
// that failed to parse or validate (stage "parse" or "validate").
//
// Empty payloads are ignored and control messages are skipped; both are
// counted in Beam metrics under namespace "tickbeam/parse": messages, ticks,
// control, blank, dead_letters. messages = ticks-bearing messages + control +
// blank + dead_letters, so nothing disappears without a count.
//
// It fails at construction (panics, as Beam transforms do on bad arguments) if
// cfg is invalid (Config.Validate) or names no Format; TryLines returns the
// error instead.
func Lines(s beam.Scope, lines beam.PCollection, cfg Config) (ticks, deadLetters beam.PCollection) {
	ticks, deadLetters, err := TryLines(s, lines, cfg)
	if err != nil {
		panic(err)
	}
	return ticks, deadLetters
}

// TryLines is Lines returning invalid configuration as an error instead of panicking.
func TryLines(s beam.Scope, lines beam.PCollection, cfg Config) (ticks, deadLetters beam.PCollection, err error) {
	if err := validWithFormat(cfg, "Lines"); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("parse.Lines")
	ticks, deadLetters = beam.ParDo2(s, &linesFn{parseFn{Config: cfg}}, lines)
	return ticks, deadLetters, nil
}

// validWithFormat is Config.Validate for a transform that needs a Format.
func validWithFormat(cfg Config, transform string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Format == "" {
		return fmt.Errorf("parse: %s: Config.Format is required", transform)
	}
	return nil
}

// Messages is Lines for a PCollection<tickbeam.Message>, e.g. from Pub/Sub.
// Dead letters keep the message's attributes. When cfg.Format is empty each
// message names its own format in its "format" attribute (as `tickbeam feed`
// publishes them), and when cfg.Options.Source is empty its "source"
// attribute names the source; a message naming no known format is a dead
// letter. Messages panics if cfg is invalid (Config.Validate); TryMessages
// returns the error instead.
func Messages(s beam.Scope, msgs beam.PCollection, cfg Config) (ticks, deadLetters beam.PCollection) {
	ticks, deadLetters, err := TryMessages(s, msgs, cfg)
	if err != nil {
		panic(err)
	}
	return ticks, deadLetters
}

// TryMessages is Messages returning invalid configuration as an error instead of panicking.
func TryMessages(s beam.Scope, msgs beam.PCollection, cfg Config) (ticks, deadLetters beam.PCollection, err error) {
	if err := cfg.Validate(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("parse.Messages")
	ticks, deadLetters = beam.ParDo2(s, &messagesFn{parseFn{Config: cfg}}, msgs)
	return ticks, deadLetters, nil
}

// parseFn is what linesFn and messagesFn share: parsers, limits and counts.
type parseFn struct {
	Config Config

	parsers map[parserKey]feedformat.Parser
	buf     []tickbeam.Tick
	n       counts
}

type parserKey struct{ format, source string }

type counts struct{ messages, ticks, control, blank, dead int64 }

var (
	cMessages = beam.NewCounter("tickbeam/parse", "messages")
	cTicks    = beam.NewCounter("tickbeam/parse", "ticks")
	cControl  = beam.NewCounter("tickbeam/parse", "control")
	cBlank    = beam.NewCounter("tickbeam/parse", "blank")
	cDead     = beam.NewCounter("tickbeam/parse", "dead_letters")
)

func (f *parseFn) Setup() {
	f.parsers = map[parserKey]feedformat.Parser{}
	if f.Config.MaxPayloadBytes <= 0 {
		f.Config.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
}

// parser returns the parser of a format and source, built once.
func (f *parseFn) parser(format, source string) (feedformat.Parser, error) {
	k := parserKey{format, source}
	if p, ok := f.parsers[k]; ok {
		return p, nil
	}
	opts := f.Config.Options
	opts.Source = source
	p, err := feedformat.New(format, opts)
	if err != nil {
		return nil, err
	}
	if len(f.parsers) > 64 { // formats x sources named by messages: bounded
		clear(f.parsers)
	}
	f.parsers[k] = p
	return p, nil
}

// handle parses one payload. attrs may be nil; they are kept on dead letters.
func (f *parseFn) handle(payload []byte, attrs map[string]string, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) {
	f.n.messages++
	if isBlank(payload) {
		f.n.blank++
		return
	}
	now := time.Now()
	format, source := f.Config.Format, f.Config.Options.Source
	if format == "" {
		format = attrs[feedformat.FormatAttribute]
	}
	if source == "" {
		source = attrs[feedformat.SourceAttribute]
	}
	if source == "" {
		source = format
	}
	fail := func(stage string, p []byte, err error) {
		f.n.dead++
		dead(tickbeam.NewDeadLetter(now, p, attrs, stage, source, err))
	}
	if len(payload) > f.Config.MaxPayloadBytes {
		kept := min(len(payload), deadLetterPayloadBytes)
		fail(tickbeam.StageParse, payload[:kept],
			fmt.Errorf("payload of %d bytes exceeds the %d-byte limit (first %d bytes kept)", len(payload), f.Config.MaxPayloadBytes, kept))
		return
	}
	p, err := f.parser(format, source)
	if err != nil {
		fail(tickbeam.StageParse, payload, err)
		return
	}
	ticks, err := p.Parse(f.buf[:0], payload)
	f.buf = ticks[:0]
	switch {
	case errors.Is(err, feedformat.ErrControl):
		f.n.control++
		return
	case err != nil:
		fail(tickbeam.StageParse, payload, err)
		return
	case len(ticks) == 0:
		// A parser that found nothing to say must not make a message vanish.
		fail(tickbeam.StageParse, payload, fmt.Errorf("%s: no ticks in payload", format))
		return
	}
	for i := range ticks {
		if err := feedformat.Validate(&ticks[i], f.Config.Limits, now); err != nil {
			if len(ticks) > 1 {
				err = fmt.Errorf("record %d of %d: %w", i+1, len(ticks), err)
			}
			fail(tickbeam.StageValidate, payload, err)
			return
		}
	}
	for i := range ticks {
		ticks[i].IngestTime = now
		f.n.ticks++
		emit(mtime.FromTime(ticks[i].EventTime), ticks[i])
	}
}

// flush reports the counts and zeroes them; they are reported once per
// bundle: a metric update per element would cost more than parsing the
// element.
func (n *counts) flush(ctx context.Context) {
	for _, c := range [...]struct {
		c beam.Counter
		n int64
	}{{cMessages, n.messages}, {cTicks, n.ticks}, {cControl, n.control}, {cBlank, n.blank}, {cDead, n.dead}} {
		if c.n != 0 {
			c.c.Inc(ctx, c.n)
		}
	}
	*n = counts{}
}

func (n *counts) add(o counts) {
	n.messages += o.messages
	n.ticks += o.ticks
	n.control += o.control
	n.blank += o.blank
	n.dead += o.dead
}

type linesFn struct{ parseFn }

func (f *linesFn) ProcessElement(_ context.Context, line string, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) {
	// The parser promises not to modify or retain the payload, so the string's
	// bytes are lent to it rather than copied on the hot path.
	f.handle(unsafe.Slice(unsafe.StringData(line), len(line)), nil, emit, dead)
}

func (f *linesFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, tickbeam.Tick), _ func(tickbeam.DeadLetter)) {
	f.n.flush(ctx)
}

type messagesFn struct{ parseFn }

func (f *messagesFn) ProcessElement(_ context.Context, m tickbeam.Message, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) {
	f.handle(m.Payload, m.Attributes, emit, dead)
}

func (f *messagesFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, tickbeam.Tick), _ func(tickbeam.DeadLetter)) {
	f.n.flush(ctx)
}

func isBlank(p []byte) bool {
	for _, c := range p {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}
