package bigqueryx

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
)

// golden compares got with testdata/name, rewriting it with -update-golden.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-golden to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s changed (-golden +got):\n%s", path, diff)
	}
}

// The goldens pin the tables tickbeam creates: changing one changes what
// existing tables must accept.
func TestSchemaOfGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
	}{
		{"tick", tickbeam.Tick{}},
		{"bar", tickbeam.Bar{}},
		{"alert", &tickbeam.Alert{}},
		{"deadletter", tickbeam.DeadLetter{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := SchemaOf(c.v)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.ToJSONFields()
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			out.WriteByte('\n')
			golden(t, "schema_"+c.name+".golden.json", out.Bytes())
		})
	}
}

type inner struct {
	N int32 `json:"n"`
}

type kitchenSink struct {
	Embedded
	S       string            `json:"s"`
	Opt     string            `json:"opt,omitempty"`
	Ptr     *float64          `json:"ptr"`
	When    time.Time         `json:"when"`
	WhenOpt time.Time         `json:"when_opt,omitempty"`
	B       []byte            `json:"b"`
	OK      bool              `json:"ok"`
	U       uint64            `json:"u"`
	Tags    []string          `json:"tags"`
	Rec     inner             `json:"rec"`
	RecPtr  *inner            `json:"rec_ptr"`
	Recs    []inner           `json:"recs"`
	Skip    string            `json:"-"`
	NoTag   float32           // no tag: the field name
	private int               // unexported: no column
	Kind    tickbeam.Severity `json:"kind"`
}

type Embedded struct {
	E int64 `json:"e"`
}

func TestSchemaOfRules(t *testing.T) {
	got, err := SchemaOf(kitchenSink{})
	if err != nil {
		t.Fatal(err)
	}
	req := func(n string, typ bigquery.FieldType) *bigquery.FieldSchema {
		return &bigquery.FieldSchema{Name: n, Type: typ, Required: true}
	}
	null := func(n string, typ bigquery.FieldType) *bigquery.FieldSchema {
		return &bigquery.FieldSchema{Name: n, Type: typ}
	}
	rep := func(n string, typ bigquery.FieldType) *bigquery.FieldSchema {
		return &bigquery.FieldSchema{Name: n, Type: typ, Repeated: true}
	}
	innerSchema := bigquery.Schema{req("n", bigquery.IntegerFieldType)}
	want := bigquery.Schema{
		req("e", bigquery.IntegerFieldType),
		req("s", bigquery.StringFieldType),
		null("opt", bigquery.StringFieldType),
		null("ptr", bigquery.FloatFieldType),
		req("when", bigquery.TimestampFieldType),
		null("when_opt", bigquery.TimestampFieldType),
		null("b", bigquery.BytesFieldType),
		req("ok", bigquery.BooleanFieldType),
		req("u", bigquery.IntegerFieldType),
		rep("tags", bigquery.StringFieldType),
		{Name: "rec", Type: bigquery.RecordFieldType, Required: true, Schema: innerSchema},
		{Name: "rec_ptr", Type: bigquery.RecordFieldType, Schema: innerSchema},
		{Name: "recs", Type: bigquery.RecordFieldType, Repeated: true, Schema: innerSchema},
		req("NoTag", bigquery.FloatFieldType),
		req("kind", bigquery.StringFieldType),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SchemaOf (-want +got):\n%s", diff)
	}
}

func TestSchemaOfErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "SchemaOf(nil)"},
		{"not struct", 42, "not a struct"},
		{"time", time.Time{}, "not a struct"},
		{"map", struct {
			M map[string]string `json:"m"`
		}{}, "no BigQuery column type"},
		{"interface", struct {
			I any `json:"i"`
		}{}, "no BigQuery column type"},
		{"nested slice", struct {
			X [][]int `json:"x"`
		}{}, "nested slice"},
		{"slice of pointers", struct {
			X []*int `json:"x"`
		}{}, "slice of pointers"},
		{"bad column", struct {
			X int `json:"bad-name"`
		}{}, "not a valid BigQuery column name"},
		{"duplicate", struct {
			A int `json:"a"`
			B int `json:"A"`
		}{}, "appears twice"},
		{"empty", struct{}{}, "no exported fields"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := SchemaOf(c.v)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("SchemaOf error = %v, want containing %q", err, c.want)
			}
		})
	}
}

func TestPartitionAndCluster(t *testing.T) {
	for _, c := range []struct {
		v           any
		wantPart    string
		wantCluster []string
	}{
		{tickbeam.Bar{}, "window_start", []string{"symbol"}},
		{tickbeam.Tick{}, "event_time", []string{"symbol"}},
		{tickbeam.Alert{}, "event_time", []string{"symbol"}},
		{tickbeam.DeadLetter{}, "timestamp", nil},
		{inner{}, "", nil},
	} {
		s, err := SchemaOf(c.v)
		if err != nil {
			t.Fatal(err)
		}
		part, err := partitionColumn(s, "")
		if err != nil || part != c.wantPart {
			t.Errorf("%T: partition column %q, %v; want %q", c.v, part, err, c.wantPart)
		}
		cl, err := clusterColumns(s, nil)
		if err != nil || !cmp.Equal(cl, c.wantCluster) {
			t.Errorf("%T: clustering %q, %v; want %q", c.v, cl, err, c.wantCluster)
		}
	}
	bar, _ := SchemaOf(tickbeam.Bar{})
	for _, c := range []struct {
		part    string
		cluster []string
		want    string
	}{
		{part: "window_end", cluster: []string{"symbol", "resolution"}},
		{part: "symbol", want: "must be a TIMESTAMP or DATE"},
		{part: "nope", want: "not in the schema"},
		{cluster: []string{"open"}, want: "cannot cluster by"},
		{cluster: []string{"a", "b", "c", "d", "e"}, want: "BigQuery allows 4"},
	} {
		_, err1 := partitionColumn(bar, c.part)
		_, err2 := clusterColumns(bar, c.cluster)
		err := err1
		if err == nil {
			err = err2
		}
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("partition %q cluster %q: error %v, want %q", c.part, c.cluster, err, c.want)
		}
	}
}

func TestCompatible(t *testing.T) {
	bar, _ := SchemaOf(tickbeam.Bar{})
	clone := func(f func(s bigquery.Schema) bigquery.Schema) bigquery.Schema {
		var s bigquery.Schema
		for _, fs := range bar {
			c := *fs
			s = append(s, &c)
		}
		return f(s)
	}
	for _, c := range []struct {
		name string
		have bigquery.Schema
		want string
	}{
		{"same", bar, ""},
		{"api spelling", clone(func(s bigquery.Schema) bigquery.Schema { s[4].Type = "FLOAT64"; s[0].Name = "SYMBOL"; return s }), ""},
		{"extra nullable column", clone(func(s bigquery.Schema) bigquery.Schema {
			return append(s, &bigquery.FieldSchema{Name: "note", Type: bigquery.StringFieldType})
		}), ""},
		{"relaxed column", clone(func(s bigquery.Schema) bigquery.Schema { s[1].Required = false; return s }), ""},
		{"extra required column", clone(func(s bigquery.Schema) bigquery.Schema {
			return append(s, &bigquery.FieldSchema{Name: "note", Type: bigquery.StringFieldType, Required: true})
		}), "REQUIRED column note is not written"},
		{"missing column", clone(func(s bigquery.Schema) bigquery.Schema { return s[1:] }), "column symbol is not in the table"},
		{"other type", clone(func(s bigquery.Schema) bigquery.Schema { s[11].Type = bigquery.FloatFieldType; return s }),
			"column trades is REQUIRED FLOAT in the table, rows have REQUIRED INTEGER"},
	} {
		err := compatible(bar, c.have, "")
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: compatible = %v, want %q", c.name, err, c.want)
		}
	}
}
