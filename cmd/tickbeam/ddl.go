package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
)

// runDDL prints the BigQuery DDL of an external table over a lake written
// with --raw_out (the seeds' Glue/Athena step):
//
//	tickbeam ddl --lake=gs://B/raw --table=P.D.T [--rows=ticks|bars|deadletters] [--gzip]
func runDDL(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tickbeam ddl", flag.ContinueOnError)
	lakePrefix := fs.String("lake", "", "the gs:// prefix the lake was written to (--raw_out)")
	table := fs.String("table", "", "the external table to create: P.D.T")
	rows := fs.String("rows", "ticks", "the row type of the lake's files: ticks, bars or deadletters")
	gz := fs.Bool("gzip", false, "the files are gzip-compressed (written with --gzip)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	var row any
	switch *rows {
	case "ticks":
		row = tickbeam.Tick{}
	case "bars":
		row = tickbeam.Bar{}
	case "deadletters":
		row = tickbeam.DeadLetter{}
	default:
		fmt.Fprintf(stderr, "tickbeam ddl: --rows %q: want ticks, bars or deadletters\n", *rows)
		return 2
	}
	t, err := bigqueryx.ParseTable(*table)
	if err != nil {
		fmt.Fprintf(stderr, "tickbeam ddl: --table: %v\n", err)
		return 2
	}
	schema, err := bigqueryx.SchemaOf(row)
	if err == nil {
		var ddl string
		ddl, err = bigqueryx.ExternalTableDDL(t, *lakePrefix, schema, bigqueryx.ExternalOptions{Gzip: *gz, RequirePartitionFilter: true})
		if err == nil {
			fmt.Fprintln(stdout, ddl)
			return 0
		}
	}
	fmt.Fprintf(stderr, "tickbeam ddl: %v\n", err)
	return 2
}
