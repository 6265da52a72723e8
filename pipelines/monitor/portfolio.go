package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/periodic"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/lines"
	"github.com/tickbeam/tickbeam/transforms/portfolio"
)

// DefaultPositionsRefresh is the CLI's --positions_refresh default: how
// often a streaming monitor re-reads its positions.
const DefaultPositionsRefresh = time.Minute

func init() {
	register.DoFn4x1[context.Context, []byte, func(portfolio.Holdings), func(tickbeam.DeadLetter), error](&watchPositionsFn{})
	register.Emitter1[portfolio.Holdings]()
}

// LoadHoldings reads a positions source once: a CSV file, local or gs://
// (portfolio.ParseCSV), or bq:P.D.T, a table whose columns are the CSV's
// (symbol STRING, quantity and cost_basis FLOAT64, currency STRING,
// from_date DATE or STRING, split FLOAT64; the last two nullable), listed
// without a query job.
func LoadHoldings(ctx context.Context, source string, bq bigqueryx.Options) (portfolio.Holdings, error) {
	if t, ok := strings.CutPrefix(source, BigQueryScheme); ok {
		table, err := bigqueryx.ParseTable(t)
		if err != nil {
			return portfolio.Holdings{}, err
		}
		rows, err := bigqueryx.ReadRows[portfolio.Position](ctx, table, bq)
		if err != nil {
			return portfolio.Holdings{}, err
		}
		h, err := portfolio.NewHoldings(rows)
		if err != nil {
			return portfolio.Holdings{}, fmt.Errorf("%s: %w", table, err)
		}
		return h, nil
	}
	fsys, err := filesystem.New(ctx, source)
	if err != nil {
		return portfolio.Holdings{}, err
	}
	defer fsys.Close()
	r, err := fsys.OpenRead(ctx, source)
	if err != nil {
		return portfolio.Holdings{}, fmt.Errorf("open %s: %w", source, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, portfolio.MaxFileBytes+1))
	if err != nil {
		return portfolio.Holdings{}, fmt.Errorf("read %s: %w", source, err)
	}
	return portfolio.ParseCSV(source, data)
}

func (c Config) validatePortfolio() error {
	if (c.Positions == "") != (c.PortfolioOut == "") {
		return errors.New("--positions and --portfolio_out go together")
	}
	if c.PositionsRefresh < 0 {
		return fmt.Errorf("--positions_refresh %s: want >= 0", c.PositionsRefresh)
	}
	if t, ok := strings.CutPrefix(c.Positions, BigQueryScheme); ok {
		if _, err := bigqueryx.ParseTable(t); err != nil {
			return fmt.Errorf("--positions: %w", err)
		}
		if err := c.BigQuery.Validate(); err != nil {
			return fmt.Errorf("--positions: %w", err)
		}
	}
	return nil
}

// buildPortfolio values Positions on the bars of the first resolution and
// writes the rows to PortfolioOut; it returns them for the alert rules, with
// the re-reads' dead letters. A bounded run reads the positions once. A
// stream starts from the positions read here (so no window is valued before
// they are in place), re-reads them every PositionsRefresh and applies a
// change from the next windows valued.
func (c Config) buildPortfolio(s beam.Scope, bars beam.PCollection, bounded bool, fileWindow time.Duration, written *[]beam.PCollection) (beam.PCollection, []beam.PCollection, error) {
	s = s.Scope("portfolio")
	initial, err := LoadHoldings(context.Background(), c.Positions, c.BigQuery)
	if err != nil {
		return beam.PCollection{}, nil, fmt.Errorf("--positions: %w", err)
	}
	cal, err := calendar.Lookup(c.calendarName())
	if err != nil {
		return beam.PCollection{}, nil, fmt.Errorf("--calendar: %w", err)
	}
	holdings := beam.Create(s, initial)
	var dead []beam.PCollection
	if !bounded && c.PositionsRefresh > 0 {
		// The impulses follow the wall clock, as a live feed does, and end
		// with a run of Duration, so a paced synthetic feed still drains.
		now := time.Now()
		end := now.AddDate(100, 0, 0)
		if c.Duration > 0 {
			end = now.Add(c.Duration)
		}
		imp := periodic.Impulse(s, now.Add(c.PositionsRefresh), end, c.PositionsRefresh, false)
		changed, d := beam.ParDo2(s, &watchPositionsFn{Source: c.Positions, BigQuery: c.BigQuery, Initial: initial.Version}, imp)
		holdings = beam.Flatten(s, holdings, changed)
		dead = append(dead, d)
	}
	opts := portfolio.Options{Resolution: c.Bars[0], Calendar: cal}
	if !bounded {
		opts.AllowedLateness = c.AllowedLateness
	}
	rows := portfolio.Compute(s, bars, holdings, opts)
	if err := c.writeTo(written, s, c.PortfolioOut, "portfolio", rows, fileWindow, false); err != nil {
		return beam.PCollection{}, nil, fmt.Errorf("--portfolio_out: %w", err)
	}
	return rows, dead, nil
}

// watchPositionsFn re-reads the positions source at each impulse and emits
// the Holdings when they differ from the last it emitted. A read that fails,
// or a source with a bad row, keeps the previous holdings and becomes one
// dead letter (stage read or parse) until the error changes.
type watchPositionsFn struct {
	Source   string
	BigQuery bigqueryx.Options
	Initial  string // the Version of the holdings read in Build

	last, lastErr string
}

func (f *watchPositionsFn) Setup() { f.last = f.Initial }

func (f *watchPositionsFn) ProcessElement(ctx context.Context, _ []byte, emit func(portfolio.Holdings), dead func(tickbeam.DeadLetter)) error {
	h, err := LoadHoldings(ctx, f.Source, f.BigQuery)
	if err != nil {
		if msg := err.Error(); msg != f.lastErr {
			f.lastErr = msg
			stage := tickbeam.StageParse
			if !strings.Contains(msg, "portfolio:") {
				stage = lines.Stage
			}
			dead(tickbeam.NewDeadLetter(time.Now(), nil, map[string]string{"positions": f.Source}, stage, f.Source,
				fmt.Errorf("--positions: %w; the previous positions stay", err)))
		}
		return nil
	}
	f.lastErr = ""
	if h.Version != f.last {
		f.last = h.Version
		emit(h)
	}
	return nil
}
