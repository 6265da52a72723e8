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
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
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

// ParsePositions parses a positions source through the registry of
// io/endpoint: a CSV file, local or gs://, or bq:P.D.T.
func ParsePositions(source string) (endpoint.Input, error) {
	in, err := endpoint.ParseInput(source)
	if in.Kind != endpoint.FileInput && in.Kind != endpoint.TableInput {
		return endpoint.Input{}, fmt.Errorf("%s: want a CSV file (local or gs://) or bq:P.D.T", source)
	}
	return in, err
}

// LoadHoldings reads a positions source (see ParsePositions) once: a CSV
// file, local or gs:// (portfolio.ParseCSV), or a table whose columns are
// the CSV's (symbol STRING, quantity and cost_basis FLOAT64, currency
// STRING, from_date DATE or STRING, split FLOAT64; the last two nullable),
// listed without a query job.
func LoadHoldings(ctx context.Context, src endpoint.Input, bq bigqueryx.Options) (portfolio.Holdings, error) {
	switch src.Kind {
	case endpoint.TableInput:
		rows, err := bigqueryx.ReadRows[portfolio.Position](ctx, src.Table, bq)
		if err != nil {
			return portfolio.Holdings{}, err
		}
		h, err := portfolio.NewHoldings(rows)
		if err != nil {
			return portfolio.Holdings{}, fmt.Errorf("%s: %w", src.Table, err)
		}
		return h, nil
	case endpoint.FileInput:
	default:
		return portfolio.Holdings{}, fmt.Errorf("%s: want a CSV file (local or gs://) or bq:P.D.T", src.URI)
	}
	source := src.URI
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

// resolvePositions checks the portfolio settings and parses the positions
// source; without one, the Input is zero.
func (c Config) resolvePositions() (endpoint.Input, error) {
	if (c.Positions == "") != (c.PortfolioOut == "") {
		return endpoint.Input{}, errors.New("--positions and --portfolio_out go together")
	}
	if c.PositionsRefresh < 0 {
		return endpoint.Input{}, fmt.Errorf("--positions_refresh %s: want >= 0", c.PositionsRefresh)
	}
	if c.Positions == "" {
		return endpoint.Input{}, nil
	}
	in, err := ParsePositions(c.Positions)
	if err == nil && in.Kind == endpoint.TableInput {
		err = c.BigQuery.Validate()
	}
	if err != nil {
		return endpoint.Input{}, fmt.Errorf("--positions: %w", err)
	}
	return in, nil
}

// portfolio values the positions on the bars of the first resolution and
// writes the rows; it returns them for the alert rules, and the re-reads'
// dead letters join the others. A bounded run reads the positions once. A
// stream starts from the positions read here (so no window is valued before
// they are in place), re-reads them every PositionsRefresh and applies a
// change from the next windows valued.
func (b *builder) portfolio(barRows beam.PCollection) (rows beam.PCollection) {
	if b.Positions.URI == "" {
		return rows
	}
	s := b.s.Scope("portfolio")
	initial, err := LoadHoldings(context.Background(), b.Positions, b.BigQuery)
	if err != nil {
		b.fail("--positions", err)
		return rows
	}
	holdings := beam.Create(s, initial)
	if !b.Bounded && b.PositionsRefresh > 0 {
		// The impulses follow the wall clock, as a live feed does, and end
		// with a run of Duration, so a paced synthetic feed still drains.
		now := time.Now()
		end := now.AddDate(100, 0, 0)
		if b.Duration > 0 {
			end = now.Add(b.Duration)
		}
		imp := periodic.Impulse(s, now.Add(b.PositionsRefresh), end, b.PositionsRefresh, false)
		changed, d := beam.ParDo2(s, &watchPositionsFn{Source: b.Positions, BigQuery: b.BigQuery, Initial: initial.Version}, imp)
		holdings = beam.Flatten(s, holdings, changed)
		b.dead = append(b.dead, d)
	}
	opts := portfolio.Options{Resolution: b.Plan.Bars.Resolutions[0], Calendar: b.Calendar}
	if !b.Bounded {
		opts.AllowedLateness = b.AllowedLateness
	}
	rows = portfolio.Compute(s, barRows, holdings, opts)
	b.writeIn(s, b.Outputs.Portfolio, "portfolio", rows, b.fileWindow, false)
	return rows
}

// watchPositionsFn re-reads the positions source at each impulse and emits
// the Holdings when they differ from the last it emitted. A read that fails,
// or a source with a bad row, keeps the previous holdings and becomes one
// dead letter (stage read or parse) until the error changes.
type watchPositionsFn struct {
	Source   endpoint.Input
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
			dead(tickbeam.NewDeadLetter(time.Now(), nil, map[string]string{"positions": f.Source.URI}, stage, f.Source.URI,
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
