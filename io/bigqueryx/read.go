package bigqueryx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"
)

// Query runs sql (GoogleSQL, with optional named or positional parameters)
// as a job of opts.Project and returns every result row as a map from column
// name to value. It is meant for tests and batch jobs whose results fit in
// memory; a NULL is a nil value, a RECORD a nested map.
func Query(ctx context.Context, sql string, opts Options, params ...bigquery.QueryParameter) ([]map[string]bigquery.Value, error) {
	var out []map[string]bigquery.Value
	err := query(ctx, sql, opts, params, func(row map[string]bigquery.Value) error {
		out = append(out, row)
		return nil
	})
	return out, err
}

// QueryRows is Query with each row decoded into a T by its JSON field names,
// as tickbeam's row types name their columns.
func QueryRows[T any](ctx context.Context, sql string, opts Options, params ...bigquery.QueryParameter) ([]T, error) {
	var out []T
	err := query(ctx, sql, opts, params, func(row map[string]bigquery.Value) error {
		v, err := decodeRow[T](row)
		out = append(out, v)
		return err
	})
	return out, err
}

// ReadRows reads every row of table, in no particular order, decoding each
// into a T by its JSON field names. It lists the table's data directly
// (tabledata.list), no query job, so it needs no Options.Project.
func ReadRows[T any](ctx context.Context, table Table, opts Options) ([]T, error) {
	if err := table.Validate(); err != nil {
		return nil, err
	}
	o := opts.Resolved()
	if err := o.validate(); err != nil {
		return nil, err
	}
	c, err := newClient(ctx, table.Project, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	it := c.DatasetInProject(table.Project, table.Dataset).Table(table.Table).Read(ctx)
	var out []T
	for {
		var row map[string]bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bigqueryx: read %s: %w", table, err)
		}
		v, err := decodeRow[T](row)
		if err != nil {
			return nil, fmt.Errorf("bigqueryx: read %s: %w", table, err)
		}
		out = append(out, v)
	}
}

func query(ctx context.Context, sql string, opts Options, params []bigquery.QueryParameter, each func(map[string]bigquery.Value) error) error {
	o := opts.Resolved()
	if err := o.validate(); err != nil {
		return err
	}
	if o.Project == "" {
		return errors.New("bigqueryx: Query needs Options.Project, the project that runs the job")
	}
	c, err := newClient(ctx, o.Project, o)
	if err != nil {
		return err
	}
	defer c.Close()
	q := c.Query(sql)
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return fmt.Errorf("bigqueryx: query: %w", err)
	}
	for {
		var row map[string]bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bigqueryx: query results: %w", err)
		}
		if err := each(row); err != nil {
			return err
		}
	}
}

// decodeRow converts a row to T through JSON, so T's JSON tags name the
// columns (Google's client matches `bigquery` tags or field names instead).
// TIMESTAMPs round-trip as RFC 3339 and BYTES as base64, as encoding/json
// expects.
func decodeRow[T any](row map[string]bigquery.Value) (T, error) {
	var v T
	b, err := json.Marshal(row)
	if err != nil {
		return v, fmt.Errorf("bigqueryx: decode row: %w", err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("bigqueryx: decode row into %T: %w", v, err)
	}
	return v, nil
}
