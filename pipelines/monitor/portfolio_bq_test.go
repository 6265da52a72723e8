package monitor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/io/endpoint"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/portfolio"
)

// Positions from a BigQuery table (the emulator): LoadHoldings reads the
// rows, nullable from_date and split included, and a batch run values them
// on its bars as a Book does; a table that is not there is a clear error.
func TestPortfolioPositionsFromBigQuery(t *testing.T) {
	h, g := testenv.BigQuery(t)
	bq := bigqueryx.Options{Endpoint: "http://" + h, StorageEndpoint: g, Project: testenv.Project}
	ctx := context.Background()
	table := bigqueryx.Table{Project: testenv.Project, Dataset: "positions_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_")), Table: "positions"}
	schema := bigquery.Schema{
		{Name: "symbol", Type: bigquery.StringFieldType, Required: true},
		{Name: "quantity", Type: bigquery.FloatFieldType, Required: true},
		{Name: "cost_basis", Type: bigquery.FloatFieldType, Required: true},
		{Name: "currency", Type: bigquery.StringFieldType, Required: true},
		{Name: "from_date", Type: bigquery.StringFieldType},
		{Name: "split", Type: bigquery.FloatFieldType},
	}
	if err := bigqueryx.EnsureTable(ctx, table, schema, bigqueryx.TableOptions{Options: bq}); err != nil {
		t.Fatal(err)
	}
	if _, err := bigqueryx.Query(ctx, "INSERT INTO "+table.SQL()+` (symbol, quantity, cost_basis, currency, from_date, split) VALUES
		('AAA', 10, 90, 'USD', NULL, NULL),
		('BBB', 3, 120, 'USD', NULL, NULL),
		('BBB', 6, 60, 'USD', '2026-01-15', 2)`, bq); err != nil {
		t.Fatal(err)
	}
	src := endpoint.BigQueryScheme + table.String()
	in, err := ParsePositions(src)
	if err != nil || in.Kind != endpoint.TableInput || in.Table != table {
		t.Fatalf("ParsePositions(%q) = %+v, %v; want the table", src, in, err)
	}
	got, err := LoadHoldings(ctx, in, bq)
	if err != nil {
		t.Fatal(err)
	}
	want, err := portfolio.NewHoldings([]portfolio.Position{
		{Symbol: "AAA", Quantity: 10, CostBasis: 90, Currency: "USD"},
		{Symbol: "BBB", Quantity: 3, CostBasis: 120, Currency: "USD"},
		{Symbol: "BBB", Quantity: 6, CostBasis: 60, Currency: "USD", FromDate: "2026-01-15", Split: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != want.Version {
		t.Errorf("holdings from BigQuery %+v, want those of the same rows as a file %+v", got, want)
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	res, _ := bars.ParseResolutions("1m")
	p, s := beam.NewPipelineWithRoot()
	uri := "synthetic:?symbols=AAA,BBB&rate=0.04&seed=3&count=100&start=2026-01-15T14:30:00Z&paced=false"
	if err := build(s, Config{Input: uri, Bars: res, BarsOut: out, Positions: src, PortfolioOut: out, BigQuery: bq}); err != nil {
		t.Fatal(err)
	}
	ptest.RunAndValidate(t, p)
	rows := readRows[tickbeam.PortfolioRow](t, out, "portfolio")
	if len(rows) == 0 {
		t.Fatal("no portfolio rows")
	}
	if diff := cmp.Diff(bookRows(t, want, readRows[tickbeam.Bar](t, out, "bars-1m")), rows, sortPortfolioRows, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("portfolio rows (-book +pipeline):\n%s", diff)
	}

	missing := endpoint.Input{Kind: endpoint.TableInput, Table: bigqueryx.Table{Project: testenv.Project, Dataset: table.Dataset, Table: "nope"}}
	if _, err := LoadHoldings(ctx, missing, bq); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("LoadHoldings of a missing table: %v, want an error naming it", err)
	}
}
