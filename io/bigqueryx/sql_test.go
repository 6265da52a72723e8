package bigqueryx

import (
	"strings"
	"testing"

	"github.com/tickbeam/tickbeam"
)

func TestExternalTableDDLGolden(t *testing.T) {
	lake := Table{"tickbeam-test", "lake", "bars_1m"}
	for _, c := range []struct {
		name   string
		table  Table
		prefix string
		row    any
		opts   ExternalOptions
	}{
		{"bars", lake, "gs://tickbeam-lake/bars/1m/", tickbeam.Bar{}, ExternalOptions{}},
		{"deadletters_gzip", Table{"tickbeam-test", "lake", "deadletters"}, "gs://tickbeam-lake/deadletters", tickbeam.DeadLetter{},
			ExternalOptions{Gzip: true, RequirePartitionFilter: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := SchemaOf(c.row)
			if err != nil {
				t.Fatal(err)
			}
			ddl, err := ExternalTableDDL(c.table, c.prefix, s, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "external_"+c.name+".golden.sql", []byte(ddl+";\n"))
		})
	}
}

func TestExternalTableDDLErrors(t *testing.T) {
	bar, _ := SchemaOf(tickbeam.Bar{})
	type withDT struct {
		DT string `json:"dt"`
	}
	dt, _ := SchemaOf(withDT{})
	ok := Table{"tickbeam-test", "lake", "bars"}
	for _, c := range []struct {
		name   string
		table  Table
		prefix string
		want   string
	}{
		{"local path", ok, "/tmp/lake", "want gs://BUCKET"},
		{"no bucket", ok, "gs:///x", "invalid bucket"},
		{"quote", ok, "gs://b-1/x'; DROP TABLE y; --", `character '\''`},
		{"wildcard", ok, "gs://b-1/x/*", `character '*'`},
		{"newline", ok, "gs://b-1/x\ny", `character '\n'`},
		{"dotdot", ok, "gs://b-1/x/../y", `".." segments`},
		{"bad table", Table{"tickbeam-test", "lake", "a b"}, "gs://b-1/x", `table "a b"`},
	} {
		_, err := ExternalTableDDL(c.table, c.prefix, bar, ExternalOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error = %v, want containing %q", c.name, err, c.want)
		}
	}
	if _, err := ExternalTableDDL(ok, "gs://b-1/x", dt, ExternalOptions{}); err == nil || !strings.Contains(err.Error(), "clashes") {
		t.Errorf("dt column: error = %v, want a clash", err)
	}
}

func TestFinalBarsSQLGolden(t *testing.T) {
	q, err := FinalBarsSQL(Table{"tickbeam-test", "market", "bars"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "final_bars.golden.sql", []byte(q+";\n"))
	if _, err := FinalBarsSQL(Table{"tickbeam-test", "market", "bars`--"}); err == nil {
		t.Error("FinalBarsSQL took an invalid table name")
	}
}
