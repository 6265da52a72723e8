package tickbeamtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

func init() {
	register.Function2x0[tickbeam.Tick, func(string, tickbeam.Tick)](bySymbol)
	register.DoFn5x0[state.Provider, timers.Provider, string, tickbeam.Tick, func(int64)](&batchFn{})
	register.Emitter1[int64]()
	register.Emitter2[string, tickbeam.Tick]()
}

// A trade behind the watermark is late: with no allowed lateness the
// runner drops it, so its window's bar is the on-time pane only; a trade
// ahead of the watermark counts.
func TestStreamWatermark(t *testing.T) {
	on := tickbeamtest.Trades("A", t0.Add(10*time.Second), 10*time.Second, 10, 11)
	late := tickbeamtest.Trade("A", t0.Add(30*time.Second), 99, 5, tickbeamtest.WithID("late"))
	next := tickbeamtest.Trade("A", t0.Add(70*time.Second), 12, 1, tickbeamtest.WithID("3"))

	p, s := beam.NewPipelineWithRoot()
	ticks := tickbeamtest.NewStream().
		AdvanceWatermark(t0).
		Add(on...).
		AdvanceWatermark(t0.Add(65*time.Second)).
		Add(late, next).
		Create(s)
	got := bars.Compute(s, ticks, bars.Options{Resolutions: []bars.Resolution{bars.Resolution(time.Minute)}})[bars.Resolution(time.Minute)]
	tickbeamtest.AssertBars(s, got, tickbeamtest.BarsOf(time.Minute, append(on, next)...)...)
	ptest.RunAndValidate(t, p)
}

func bySymbol(t tickbeam.Tick, emit func(string, tickbeam.Tick)) { emit(t.Symbol, t) }

// batchFn counts the ticks of a symbol until a processing-time timer, set
// 5 s after the first of them, fires; then it emits the count.
type batchFn struct {
	Flush timers.ProcessingTime
	N     state.Value[int64]
}

func (fn *batchFn) ProcessElement(sp state.Provider, tp timers.Provider, _ string, _ tickbeam.Tick, _ func(int64)) {
	n, _, _ := fn.N.Read(sp)
	if n == 0 {
		fn.Flush.Set(tp, time.Now().Add(5*time.Second))
	}
	_ = fn.N.Write(sp, n+1)
}

func (fn *batchFn) OnTimer(_ context.Context, sp state.Provider, _ timers.Provider, _ string, _ timers.Context, emit func(int64)) {
	n, _, _ := fn.N.Read(sp)
	fn.N.Clear(sp)
	emit(n)
}

// A processing-time step after a watermark advance fires the timer
// between the two trades (batches 1 and 1); without it the timer fires
// only at the end (one batch of 2).
func TestStreamProcessingTime(t *testing.T) {
	for _, c := range []struct {
		step time.Duration
		want []any
	}{{10 * time.Second, []any{int64(1), int64(1)}}, {0, []any{int64(2)}}} {
		p, s := beam.NewPipelineWithRoot()
		st := tickbeamtest.NewStream().
			Add(tickbeamtest.Trade("A", t0, 1, 1)).
			AdvanceWatermark(t0.Add(time.Second))
		if c.step > 0 {
			st.AdvanceProcessingTime(c.step)
		}
		ticks := st.Add(tickbeamtest.Trade("A", t0.Add(2*time.Second), 2, 1)).Create(s)
		batches := beam.ParDo(s, &batchFn{Flush: timers.InProcessingTime("flush"), N: state.MakeValueState[int64]("n")},
			beam.ParDo(s, bySymbol, ticks))
		passert.Equals(s, batches, c.want...)
		if err := ptest.Run(p); err != nil {
			t.Errorf("step %v: %v", c.step, err)
		}
	}
}

func TestStreamErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(s beam.Scope)
		want  string
	}{
		{"empty", func(s beam.Scope) { tickbeamtest.NewStream().AdvanceWatermark(t0).Create(s) }, "no elements"},
		{"watermark back", func(s beam.Scope) {
			tickbeamtest.NewStream().AdvanceWatermark(t0).AdvanceWatermark(t0.Add(-time.Second)).Add(tickbeamtest.Trade("A", t0, 1, 1)).Create(s)
		}, "watermark moved back"},
		{"no stamp", func(s beam.Scope) { tickbeamtest.NewStreamOf[string](nil).Add("x").Create(s) }, "use AddAt"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(error).Error(), c.want) {
					t.Errorf("%s: recovered %v, want an error containing %q", c.name, r, c.want)
				}
			}()
			_, s := beam.NewPipelineWithRoot()
			c.build(s)
		}()
	}
}

// Streams carry any element type Beam encodes: raw lines here.
func TestStreamOfLines(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	lines := tickbeamtest.NewStreamOf[string](nil).AddAt(t0, "a", "b").AdvanceWatermark(t0.Add(time.Minute)).AddAt(t0.Add(2*time.Minute), "c").Create(s)
	passert.Equals(s, lines, "a", "b", "c")
	ptest.RunAndValidate(t, p)
}
