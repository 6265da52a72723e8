package bigqueryx

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
)

var (
	timeType  = reflect.TypeFor[time.Time]()
	bytesType = reflect.TypeFor[[]byte]()
)

// SchemaOf returns the BigQuery schema of a Go struct (or pointer to one):
// one column per exported field, named by its JSON tag (the field name
// without one; "-" skips it), embedded structs flattened as encoding/json
// does.
//
// Types: time.Time is TIMESTAMP; float32/float64 FLOAT; signed and unsigned
// integers INTEGER; bool BOOLEAN; string kinds STRING; []byte BYTES; a struct
// a RECORD of its fields; a slice a REPEATED column of its element (so
// []tickbeam.Attribute is REPEATED RECORD<key STRING, value STRING>). Maps,
// interfaces and nested slices are refused.
//
// Modes: every field of a value type is REQUIRED, because a Go value always
// has one: 0 and "" are data, as they are in the JSON lake. Three exceptions
// are NULLABLE: pointers (nil is NULL), []byte (nil is NULL) and fields
// tagged ",omitempty" (the zero value is NULL). A zero time.Time is written
// as NULL, never as 0001-01-01, so a REQUIRED timestamp left unset is
// rejected by BigQuery (and lands in the error table) instead of being
// stored as a plausible-looking date. Slices are REPEATED. Columns added to a
// type after its table exists must be NULLABLE (pointer or omitempty):
// BigQuery adds only NULLABLE columns to an existing table.
func SchemaOf(v any) (bigquery.Schema, error) {
	t := reflect.TypeOf(v)
	if t == nil {
		return nil, fmt.Errorf("bigqueryx: SchemaOf(nil)")
	}
	return schemaOfType(t)
}

func schemaOfType(t reflect.Type) (bigquery.Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return nil, fmt.Errorf("bigqueryx: %v is not a struct: rows must be structs", t)
	}
	fields, err := goFields(t)
	if err != nil {
		return nil, err
	}
	s := make(bigquery.Schema, 0, len(fields))
	for _, f := range fields {
		fs, err := fieldSchema(f.typ, f.omitEmpty, 0)
		if err != nil {
			return nil, fmt.Errorf("bigqueryx: %v field %s: %w", t, f.goName, err)
		}
		fs.Name = f.name
		s = append(s, fs)
	}
	return s, nil
}

// goField is one exported struct field as encoding/json sees it.
type goField struct {
	name      string // column name
	goName    string
	index     []int
	typ       reflect.Type
	omitEmpty bool
}

// goFields lists t's columns in field order, flattening embedded structs.
func goFields(t reflect.Type) ([]goField, error) {
	var out []goField
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int) error
	walk = func(t reflect.Type, index []int) error {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					return fmt.Errorf("bigqueryx: %v: embedded pointer %s is not supported", t, sf.Name)
				}
				if ft.Kind() == reflect.Struct && ft != timeType {
					if err := walk(ft, idx); err != nil {
						return err
					}
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if !columnRE.MatchString(name) {
				return fmt.Errorf("bigqueryx: %v field %s: %q is not a valid BigQuery column name", t, sf.Name, name)
			}
			key := strings.ToLower(name) // BigQuery column names are case-insensitive
			if seen[key] {
				return fmt.Errorf("bigqueryx: %v: column %q appears twice", t, name)
			}
			seen[key] = true
			omit := false
			for _, o := range strings.Split(opts, ",") {
				omit = omit || o == "omitempty" || o == "omitzero"
			}
			out = append(out, goField{name: name, goName: sf.Name, index: idx, typ: sf.Type, omitEmpty: omit})
		}
		return nil
	}
	if err := walk(t, nil); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bigqueryx: %v has no exported fields", t)
	}
	return out, nil
}

// maxDepth bounds RECORD nesting, BigQuery's limit being 15 levels.
const maxDepth = 15

func fieldSchema(t reflect.Type, omitEmpty bool, depth int) (*bigquery.FieldSchema, error) {
	if depth >= maxDepth {
		return nil, fmt.Errorf("records nest deeper than %d levels", maxDepth)
	}
	if t.Kind() == reflect.Pointer {
		fs, err := fieldSchema(t.Elem(), false, depth)
		if err != nil {
			return nil, err
		}
		if fs.Repeated {
			return nil, fmt.Errorf("pointer to slice %v is not supported", t)
		}
		fs.Required = false
		return fs, nil
	}
	switch {
	case t == timeType:
		return &bigquery.FieldSchema{Type: bigquery.TimestampFieldType, Required: !omitEmpty}, nil
	case t == bytesType || (t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8):
		return &bigquery.FieldSchema{Type: bigquery.BytesFieldType}, nil
	}
	fs := &bigquery.FieldSchema{Required: !omitEmpty}
	switch t.Kind() {
	case reflect.String:
		fs.Type = bigquery.StringFieldType
	case reflect.Bool:
		fs.Type = bigquery.BooleanFieldType
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		fs.Type = bigquery.IntegerFieldType
	case reflect.Float32, reflect.Float64:
		fs.Type = bigquery.FloatFieldType
	case reflect.Struct:
		fields, err := goFields(t)
		if err != nil {
			return nil, err
		}
		fs.Type = bigquery.RecordFieldType
		for _, f := range fields {
			sub, err := fieldSchema(f.typ, f.omitEmpty, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.goName, err)
			}
			sub.Name = f.name
			fs.Schema = append(fs.Schema, sub)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Pointer {
			return nil, fmt.Errorf("slice of pointers %v is not supported (BigQuery arrays hold no NULLs)", t)
		}
		elem, err := fieldSchema(t.Elem(), false, depth)
		if err != nil {
			return nil, err
		}
		if elem.Repeated {
			return nil, fmt.Errorf("nested slice %v is not supported (BigQuery has no arrays of arrays)", t)
		}
		elem.Repeated, elem.Required = true, false
		return elem, nil
	default:
		return nil, fmt.Errorf("type %v has no BigQuery column type", t)
	}
	return fs, nil
}

// DefaultPartitionColumns are the columns EnsureTable partitions by, the
// first that a schema has as a top-level TIMESTAMP: the bar's window, a
// tick's or alert's event time, a dead letter's time.
var DefaultPartitionColumns = []string{"window_start", "event_time", "timestamp"}

// partitionColumn picks the partitioning column: want when set (it must be
// a top-level TIMESTAMP or DATE that is not repeated), else the first of
// DefaultPartitionColumns present, else "" (unpartitioned).
func partitionColumn(s bigquery.Schema, want string) (string, error) {
	if want != "" {
		f := column(s, want)
		if f == nil {
			return "", fmt.Errorf("bigqueryx: partition column %q is not in the schema", want)
		}
		if f.Repeated || (f.Type != bigquery.TimestampFieldType && f.Type != bigquery.DateFieldType) {
			return "", fmt.Errorf("bigqueryx: partition column %q must be a TIMESTAMP or DATE, not %s", want, modeType(f))
		}
		return f.Name, nil
	}
	for _, c := range DefaultPartitionColumns {
		if f := column(s, c); f != nil && !f.Repeated && f.Type == bigquery.TimestampFieldType {
			return f.Name, nil
		}
	}
	return "", nil
}

// clusterColumns picks clustering columns: want when set (top-level,
// non-repeated, at most 4 as BigQuery allows), else "symbol" when present.
// checkClusterCount refuses more clustering columns than BigQuery allows.
func checkClusterCount(cols []string) error {
	if len(cols) > 4 {
		return fmt.Errorf("bigqueryx: %d clustering columns, BigQuery allows 4", len(cols))
	}
	return nil
}

func clusterColumns(s bigquery.Schema, want []string) ([]string, error) {
	if len(want) == 0 {
		if f := column(s, "symbol"); f != nil && !f.Repeated {
			return []string{f.Name}, nil
		}
		return nil, nil
	}
	if err := checkClusterCount(want); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(want))
	for _, c := range want {
		f := column(s, c)
		if f == nil {
			return nil, fmt.Errorf("bigqueryx: clustering column %q is not in the schema", c)
		}
		if f.Repeated || f.Type == bigquery.RecordFieldType || f.Type == bigquery.FloatFieldType {
			return nil, fmt.Errorf("bigqueryx: cannot cluster by %q (%s)", c, modeType(f))
		}
		out = append(out, f.Name)
	}
	return out, nil
}

func column(s bigquery.Schema, name string) *bigquery.FieldSchema {
	for _, f := range s {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

func modeType(f *bigquery.FieldSchema) string {
	switch {
	case f.Repeated:
		return "REPEATED " + string(normType(f.Type))
	case f.Required:
		return "REQUIRED " + string(normType(f.Type))
	}
	return "NULLABLE " + string(normType(f.Type))
}

// normType maps the API's aliases to one spelling.
func normType(t bigquery.FieldType) bigquery.FieldType {
	switch strings.ToUpper(string(t)) {
	case "FLOAT64", "FLOAT":
		return bigquery.FloatFieldType
	case "INT64", "INTEGER":
		return bigquery.IntegerFieldType
	case "BOOL", "BOOLEAN":
		return bigquery.BooleanFieldType
	case "STRUCT", "RECORD":
		return bigquery.RecordFieldType
	}
	return bigquery.FieldType(strings.ToUpper(string(t)))
}

// compatible reports why rows of schema want cannot be appended to a table
// of schema have, or nil: every column written must exist with the same type
// and repetition, and every REQUIRED column of the table must be written.
// Writing a REQUIRED value into a NULLABLE column is fine.
func compatible(want, have bigquery.Schema, path string) error {
	for _, w := range want {
		h := column(have, w.Name)
		if h == nil {
			return fmt.Errorf("column %s%s is not in the table", path, w.Name)
		}
		if normType(w.Type) != normType(h.Type) || w.Repeated != h.Repeated {
			return fmt.Errorf("column %s%s is %s in the table, rows have %s", path, w.Name, modeType(h), modeType(w))
		}
		if h.Required && !w.Required {
			return fmt.Errorf("column %s%s is REQUIRED in the table, rows may leave it NULL", path, w.Name)
		}
		if normType(w.Type) == bigquery.RecordFieldType {
			if err := compatible(w.Schema, h.Schema, path+w.Name+"."); err != nil {
				return err
			}
		}
	}
	for _, h := range have {
		if h.Required && column(want, h.Name) == nil {
			return fmt.Errorf("REQUIRED column %s%s is not written by rows", path, h.Name)
		}
	}
	return nil
}
