package bigqueryx

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The Storage Write API takes rows as serialized proto2 messages described
// by a DescriptorProto. The descriptor comes from the table schema (adapt
// converts it, NormalizeDescriptor makes it self-contained); rows are encoded
// straight to protobuf wire format by a per-type plan that follows the
// descriptor's field numbers. That skips dynamicpb's per-field allocations:
// BenchmarkEncode measures both.

// Range of BigQuery's TIMESTAMP type.
var (
	minTimestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// maxRowBytes bounds one encoded row: an AppendRows request is at most 10 MB,
// and a row must fit in one with room for the request's framing.
const maxRowBytes = 9 << 20

// encoder turns values of one Go struct type into proto2 messages of one
// table schema.
type encoder struct {
	typ        reflect.Type
	plan       *msgPlan
	desc       protoreflect.MessageDescriptor
	descriptor *descriptorpb.DescriptorProto
	source     []int // index of a string "source" field, copied to dead letters
}

type op uint8

const (
	opString op = iota
	opBool
	opInt
	opUint
	opFloat
	opTime
	opBytes
	opRecord
)

type fieldPlan struct {
	name     string
	index    []int
	num      protowire.Number
	op       op
	ptr      bool // pointer field: nil is NULL
	repeated bool
	omitZero bool // NULLABLE value field: the zero value is NULL
	sub      *msgPlan
}

type msgPlan struct {
	fields []fieldPlan
}

// protoDescriptor converts a table schema to a proto2 message descriptor and
// its self-contained DescriptorProto.
func protoDescriptor(s bigquery.Schema) (protoreflect.MessageDescriptor, *descriptorpb.DescriptorProto, error) {
	ss, err := adapt.BQSchemaToStorageTableSchema(s)
	if err != nil {
		return nil, nil, fmt.Errorf("bigqueryx: convert schema: %w", err)
	}
	d, err := adapt.StorageSchemaToProto2Descriptor(ss, "root")
	if err != nil {
		return nil, nil, fmt.Errorf("bigqueryx: schema to proto: %w", err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, nil, fmt.Errorf("bigqueryx: schema to proto: got %T, want a message descriptor", d)
	}
	dp, err := adapt.NormalizeDescriptor(md)
	if err != nil {
		return nil, nil, fmt.Errorf("bigqueryx: normalize descriptor: %w", err)
	}
	return md, dp, nil
}

// newEncoder plans the encoding of t's values as rows of schema s.
func newEncoder(t reflect.Type, s bigquery.Schema) (*encoder, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	md, dp, err := protoDescriptor(s)
	if err != nil {
		return nil, err
	}
	plan, err := buildPlan(t, md, 0)
	if err != nil {
		return nil, fmt.Errorf("bigqueryx: %v: %w", t, err)
	}
	e := &encoder{typ: t, plan: plan, desc: md, descriptor: dp}
	for _, f := range plan.fields {
		if f.name == "source" && f.op == opString && !f.repeated && !f.ptr {
			e.source = f.index
		}
	}
	return e, nil
}

func buildPlan(t reflect.Type, md protoreflect.MessageDescriptor, depth int) (*msgPlan, error) {
	if depth >= maxDepth {
		return nil, fmt.Errorf("records nest deeper than %d levels", maxDepth)
	}
	fields, err := goFields(t)
	if err != nil {
		return nil, err
	}
	p := &msgPlan{}
	used := map[protowire.Number]bool{}
	for _, f := range fields {
		fd := fieldByName(md, f.name)
		if fd == nil {
			return nil, fmt.Errorf("field %s: column %q is not in the table schema", f.goName, f.name)
		}
		fp := fieldPlan{name: f.name, index: f.index, num: fd.Number(), omitZero: f.omitEmpty}
		ft := f.typ
		if ft.Kind() == reflect.Pointer {
			fp.ptr, ft = true, ft.Elem()
		}
		if ft.Kind() == reflect.Slice && ft != bytesType && ft.Elem().Kind() != reflect.Uint8 || ft.Kind() == reflect.Array {
			fp.repeated, ft = true, ft.Elem()
		}
		if fp.repeated != fd.IsList() {
			return nil, fmt.Errorf("field %s: column %q repetition differs from the Go type", f.goName, f.name)
		}
		fp.op, err = opFor(ft)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.goName, err)
		}
		if want := kindOf(fp.op); fd.Kind() != want {
			return nil, fmt.Errorf("field %s: column %q is %v in the table, the Go type needs %v", f.goName, f.name, fd.Kind(), want)
		}
		if fp.op == opRecord {
			if fp.sub, err = buildPlan(ft, fd.Message(), depth+1); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.goName, err)
			}
		}
		used[fd.Number()] = true
		p.fields = append(p.fields, fp)
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if fd.Cardinality() == protoreflect.Required && !used[fd.Number()] {
			return nil, fmt.Errorf("REQUIRED column %q has no Go field", fd.Name())
		}
	}
	return p, nil
}

// fieldByName finds a column's field; BigQuery column names are
// case-insensitive.
func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	for i := range md.Fields().Len() {
		if fd := md.Fields().Get(i); strings.EqualFold(string(fd.Name()), name) {
			return fd
		}
	}
	return nil
}

func opFor(t reflect.Type) (op, error) {
	switch {
	case t == timeType:
		return opTime, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return opBytes, nil
	}
	switch t.Kind() {
	case reflect.String:
		return opString, nil
	case reflect.Bool:
		return opBool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return opInt, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return opUint, nil
	case reflect.Float32, reflect.Float64:
		return opFloat, nil
	case reflect.Struct:
		return opRecord, nil
	}
	return 0, fmt.Errorf("type %v has no BigQuery column type", t)
}

func kindOf(o op) protoreflect.Kind {
	switch o {
	case opString:
		return protoreflect.StringKind
	case opBool:
		return protoreflect.BoolKind
	case opInt, opUint, opTime:
		return protoreflect.Int64Kind
	case opFloat:
		return protoreflect.DoubleKind
	case opBytes:
		return protoreflect.BytesKind
	}
	return protoreflect.MessageKind
}

// errRowType is returned for a row of a type the encoder was not planned for.
var errRowType = errors.New("row type differs from the PCollection's")

// encode appends row's message to b. Errors name the column and never carry
// the value.
func (e *encoder) encode(b []byte, row any) ([]byte, error) {
	v := reflect.ValueOf(row)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Type() != e.typ {
		return nil, fmt.Errorf("%w: %v, want %v", errRowType, v.Type(), e.typ)
	}
	return e.plan.encode(b, v)
}

func (p *msgPlan) encode(b []byte, v reflect.Value) ([]byte, error) {
	var err error
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.FieldByIndex(f.index)
		if f.ptr {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		if f.repeated {
			for j := range fv.Len() {
				if b, err = f.encodeOne(b, fv.Index(j)); err != nil {
					return nil, err
				}
			}
			continue
		}
		if f.omitZero && fv.IsZero() {
			continue
		}
		if b, err = f.encodeOne(b, fv); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (f *fieldPlan) encodeOne(b []byte, v reflect.Value) ([]byte, error) {
	switch f.op {
	case opString:
		s := v.String()
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("column %s: string is not valid UTF-8", f.name)
		}
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		return protowire.AppendString(b, s), nil
	case opBool:
		b = protowire.AppendTag(b, f.num, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.Bool())), nil
	case opInt:
		b = protowire.AppendTag(b, f.num, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.Int())), nil
	case opUint:
		u := v.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("column %s: unsigned value overflows INTEGER", f.name)
		}
		b = protowire.AppendTag(b, f.num, protowire.VarintType)
		return protowire.AppendVarint(b, u), nil
	case opFloat:
		b = protowire.AppendTag(b, f.num, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.Float())), nil
	case opTime:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			if f.repeated {
				return nil, fmt.Errorf("column %s: zero time in an array (BigQuery arrays hold no NULLs)", f.name)
			}
			// NULL: a REQUIRED column then makes BigQuery reject the row.
			return b, nil
		}
		if t.Before(minTimestamp) || t.After(maxTimestamp) {
			return nil, fmt.Errorf("column %s: time outside BigQuery's TIMESTAMP range (years 1 to 9999)", f.name)
		}
		// BigQuery keeps microseconds; finer digits are truncated.
		b = protowire.AppendTag(b, f.num, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(t.UnixMicro())), nil
	case opBytes:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return b, nil
		}
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		return protowire.AppendBytes(b, v.Bytes()), nil
	case opRecord:
		sub, err := f.sub.encode(nil, v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.name, err)
		}
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		return protowire.AppendBytes(b, sub), nil
	}
	return nil, fmt.Errorf("column %s: unknown op %d", f.name, f.op)
}

// sourceOf returns the row's "source" column, if it has one.
func (e *encoder) sourceOf(row any) string {
	if e.source == nil {
		return ""
	}
	v := reflect.ValueOf(row)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Type() != e.typ {
		return ""
	}
	return v.FieldByIndex(e.source).String()
}
