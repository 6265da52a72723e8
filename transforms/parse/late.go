package parse

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
)

func init() {
	register.DoFn3x0[context.Context, tickbeam.DeadLetter, func(tickbeam.DeadLetter)](&lateFn{})
}

// Late re-examines a Pub/Sub reader's late dead letters (stage late, e.g.
// from pubsubx.ReadWithLate): a reader judges lateness from a message's
// timestamp attribute before anything parses it, but a message that would
// not parse or validate is malformed whatever its time, and its dead letter
// says so (stage parse or validate, with the parser's reason); a control or
// blank message is counted as such and dropped. The rest stay late dead
// letters. Every input counts under tickbeam/parse as Messages counts its
// input (messages, control, blank, dead_letters), so a run that feeds the
// reader's on-time messages to Messages and its late ones here keeps
// messages = ticks-bearing + control + blank + dead_letters.
//
// cfg is the Config given to Messages for the on-time messages. Late panics
// if cfg is invalid (Config.Validate); TryLate returns the error instead.
func Late(s beam.Scope, late beam.PCollection, cfg Config) beam.PCollection {
	out, err := TryLate(s, late, cfg)
	if err != nil {
		panic(err)
	}
	return out
}

// TryLate is Late returning invalid configuration as an error instead of panicking.
func TryLate(s beam.Scope, late beam.PCollection, cfg Config) (beam.PCollection, error) {
	if err := cfg.Validate(); err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("parse.Late")
	return beam.ParDo(s, &lateFn{parseFn{Config: cfg}}, late), nil
}

type lateFn struct{ parseFn }

func (f *lateFn) ProcessElement(_ context.Context, d tickbeam.DeadLetter, dead func(tickbeam.DeadLetter)) {
	if d.Stage != tickbeam.StageLate {
		dead(d)
		return
	}
	var attrs map[string]string
	if len(d.Attributes) > 0 {
		attrs = make(map[string]string, len(d.Attributes))
		for _, a := range d.Attributes {
			attrs[a.Key] = a.Value
		}
	}
	ticks := int64(0)
	f.handle(d.PayloadBytes, attrs, func(beam.EventTime, tickbeam.Tick) { ticks++ }, dead)
	if ticks > 0 {
		// Its ticks are late, not output: the message is a dead letter.
		f.n.ticks -= ticks
		f.n.dead++
		dead(d)
	}
}

func (f *lateFn) FinishBundle(ctx context.Context, _ func(tickbeam.DeadLetter)) {
	f.n.flush(ctx)
}
