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
)

// DefaultMaxPayloadBytes bounds one message; larger payloads become dead
// letters instead of being parsed.
const DefaultMaxPayloadBytes = 1 << 20

// deadLetterPayloadBytes is how much of an oversized payload a dead letter keeps.
const deadLetterPayloadBytes = 4 << 10

// Config says how to parse: the format, its options, and the validation limits.
type Config struct {
	Format  string
	Options Options
	Limits  Limits
	// MaxPayloadBytes bounds a message. Default DefaultMaxPayloadBytes.
	MaxPayloadBytes int
}

func init() {
	register.DoFn4x0[context.Context, string, func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter)](&linesFn{})
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
// the format is unknown; call New first to get an error instead.
func Lines(s beam.Scope, cfg Config, lines beam.PCollection) (ticks, deadLetters beam.PCollection) {
	s = s.Scope("parse.Lines")
	if _, err := New(cfg.Format, cfg.Options); err != nil {
		panic(fmt.Sprintf("parse.Lines: %v", err))
	}
	return beam.ParDo2(s, &linesFn{Config: cfg}, lines)
}

type linesFn struct {
	Config Config

	parser Parser
	buf    []tickbeam.Tick
	source string
	n      counts
}

type counts struct{ messages, ticks, control, blank, dead int64 }

var (
	cMessages = beam.NewCounter("tickbeam/parse", "messages")
	cTicks    = beam.NewCounter("tickbeam/parse", "ticks")
	cControl  = beam.NewCounter("tickbeam/parse", "control")
	cBlank    = beam.NewCounter("tickbeam/parse", "blank")
	cDead     = beam.NewCounter("tickbeam/parse", "dead_letters")
)

func (f *linesFn) Setup() error {
	p, err := New(f.Config.Format, f.Config.Options)
	if err != nil {
		return err
	}
	f.parser = p
	f.source = f.Config.Options.Source
	if f.source == "" {
		f.source = f.Config.Format
	}
	if f.Config.MaxPayloadBytes <= 0 {
		f.Config.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	return nil
}

func (f *linesFn) ProcessElement(ctx context.Context, line string, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) {
	f.n.messages++
	if isBlank(line) {
		f.n.blank++
		return
	}
	now := time.Now()
	// The parser promises not to modify or retain the payload, so the string's
	// bytes are lent to it rather than copied on the hot path.
	payload := unsafe.Slice(unsafe.StringData(line), len(line))
	if len(payload) > f.Config.MaxPayloadBytes {
		f.n.dead++
		kept := min(len(payload), deadLetterPayloadBytes)
		d := tickbeam.NewDeadLetter(now, payload[:kept], nil, tickbeam.StageParse, f.source,
			fmt.Errorf("payload of %d bytes exceeds the %d-byte limit (first %d bytes kept)", len(payload), f.Config.MaxPayloadBytes, kept))
		dead(d)
		return
	}
	ticks, err := f.parser.Parse(f.buf[:0], payload)
	f.buf = ticks[:0]
	switch {
	case errors.Is(err, ErrControl):
		f.n.control++
		return
	case err != nil:
		f.n.dead++
		dead(tickbeam.NewDeadLetter(now, payload, nil, tickbeam.StageParse, f.source, err))
		return
	case len(ticks) == 0:
		// A parser that found nothing to say must not make a message vanish.
		f.n.dead++
		dead(tickbeam.NewDeadLetter(now, payload, nil, tickbeam.StageParse, f.source, fmt.Errorf("%s: no ticks in payload", f.Config.Format)))
		return
	}
	for i := range ticks {
		if err := Validate(&ticks[i], f.Config.Limits, now); err != nil {
			f.n.dead++
			if len(ticks) > 1 {
				err = fmt.Errorf("record %d of %d: %w", i+1, len(ticks), err)
			}
			dead(tickbeam.NewDeadLetter(now, payload, nil, tickbeam.StageValidate, f.source, err))
			return
		}
	}
	for i := range ticks {
		ticks[i].IngestTime = now
		f.n.ticks++
		emit(mtime.FromTime(ticks[i].EventTime), ticks[i])
	}
}

// FinishBundle reports counts once per bundle: a metric update per element
// would cost more than parsing the element.
func (f *linesFn) FinishBundle(ctx context.Context, _ func(beam.EventTime, tickbeam.Tick), _ func(tickbeam.DeadLetter)) {
	for _, c := range [...]struct {
		c beam.Counter
		n int64
	}{{cMessages, f.n.messages}, {cTicks, f.n.ticks}, {cControl, f.n.control}, {cBlank, f.n.blank}, {cDead, f.n.dead}} {
		if c.n != 0 {
			c.c.Inc(ctx, c.n)
		}
	}
	f.n = counts{}
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}
