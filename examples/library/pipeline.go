package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/alerts"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

func init() {
	beam.RegisterType(reflect.TypeFor[Move]())
	register.Function2x0[tickbeam.Bar, func(Move)](barMove)
	register.Emitter1[Move]()
}

// Config is the pipeline's configuration.
type Config struct {
	// Input is a glob of raw feed lines (local or gs://) in Format, one of
	// feedformat.Formats().
	Input, Format string
	// Bar is the bar resolution.
	Bar time.Duration
	// MovePct: alert when a bar closes this many percent or more away from
	// its open, up or down.
	MovePct float64
	// BarsTable, AlertsTable and DeadLettersTable are BigQuery tables,
	// "PROJECT.DATASET.TABLE", created when missing.
	BarsTable, AlertsTable, DeadLettersTable string
	// BigQuery says where BigQuery is: the emulator in tests.
	BigQuery bigqueryx.Options
}

// Validate reports the first problem of c: no Input or Format, a Format
// parse refuses, a Bar that is not a bar resolution (bars.Options.Validate),
// a MovePct not above 0, a table that is not PROJECT.DATASET.TABLE, or
// BigQuery options bigqueryx.Options.Validate refuses. Build calls it.
func (c Config) Validate() error {
	switch {
	case c.Input == "":
		return errors.New("library: Input is required")
	case c.Format == "":
		return errors.New("library: Format is required")
	case !(c.MovePct > 0):
		return fmt.Errorf("library: MovePct must be > 0, got %g", c.MovePct)
	}
	if err := (parse.Config{Format: c.Format}).Validate(); err != nil {
		return err
	}
	if err := (bars.Options{Resolutions: []bars.Resolution{bars.Resolution(c.Bar)}}).Validate(); err != nil {
		return fmt.Errorf("library: Bar: %w", err)
	}
	for _, t := range []struct{ field, table string }{
		{"BarsTable", c.BarsTable}, {"AlertsTable", c.AlertsTable}, {"DeadLettersTable", c.DeadLettersTable},
	} {
		if _, err := bigqueryx.ParseTable(t.table); err != nil {
			return fmt.Errorf("library: %s: %w", t.field, err)
		}
	}
	return c.BigQuery.Validate()
}

// Move is what this pipeline adds to tickbeam: a bar's close against its
// open. The change_pct rule reads any struct with the fields Symbol,
// EventTime and ChangePct (PrevClose optional), so Moves feed alerts as
// tickbeam.PriceChange rows would.
type Move struct {
	Symbol    string
	EventTime time.Time
	ChangePct float64
	PrevClose float64 // the bar's open
}

// barMove is the custom DoFn: one Move per bar, at the bar's close.
func barMove(b tickbeam.Bar, emit func(Move)) {
	if b.Open <= 0 {
		return
	}
	emit(Move{Symbol: b.Symbol, EventTime: b.WindowEnd, ChangePct: (b.Close - b.Open) * 100 / b.Open, PrevClose: b.Open})
}

// rulesYAML is the alert rule, as a rules file would hold it.
const rulesYAML = `
rules:
  - name: bar-move
    kind: change_pct
    description: a bar closed %[1]g%% or more away from its open
    direction: both
    threshold: %[1]g
    severity: WARNING
`

// Build adds the pipeline to s: raw lines -> parse -> dedupe -> bars ->
// Move (custom DoFn) -> alerts, with bars, alerts and every dead letter
// written to BigQuery. Invalid cfg (Config.Validate) is an error.
func Build(s beam.Scope, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	rules, err := alerts.ParseRules(strings.NewReader(fmt.Sprintf(rulesYAML, cfg.MovePct)), "bar-move rule")
	if err != nil {
		return err
	}
	raw, oversized := lines.Read(s, cfg.Input)
	ticks, bad := parse.Lines(s, raw, parse.Config{Format: cfg.Format})
	ticks = dedupe.Ticks(s, ticks, dedupe.Options{Window: cfg.Bar})
	res := bars.Resolution(cfg.Bar)
	byRes, err := bars.TryCompute(s, ticks, bars.Options{Resolutions: []bars.Resolution{res}})
	if err != nil {
		return err
	}
	barsCol := byRes[res]
	moves := beam.ParDo(s.Scope("BarMove"), barMove, barsCol)
	out, err := alerts.TryApply(s, alerts.Inputs{Changes: moves}, rules)
	if err != nil {
		return err
	}
	opts := bigqueryx.WriteOptions{TableOptions: bigqueryx.TableOptions{Options: cfg.BigQuery}}
	for _, w := range []struct {
		table string
		rows  beam.PCollection
	}{{cfg.BarsTable, barsCol}, {cfg.AlertsTable, out.Alerts}, {cfg.DeadLettersTable, beam.Flatten(s, oversized, bad)}} {
		if _, err := bigqueryx.TryWrite(s, w.table, w.rows, opts); err != nil {
			return err
		}
	}
	return nil
}
