package tickbeamtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam/runners"
)

func init() {
	register.DoFn2x0[context.Context, beam.T](&countFn{})
}

// Counters the conservation check reads besides its own.
const (
	parseNamespace  = "tickbeam/parse"
	dedupeNamespace = "tickbeam/dedupe"
	ledgerNamespace = "tickbeamtest/conservation/"
)

// Ledger checks that a pipeline loses nothing: every element that went in
// comes out as a tick, a dead letter, or a duplicate that dedupe dropped,
// or was a control message or a blank line that transforms/parse skipped:
//
//	in = ticks + dead letters + tickbeam/dedupe.duplicates + tickbeam/parse.control + tickbeam/parse.blank
//
// The counts come from the run's Beam counters: Conservation, Ticks and
// DeadLetters count the PCollections they are given, and the other terms
// are tickbeam's own counters. Count ticks, not messages, when one message
// carries several (Alpaca arrays): pass the ticks as in.
type Ledger struct{ name string }

// Conservation starts a ledger named name (unique among the pipeline's
// ledgers) whose input is in, a PCollection of raw messages or of ticks.
func Conservation(s beam.Scope, name string, in beam.PCollection) *Ledger {
	l := &Ledger{name: name}
	l.count(s, "in", in)
	return l
}

// Ticks counts ticks that came out: those the pipeline kept.
func (l *Ledger) Ticks(s beam.Scope, ticks beam.PCollection) { l.count(s, "ticks", ticks) }

// DeadLetters counts dead letters; call it once per dead-letter output.
func (l *Ledger) DeadLetters(s beam.Scope, dead beam.PCollection) { l.count(s, "dead_letters", dead) }

func (l *Ledger) count(s beam.Scope, what string, col beam.PCollection) {
	s = s.Scope("tickbeamtest.Conservation." + l.name + "." + what)
	beam.ParDo0(s, &countFn{Namespace: ledgerNamespace + l.name, Name: what}, col)
}

// Check fails t unless the finished run r balances; it logs the terms.
func (l *Ledger) Check(t testing.TB, r beam.PipelineResult) {
	t.Helper()
	ns := ledgerNamespace + l.name
	in := runners.Counter(r, ns, "in")
	ticks := runners.Counter(r, ns, "ticks")
	dead := runners.Counter(r, ns, "dead_letters")
	dups := runners.Counter(r, dedupeNamespace, "duplicates")
	control := runners.Counter(r, parseNamespace, "control")
	blank := runners.Counter(r, parseNamespace, "blank")
	terms := fmt.Sprintf("in %d, ticks %d + dead letters %d + duplicates %d + control %d + blank %d = %d",
		in, ticks, dead, dups, control, blank, ticks+dead+dups+control+blank)
	if in != ticks+dead+dups+control+blank {
		t.Errorf("tickbeamtest: %s does not balance: %s", l.name, terms)
		return
	}
	t.Logf("%s balances: %s", l.name, terms)
}

type countFn struct {
	Namespace, Name string
	c               beam.Counter
}

func (fn *countFn) Setup() { fn.c = beam.NewCounter(fn.Namespace, fn.Name) }

func (fn *countFn) ProcessElement(ctx context.Context, _ beam.T) { fn.c.Inc(ctx, 1) }
