package bigqueryx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"cloud.google.com/go/bigquery"
	"github.com/tickbeam/tickbeam"
	"google.golang.org/api/googleapi"
)

// CreateDisposition says whether EnsureTable (and Write) may create what is
// missing.
type CreateDisposition int

const (
	// CreateIfNeeded creates the dataset, the table and its error table
	// when missing. The default.
	CreateIfNeeded CreateDisposition = iota
	// CreateNever only checks that the table and its error table exist
	// with a compatible schema.
	CreateNever
)

// TableOptions configure EnsureTable.
type TableOptions struct {
	Options
	// Create says whether missing datasets and tables are created.
	Create CreateDisposition
	// PartitionColumn is the TIMESTAMP or DATE column the table is
	// partitioned by, by day. Default: the first of DefaultPartitionColumns
	// in the schema; none present leaves the table unpartitioned.
	PartitionColumn string
	// ClusterBy lists up to 4 clustering columns. Default: "symbol" when
	// the schema has it.
	ClusterBy []string
	// Location of a dataset created here, e.g. "US" or "europe-west1".
	// Default: BigQuery's default (US).
	Location string
}

// Validate reports the first problem of o: Options that Options.Validate
// refuses, a Create other than CreateIfNeeded and CreateNever, or more than
// 4 ClusterBy columns. Whether the columns are in a schema is EnsureTable's
// (and Write's) to check. The zero TableOptions are valid.
func (o TableOptions) Validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if o.Create != CreateIfNeeded && o.Create != CreateNever {
		return fmt.Errorf("bigqueryx: Create %d: want CreateIfNeeded or CreateNever", o.Create)
	}
	return checkClusterCount(o.ClusterBy)
}

// DeadLetterSchema is the schema of error tables: tickbeam.DeadLetter's.
func DeadLetterSchema() bigquery.Schema {
	s, err := schemaOfType(reflect.TypeFor[tickbeam.DeadLetter]())
	if err != nil {
		panic(err) // a fixed type: covered by tests
	}
	return s
}

// EnsureTable makes table ready for rows of schema: with CreateIfNeeded it
// creates the dataset and the table when missing, partitioned by day on the
// partition column and clustered, and the same for the table's error table
// <table>_error_records with DeadLetterSchema (partitioned by its timestamp).
// A table that exists is left as it is, but its schema must accept the rows:
// every column written must exist with the same type, and every REQUIRED
// column must be written. Concurrent callers are fine: losing a creation
// race counts as success.
func EnsureTable(ctx context.Context, table Table, schema bigquery.Schema, opts TableOptions) error {
	if err := table.Validate(); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	c, err := newClient(ctx, table.Project, opts.Options.Resolved())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := ensureTable(ctx, c, table, schema, opts); err != nil {
		return err
	}
	if table.isErrorTable() {
		return nil
	}
	eopts := opts
	eopts.PartitionColumn, eopts.ClusterBy = "timestamp", nil
	return ensureTable(ctx, c, table.ErrorTable(), DeadLetterSchema(), eopts)
}

func ensureTable(ctx context.Context, c *bigquery.Client, table Table, schema bigquery.Schema, opts TableOptions) error {
	if len(schema) == 0 {
		return fmt.Errorf("bigqueryx: table %s: empty schema", table)
	}
	part, err := partitionColumn(schema, opts.PartitionColumn)
	if err != nil {
		return err
	}
	cluster, err := clusterColumns(schema, opts.ClusterBy)
	if err != nil {
		return err
	}
	t := c.DatasetInProject(table.Project, table.Dataset).Table(table.Table)
	md, err := t.Metadata(ctx)
	switch {
	case err == nil:
		if err := compatible(schema, md.Schema, ""); err != nil {
			return fmt.Errorf("bigqueryx: table %s exists with another schema: %w", table, err)
		}
		return nil
	case !isStatus(err, http.StatusNotFound):
		return fmt.Errorf("bigqueryx: table %s: %w", table, err)
	case opts.Create == CreateNever:
		return fmt.Errorf("bigqueryx: table %s does not exist (and Create is CreateNever)", table)
	}
	ds := c.DatasetInProject(table.Project, table.Dataset)
	if _, err := ds.Metadata(ctx); isStatus(err, http.StatusNotFound) {
		err = ds.Create(ctx, &bigquery.DatasetMetadata{Location: opts.Location})
		if err != nil && !isStatus(err, http.StatusConflict) {
			// Another sink may have created it meanwhile; the BigQuery
			// emulator says so with a 500, not Google's 409.
			if _, merr := ds.Metadata(ctx); merr != nil {
				return fmt.Errorf("bigqueryx: create dataset %s.%s: %w", table.Project, table.Dataset, err)
			}
		}
	} else if err != nil {
		return fmt.Errorf("bigqueryx: dataset %s.%s: %w", table.Project, table.Dataset, err)
	}
	tm := &bigquery.TableMetadata{Schema: schema}
	if part != "" {
		tm.TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: part}
	}
	if len(cluster) > 0 {
		tm.Clustering = &bigquery.Clustering{Fields: cluster}
	}
	if err := t.Create(ctx, tm); err != nil {
		if !isStatus(err, http.StatusConflict) {
			return fmt.Errorf("bigqueryx: create table %s: %w", table, err)
		}
		// Created meanwhile by someone else: check it as an existing table.
		md, err := t.Metadata(ctx)
		if err != nil {
			return fmt.Errorf("bigqueryx: table %s: %w", table, err)
		}
		if err := compatible(schema, md.Schema, ""); err != nil {
			return fmt.Errorf("bigqueryx: table %s exists with another schema: %w", table, err)
		}
	}
	return nil
}

func isStatus(err error, code int) bool {
	var e *googleapi.Error
	return errors.As(err, &e) && e.Code == code
}
