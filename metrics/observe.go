package metrics

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// Namespaces of the Beam metrics Observe adds.
const (
	// NamespaceFreshness holds one distribution per tick source (named by
	// the source) whose max is the latest event time seen, Unix ms.
	NamespaceFreshness = "tickbeam/freshness"
	// NamespaceWatermark holds one distribution per bar resolution (named
	// bars_RES) whose max is the latest end of a bar window that fired
	// ON_TIME or LATE, Unix ms: the bars stage's watermark had passed it.
	NamespaceWatermark = "tickbeam/watermark"
	// NamespaceDeadLetters holds one counter per dead-letter stage.
	NamespaceDeadLetters = "tickbeam/deadletters"
)

func init() {
	register.DoFn2x0[context.Context, tickbeam.Tick](&freshnessFn{})
	register.DoFn2x0[context.Context, tickbeam.Bar](&watermarkFn{})
	register.DoFn2x0[context.Context, tickbeam.DeadLetter](&deadLetterFn{})
}

// Inputs are the collections Observe measures; invalid ones are skipped.
type Inputs struct {
	// Ticks: event-time freshness per source.
	Ticks beam.PCollection
	// Bars of Resolution: the bars stage's watermark.
	Bars       beam.PCollection
	Resolution bars.Resolution
	// DeadLetters: counted per stage.
	DeadLetters beam.PCollection
}

// Observe adds the metrics an Exporter turns into freshness, watermark lag
// and dead letters by stage. It only reads its inputs: the pipeline's
// outputs do not change.
func Observe(s beam.Scope, in Inputs) {
	s = s.Scope("metrics.Observe")
	if in.Ticks.IsValid() {
		beam.ParDo0(s, &freshnessFn{}, in.Ticks)
	}
	if in.Bars.IsValid() {
		beam.ParDo0(s, &watermarkFn{Name: "bars_" + in.Resolution.String()}, in.Bars)
	}
	if in.DeadLetters.IsValid() {
		beam.ParDo0(s, &deadLetterFn{}, in.DeadLetters)
	}
}

// freshnessFn reports, once per bundle, the latest event time of each
// source: a distribution's max merges correctly across bundles and workers,
// where a gauge would keep whichever bundle reported last.
type freshnessFn struct {
	latest map[string]int64
}

func (f *freshnessFn) StartBundle(context.Context) { f.latest = map[string]int64{} }

func (f *freshnessFn) ProcessElement(_ context.Context, t tickbeam.Tick) {
	if ms := t.EventTime.UnixMilli(); ms > f.latest[t.Source] {
		f.latest[t.Source] = ms
	}
}

func (f *freshnessFn) FinishBundle(ctx context.Context) {
	for src, ms := range f.latest {
		beam.NewDistribution(NamespaceFreshness, src).Update(ctx, ms)
	}
}

// watermarkFn reports the latest window end of bars that fired at or after
// the watermark.
type watermarkFn struct {
	Name   string
	latest int64
}

func (f *watermarkFn) StartBundle(context.Context) { f.latest = 0 }

func (f *watermarkFn) ProcessElement(_ context.Context, b tickbeam.Bar) {
	if b.Timing == tickbeam.Early {
		return
	}
	if ms := b.WindowEnd.UnixMilli(); ms > f.latest {
		f.latest = ms
	}
}

func (f *watermarkFn) FinishBundle(ctx context.Context) {
	if f.latest > 0 {
		beam.NewDistribution(NamespaceWatermark, f.Name).Update(ctx, f.latest)
	}
}

// deadLetterFn counts dead letters per stage.
type deadLetterFn struct {
	counts map[string]int64
}

func (f *deadLetterFn) StartBundle(context.Context) { f.counts = map[string]int64{} }

func (f *deadLetterFn) ProcessElement(_ context.Context, d tickbeam.DeadLetter) {
	stage := d.Stage
	if stage == "" {
		stage = "unknown"
	}
	f.counts[stage]++
}

func (f *deadLetterFn) FinishBundle(ctx context.Context) {
	for stage, n := range f.counts {
		beam.NewCounter(NamespaceDeadLetters, stage).Inc(ctx, n)
	}
}
