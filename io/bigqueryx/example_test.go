package bigqueryx_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/bigqueryx"
	"github.com/tickbeam/tickbeam/runners"
)

// Write bars to BigQuery (here an emulator), then read the final row of
// every window back. Compile-only: it needs a running emulator.
func ExampleWrite() {
	opts := bigqueryx.Options{
		Endpoint:        "http://127.0.0.1:9050", // or BIGQUERY_EMULATOR_HOST
		StorageEndpoint: "127.0.0.1:9060",        // or BIGQUERY_STORAGE_EMULATOR_HOST
		Project:         "my-project",
	}
	p, s := beam.NewPipelineWithRoot()
	start := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	bars := beam.Create(s, tickbeam.Bar{Symbol: "AAPL", Resolution: "1m", WindowStart: start, WindowEnd: start.Add(time.Minute),
		Open: 100, High: 101, Low: 99.5, Close: 99.5, Volume: 20, Notional: 2002.5, VWAP: 100.125, Trades: 3, Timing: tickbeam.OnTime})
	// The table and my-project.market.bars_error_records are created when
	// missing; rows BigQuery refuses come back as dead letters.
	deadLetters := bigqueryx.Write(s, "my-project.market.bars", bars, bigqueryx.WriteOptions{
		TableOptions: bigqueryx.TableOptions{Options: opts},
		Shards:       4,
	})
	_ = deadLetters // e.g. count them, or alert on them
	if _, err := runners.Run(context.Background(), p, runners.Options{}); err != nil {
		log.Fatal(err)
	}

	table, _ := bigqueryx.ParseTable("my-project.market.bars")
	q, _ := bigqueryx.FinalBarsSQL(table)
	final, err := bigqueryx.QueryRows[tickbeam.Bar](context.Background(), q, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(final), "bars")
}

func ExampleParseTable() {
	t, err := bigqueryx.ParseTable("my-project:market.bars_1m")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.SQL(), t.ErrorTable())
	_, err = bigqueryx.ParseTable("my-project.market.bars; DROP TABLE x")
	fmt.Println(err)
	// Output:
	// `my-project.market.bars_1m` my-project.market.bars_1m_error_records
	// bigqueryx: table "bars; DROP TABLE x": want 1-1024 ASCII letters, digits, underscores or hyphens
}

func ExampleSchemaOf() {
	s, err := bigqueryx.SchemaOf(tickbeam.DeadLetter{})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range s {
		mode := "NULLABLE"
		switch {
		case f.Repeated:
			mode = "REPEATED"
		case f.Required:
			mode = "REQUIRED"
		}
		fmt.Println(f.Name, mode, f.Type)
	}
	// Output:
	// timestamp REQUIRED TIMESTAMP
	// payload_string REQUIRED STRING
	// payload_bytes NULLABLE BYTES
	// attributes REPEATED RECORD
	// error_message REQUIRED STRING
	// stage REQUIRED STRING
	// source REQUIRED STRING
}
