package bigqueryx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/bigquery"
)

// FinalBarsSQL returns a query over a table of tickbeam.Bar rows written pane
// by pane that keeps one row per (symbol, resolution, window_start): the one
// with the highest pane_index, which holds the whole window (bars accumulate
// across panes). Rows the at-least-once sink appended twice are identical, so
// which copy wins does not matter; the tie-break (more trades, then more
// volume: the later of two accumulating panes) only makes the choice
// deterministic.
func FinalBarsSQL(bars Table) (string, error) {
	if err := bars.Validate(); err != nil {
		return "", err
	}
	return `SELECT * EXCEPT (pane_rank)
FROM (
  SELECT *, ROW_NUMBER() OVER (
    PARTITION BY symbol, resolution, window_start
    ORDER BY pane_index DESC, trades DESC, volume DESC
  ) AS pane_rank
  FROM ` + bars.SQL() + `
)
WHERE pane_rank = 1`, nil
}

// EnsureFinalBarsView creates (or points at FinalBarsSQL(bars) again) the
// view that returns one row per bar window. The view's dataset is created
// when missing.
func EnsureFinalBarsView(ctx context.Context, bars, view Table, opts Options) error {
	query, err := FinalBarsSQL(bars)
	if err != nil {
		return err
	}
	if err := view.Validate(); err != nil {
		return err
	}
	o := opts.Resolved()
	if err := o.validate(); err != nil {
		return err
	}
	c, err := newClient(ctx, view.Project, o)
	if err != nil {
		return err
	}
	defer c.Close()
	ds := c.DatasetInProject(view.Project, view.Dataset)
	if _, err := ds.Metadata(ctx); isStatus(err, http.StatusNotFound) {
		if err := ds.Create(ctx, &bigquery.DatasetMetadata{}); err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("bigqueryx: create dataset %s.%s: %w", view.Project, view.Dataset, err)
		}
	} else if err != nil {
		return fmt.Errorf("bigqueryx: dataset %s.%s: %w", view.Project, view.Dataset, err)
	}
	t := ds.Table(view.Table)
	md, err := t.Metadata(ctx)
	switch {
	case isStatus(err, http.StatusNotFound):
		err := t.Create(ctx, &bigquery.TableMetadata{ViewQuery: query})
		if err != nil && !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("bigqueryx: create view %s: %w", view, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("bigqueryx: view %s: %w", view, err)
	case md.Type != bigquery.ViewTable && md.Type != "":
		return fmt.Errorf("bigqueryx: %s exists and is a %s, not a view", view, md.Type)
	case md.ViewQuery == query:
		return nil
	}
	if _, err := t.Update(ctx, bigquery.TableMetadataToUpdate{ViewQuery: query}, md.ETag); err != nil {
		return fmt.Errorf("bigqueryx: update view %s: %w", view, err)
	}
	return nil
}

// ExternalOptions configure ExternalTableDDL.
type ExternalOptions struct {
	// Gzip says the lake's files are gzip-compressed (lake.Options.Gzip).
	Gzip bool
	// RequirePartitionFilter makes queries name dt (and hour), so none
	// scans the whole lake by accident.
	RequirePartitionFilter bool
}

// Validate returns nil: both fields are flags, so every ExternalOptions is
// valid. It is here so that every options type of the module has one.
func (o ExternalOptions) Validate() error { return nil }

// Hive partition columns of the lake (io/lake with Partition set).
var lakePartitionColumns = []string{"dt DATE", "hour INT64"}

// ExternalTableDDL returns the CREATE EXTERNAL TABLE statement of a BigQuery
// table over a JSON Lines lake written by io/lake with Partition set:
// newline-delimited JSON under gcsURIPrefix/dt=YYYY-MM-DD/hour=HH/, the
// partition columns dt (DATE) and hour (INT64) taken from the paths. The
// prefix must hold files of one row type only. Columns are NULLABLE, as a
// reader of files written elsewhere cannot promise more; unknown JSON fields
// are ignored, so files written by a newer tickbeam stay readable. It is
// CREATE OR REPLACE: an external table holds no data, and replacing it picks
// up a new schema. Write the lake from windowed rows: io/lake puts rows of
// the global window under dt=__HIVE_DEFAULT_PARTITION__, Hive's NULL, which
// is no DATE that BigQuery can be relied on to parse.
func ExternalTableDDL(table Table, gcsURIPrefix string, schema bigquery.Schema, opts ExternalOptions) (string, error) {
	if err := table.Validate(); err != nil {
		return "", err
	}
	prefix, err := gcsPrefix(gcsURIPrefix)
	if err != nil {
		return "", err
	}
	if len(schema) == 0 {
		return "", errors.New("bigqueryx: ExternalTableDDL: empty schema")
	}
	var b strings.Builder
	b.WriteString("CREATE OR REPLACE EXTERNAL TABLE " + table.SQL() + " (\n")
	for i, f := range schema {
		for _, p := range lakePartitionColumns {
			if name, _, _ := strings.Cut(p, " "); strings.EqualFold(f.Name, name) {
				return "", fmt.Errorf("bigqueryx: ExternalTableDDL: column %q clashes with the lake's partition column", f.Name)
			}
		}
		typ, err := ddlType(f, 0)
		if err != nil {
			return "", err
		}
		// Quoted: a column may be named like a reserved word (end, range).
		b.WriteString("  `" + f.Name + "` " + typ)
		if i < len(schema)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(")\nWITH PARTITION COLUMNS (\n  " + strings.Join(lakePartitionColumns, ",\n  ") + "\n)\nOPTIONS (\n")
	b.WriteString("  format = 'NEWLINE_DELIMITED_JSON',\n")
	if opts.Gzip {
		b.WriteString("  compression = 'GZIP',\n")
	}
	b.WriteString("  uris = ['" + prefix + "/*'],\n")
	b.WriteString("  hive_partition_uri_prefix = '" + prefix + "',\n")
	fmt.Fprintf(&b, "  require_hive_partition_filter = %t,\n", opts.RequirePartitionFilter)
	b.WriteString("  ignore_unknown_values = true\n)")
	return b.String(), nil
}

// gcsPrefix validates a gs://bucket/path prefix for a SQL string literal:
// characters that would need escaping there, or that GCS wildcards use, are
// refused rather than escaped.
func gcsPrefix(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	rest, ok := strings.CutPrefix(p, "gs://")
	if !ok {
		return "", errors.New("bigqueryx: lake prefix: want gs://BUCKET[/PATH]")
	}
	bucket, path, _ := strings.Cut(rest, "/")
	if bucket == "" || !bucketRE.MatchString(bucket) {
		return "", errors.New("bigqueryx: lake prefix: invalid bucket name")
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`'"\*?[]`+"`", r) {
			return "", fmt.Errorf("bigqueryx: lake prefix: character %q not allowed", r)
		}
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == ".." || seg == "." {
			return "", errors.New("bigqueryx: lake prefix: \".\" and \"..\" segments not allowed")
		}
	}
	return p, nil
}

// ddlType spells a column's type in GoogleSQL DDL.
func ddlType(f *bigquery.FieldSchema, depth int) (string, error) {
	if !columnRE.MatchString(f.Name) {
		return "", fmt.Errorf("bigqueryx: %q is not a valid column name", f.Name)
	}
	if depth >= maxDepth {
		return "", fmt.Errorf("bigqueryx: column %s nests deeper than %d levels", f.Name, maxDepth)
	}
	var typ string
	switch normType(f.Type) {
	case bigquery.StringFieldType:
		typ = "STRING"
	case bigquery.BytesFieldType:
		typ = "BYTES"
	case bigquery.IntegerFieldType:
		typ = "INT64"
	case bigquery.FloatFieldType:
		typ = "FLOAT64"
	case bigquery.BooleanFieldType:
		typ = "BOOL"
	case bigquery.TimestampFieldType, bigquery.DateFieldType, bigquery.TimeFieldType, bigquery.DateTimeFieldType,
		bigquery.NumericFieldType, bigquery.BigNumericFieldType, bigquery.JSONFieldType, bigquery.GeographyFieldType:
		typ = string(normType(f.Type))
	case bigquery.RecordFieldType:
		parts := make([]string, 0, len(f.Schema))
		for _, sub := range f.Schema {
			st, err := ddlType(sub, depth+1)
			if err != nil {
				return "", err
			}
			parts = append(parts, "`"+sub.Name+"` "+st)
		}
		typ = "STRUCT<" + strings.Join(parts, ", ") + ">"
	default:
		return "", fmt.Errorf("bigqueryx: column %s: type %s not supported in DDL", f.Name, f.Type)
	}
	if f.Repeated {
		typ = "ARRAY<" + typ + ">"
	}
	return typ, nil
}
