package bigqueryx

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/testenv"
)

// BenchmarkWriteEmulator writes 5,000 bars per iteration through Write to
// the emulator on prism and reports rows/s (pipeline start included).
func BenchmarkWriteEmulator(b *testing.B) {
	h, g := testenv.BigQuery(b)
	o := Options{Endpoint: "http://" + h, StorageEndpoint: g, Project: testenv.Project}
	const n = 5000
	rows := make([]tickbeam.Bar, n)
	for i := range rows {
		rows[i] = knownBars()[0]
		rows[i].Symbol = fmt.Sprintf("S%04d", i%500)
		rows[i].WindowStart = w0.Add(time.Duration(i/500) * time.Minute)
		rows[i].WindowEnd = rows[i].WindowStart.Add(time.Minute)
	}
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		tb := Table{Project: testenv.Project, Dataset: fmt.Sprintf("bench_%d_%d", time.Now().UnixNano(), i), Table: "bars"}
		if err := EnsureTable(context.Background(), tb, barSchema, TableOptions{Options: o}); err != nil {
			b.Fatal(err)
		}
		p, s := beam.NewPipelineWithRoot()
		Write(s, tb.String(), beam.CreateList(s, rows), WriteOptions{TableOptions: TableOptions{Options: o}})
		start := time.Now()
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "rows/s")
}
