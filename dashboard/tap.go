package dashboard

import (
	"context"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
)

func init() {
	register.DoFn2x0[context.Context, tickbeam.Bar](&barFn{})
	register.DoFn2x0[context.Context, tickbeam.IndicatorValue](&indicatorFn{})
	register.DoFn2x0[context.Context, tickbeam.Alert](&alertFn{})
}

// hubs maps the names Tap's DoFns carry to the hubs of this process: the
// DoFns are serialized with the pipeline, a *Hub cannot be.
var hubs sync.Map

// Register makes h reachable by name from Tap's DoFns in this process, until
// the returned function is called.
func Register(name string, h *Hub) (unregister func()) {
	hubs.Store(name, h)
	return func() { hubs.CompareAndDelete(name, h) }
}

func lookup(name string) *Hub {
	h, _ := hubs.Load(name)
	hub, _ := h.(*Hub)
	return hub
}

// cNoHub counts rows whose hub is not in the worker's process: Tap runs on
// the local runner, whose workers are the launching process.
var cNoHub = beam.NewCounter("tickbeam/dashboard", "no_hub")

// Inputs are the collections a dashboard draws; invalid ones are skipped.
type Inputs struct {
	Bars       beam.PCollection // Bar rows of one resolution: candles, volume, VWAP
	Indicators beam.PCollection // IndicatorValue rows of those bars
	Alerts     beam.PCollection // Alert rows: markers
}

// Tap sends the rows of in to the hub registered under name as they come:
// each bar pane as it fires. It only reads its inputs.
func Tap(s beam.Scope, name string, in Inputs) {
	s = s.Scope("dashboard.Tap")
	if in.Bars.IsValid() {
		beam.ParDo0(s, &barFn{Hub: name}, in.Bars)
	}
	if in.Indicators.IsValid() {
		beam.ParDo0(s, &indicatorFn{Hub: name}, in.Indicators)
	}
	if in.Alerts.IsValid() {
		beam.ParDo0(s, &alertFn{Hub: name}, in.Alerts)
	}
}

// send hands a row to the hub registered under name, or counts it.
func send(ctx context.Context, name string, deliver func(*Hub)) {
	if h := lookup(name); h != nil {
		deliver(h)
		return
	}
	cNoHub.Inc(ctx, 1)
}

type barFn struct{ Hub string }

func (f *barFn) ProcessElement(ctx context.Context, b tickbeam.Bar) {
	send(ctx, f.Hub, func(h *Hub) { h.Bar(b) })
}

type indicatorFn struct{ Hub string }

func (f *indicatorFn) ProcessElement(ctx context.Context, v tickbeam.IndicatorValue) {
	send(ctx, f.Hub, func(h *Hub) { h.Indicator(v) })
}

type alertFn struct{ Hub string }

func (f *alertFn) ProcessElement(ctx context.Context, a tickbeam.Alert) {
	send(ctx, f.Hub, func(h *Hub) { h.Alert(a) })
}
