package dedupe

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func init() {
	register.Function3x0[string, Batch, func(string, Batch)](againFn)
	register.Function3x1[string, Batch, func(string, Batch), error](unpackFn)
}

// againFn passes every batch on again: a second branch of the same ticks.
func againFn(k string, b Batch, emit func(string, Batch)) { emit(k, b) }

// unpackFn passes a batch on with its ticks decoded (Batch.All).
func unpackFn(k string, b Batch, emit func(string, Batch)) error {
	ticks, err := b.All()
	emit(k, Batch{Ticks: ticks})
	return err
}

// threeTicks are ticks of two sources, two symbols and two windows.
func threeTicks() (a, b, c tickbeam.Tick) {
	return tick("binance", "BTCUSDT", "1", time.Second, time.Second, 100),
		tick("binance", "BTCUSDT", "2", 61*time.Second, 61*time.Second, 101),
		tick("coinbase", "ETHUSDT", "3", 2*time.Second, 2*time.Second, 10)
}

// A Screen's branches are grouped together: the same ticks coming back in
// two branches leave once, the second copies counted as duplicates, and
// the Screen is told the window in use.
func TestScreenBranchesAreGrouped(t *testing.T) {
	a, b, c := threeTicks()
	p, s := beam.NewPipelineWithRoot()
	var got time.Duration
	out := Ticks(s, beamtest.Ticks(s, a, b, c), Options{Screen: func(s beam.Scope, batches beam.PCollection, w time.Duration) []beam.PCollection {
		got = w
		return []beam.PCollection{beam.ParDo(s, unpackFn, batches), beam.ParDo(s, againFn, batches)}
	}})
	if got != DefaultWindow {
		t.Errorf("Screen was told the window %v, want %v", got, DefaultWindow)
	}
	beamtest.Equals(s, out, []tickbeam.Tick{a, b, c})
	r := ptest.RunAndValidate(t, p)
	if n := beamtest.Counter(t, r, "tickbeam/dedupe", "duplicates"); n != 3 {
		t.Errorf("duplicates counter = %d, want 3", n)
	}
}

func TestScreenReturningNothingIsAnError(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	_, err := TryTicks(s, beamtest.Ticks(s), Options{Screen: func(beam.Scope, beam.PCollection, time.Duration) []beam.PCollection { return nil }})
	if err == nil {
		t.Fatal("no error")
	}
}

func TestKeyOf(t *testing.T) {
	if got := SymbolOf(KeyOf("binance", "BTCUSDT")); got != "BTCUSDT" {
		t.Errorf("SymbolOf(KeyOf(binance, BTCUSDT)) = %q", got)
	}
}

// Early gets the Screen's batches before they are grouped: both branches'
// ticks, copies included, while the grouped output has each tick once.
func TestEarlyGetsScreenedBatchesWithCopies(t *testing.T) {
	a, b, c := threeTicks()
	p, s := beam.NewPipelineWithRoot()
	var early beam.PCollection
	out := Ticks(s, beamtest.Ticks(s, a, b, c), Options{
		Screen: func(s beam.Scope, batches beam.PCollection, _ time.Duration) []beam.PCollection {
			return []beam.PCollection{beam.ParDo(s, unpackFn, batches), beam.ParDo(s, againFn, batches)}
		},
		Early: func(batches beam.PCollection) { early = batches },
	})
	beamtest.Equals(s, out, []tickbeam.Tick{a, b, c})
	beamtest.Equals(s, Unbatch(s, early), []tickbeam.Tick{a, b, c, a, b, c})
	ptest.RunAndValidate(t, p)
}
