package bigqueryx

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

var t0 = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

func mustEncoder(t testing.TB, v any) *encoder {
	t.Helper()
	s, err := SchemaOf(v)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEncoder(reflect.TypeOf(v), s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// decode reads a row the way the server does: from the normalized
// DescriptorProto the stream sends, into a dynamic message.
func decode(t *testing.T, dp *descriptorpb.DescriptorProto, b []byte) map[string]any {
	t.Helper()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:        proto.String("row.proto"),
		MessageType: []*descriptorpb.DescriptorProto{dp},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := dynamicpb.NewMessage(fd.Messages().Get(0))
	// Partial: a missing REQUIRED field is the server's to refuse.
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(b, msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.GetUnknown()) > 0 {
		t.Fatalf("unknown fields in %x", b)
	}
	return msgMap(msg)
}

func msgMap(m protoreflect.Message) map[string]any {
	out := map[string]any{}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		conv := func(v protoreflect.Value) any {
			if fd.Kind() == protoreflect.MessageKind {
				return msgMap(v.Message())
			}
			return v.Interface()
		}
		if fd.IsList() {
			var l []any
			for i := range v.List().Len() {
				l = append(l, conv(v.List().Get(i)))
			}
			out[string(fd.Name())] = l
			return true
		}
		out[string(fd.Name())] = conv(v)
		return true
	})
	return out
}

func TestEncodeRoundTrip(t *testing.T) {
	at := t0.Add(15*time.Second + 123456789*time.Nanosecond)
	f := 2.5
	for _, c := range []struct {
		name string
		row  any
		want map[string]any
	}{
		{"bar", tickbeam.Bar{Symbol: "BTCUSDT", Resolution: "1m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
			Open: 100, High: 101, Low: 99.5, Close: 99.5, Volume: 4, Notional: 399.5, VWAP: 99.875, Trades: 3,
			BuyVolume: 3.5, SellVolume: 0.5, Timing: tickbeam.OnTime, PaneIndex: 2},
			map[string]any{"symbol": "BTCUSDT", "resolution": "1m", "window_start": t0.UnixMicro(), "window_end": t0.Add(time.Minute).UnixMicro(),
				"open": 100.0, "high": 101.0, "low": 99.5, "close": 99.5, "volume": 4.0, "notional": 399.5, "vwap": 99.875,
				"trades": int64(3), "buy_volume": 3.5, "sell_volume": 0.5, "timing": "ON_TIME", "pane_index": int64(2)}},
		{"zero values stay, zero time is NULL", tickbeam.Bar{WindowEnd: t0},
			map[string]any{"symbol": "", "resolution": "", "window_end": t0.UnixMicro(),
				"open": 0.0, "high": 0.0, "low": 0.0, "close": 0.0, "volume": 0.0, "notional": 0.0, "vwap": 0.0,
				"trades": int64(0), "buy_volume": 0.0, "sell_volume": 0.0, "timing": "", "pane_index": int64(0)}},
		{"alert with labels, microseconds", tickbeam.Alert{AlertID: "a1", Rule: "change_pct", Symbol: "AAPL", Severity: tickbeam.Warning,
			EventTime: at, DetectedAt: at, Value: -5.25, Threshold: 5, Message: "AAPL −5.25%",
			Labels: []tickbeam.Attribute{{Key: "rule_file", Value: "seed.yaml"}, {Key: "k", Value: ""}}},
			map[string]any{"alert_id": "a1", "rule": "change_pct", "symbol": "AAPL", "severity": "WARNING",
				"event_time": at.Truncate(time.Microsecond).UnixMicro(), "detected_at": at.Truncate(time.Microsecond).UnixMicro(),
				"value": -5.25, "threshold": 5.0, "message": "AAPL −5.25%",
				"labels": []any{map[string]any{"key": "rule_file", "value": "seed.yaml"}, map[string]any{"key": "k", "value": ""}}}},
		{"dead letter bytes", tickbeam.DeadLetter{Timestamp: t0, PayloadString: "", PayloadBytes: []byte{0xff, 0}, Stage: "parse"},
			map[string]any{"timestamp": t0.UnixMicro(), "payload_string": "", "payload_bytes": []byte{0xff, 0},
				"error_message": "", "stage": "parse", "source": ""}},
		{"dead letter nil bytes is NULL", tickbeam.DeadLetter{Timestamp: t0},
			map[string]any{"timestamp": t0.UnixMicro(), "payload_string": "", "error_message": "", "stage": "", "source": ""}},
		{"kitchen sink", kitchenSink{Embedded: Embedded{E: -7}, S: "s", Ptr: &f, When: t0, B: []byte{}, OK: true, U: 9,
			Tags: []string{"a", "b"}, Rec: inner{N: 3}, Recs: []inner{{1}, {2}}, NoTag: 1.5, Kind: tickbeam.Critical},
			map[string]any{"e": int64(-7), "s": "s", "ptr": 2.5, "when": t0.UnixMicro(), "b": []byte{}, "ok": true, "u": int64(9),
				"tags": []any{"a", "b"}, "rec": map[string]any{"n": int64(3)}, "recs": []any{map[string]any{"n": int64(1)}, map[string]any{"n": int64(2)}},
				"NoTag": 1.5, "kind": "CRITICAL"}},
		{"kitchen sink optional set", kitchenSink{Opt: "x", WhenOpt: t0, RecPtr: &inner{N: 4}},
			map[string]any{"e": int64(0), "s": "", "opt": "x", "when_opt": t0.UnixMicro(), "ok": false, "u": int64(0),
				"rec": map[string]any{"n": int64(0)}, "rec_ptr": map[string]any{"n": int64(4)}, "NoTag": 0.0, "kind": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := mustEncoder(t, c.row)
			b, err := e.encode(nil, c.row)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, decode(t, e.descriptor, b)); diff != "" {
				t.Errorf("decoded row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	bar := mustEncoder(t, tickbeam.Bar{})
	sink := mustEncoder(t, kitchenSink{})
	for _, c := range []struct {
		name string
		e    *encoder
		row  any
		want string
	}{
		{"invalid utf8", bar, tickbeam.Bar{Symbol: "\xff", WindowStart: t0}, "column symbol: string is not valid UTF-8"},
		{"year 10000", bar, tickbeam.Bar{WindowStart: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "column window_start: time outside"},
		{"before year 1", bar, tickbeam.Bar{WindowStart: time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)}, "time outside"},
		{"uint overflow", sink, kitchenSink{U: math.MaxUint64}, "column u: unsigned value overflows INTEGER"},
		{"nested utf8", sink, kitchenSink{Recs: nil, Tags: []string{"ok", "\xc3"}}, "column tags: string is not valid UTF-8"},
		{"other type", bar, tickbeam.Tick{}, "row type differs"},
	} {
		_, err := c.e.encode(nil, c.row)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: encode error = %v, want containing %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\xff") {
			t.Errorf("%s: error carries the value", c.name)
		}
	}
}

func TestEncoderPlanErrors(t *testing.T) {
	bar, _ := SchemaOf(tickbeam.Bar{})
	tick, _ := SchemaOf(tickbeam.Tick{})
	type narrow struct {
		Symbol string `json:"symbol"`
	}
	type wrongType struct {
		Symbol int `json:"symbol"`
	}
	for _, c := range []struct {
		name   string
		typ    reflect.Type
		schema bigquery.Schema
		want   string
	}{
		{"column missing", reflect.TypeFor[tickbeam.Bar](), tick, `column "resolution" is not in the table schema`},
		{"required unwritten", reflect.TypeFor[narrow](), bar, `REQUIRED column "resolution" has no Go field`},
		{"type differs", reflect.TypeFor[wrongType](), bar, `column "symbol" is string in the table`},
	} {
		_, err := newEncoder(c.typ, c.schema)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: newEncoder error = %v, want containing %q", c.name, err, c.want)
		}
	}
}

// BenchmarkEncode compares the planned wire encoder with the obvious
// alternative, JSON -> dynamicpb -> proto.Marshal.
func BenchmarkEncode(b *testing.B) {
	bar := tickbeam.Bar{Symbol: "BTCUSDT", Resolution: "1m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
		Open: 100, High: 101, Low: 99.5, Close: 99.5, Volume: 4, Notional: 399.5, VWAP: 99.875, Trades: 3,
		BuyVolume: 3.5, SellVolume: 0.5, Timing: tickbeam.OnTime, PaneIndex: 2}
	e := mustEncoder(b, bar)
	b.Run("plan", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = e.encode(buf[:0], bar); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-dynamicpb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			j, _ := json.Marshal(bar)
			var m map[string]any
			if err := json.Unmarshal(j, &m); err != nil {
				b.Fatal(err)
			}
			msg := dynamicpb.NewMessage(e.desc)
			fields := e.desc.Fields()
			for k, v := range m {
				fd := fields.ByName(protoreflect.Name(k))
				switch fd.Kind() {
				case protoreflect.StringKind:
					msg.Set(fd, protoreflect.ValueOfString(v.(string)))
				case protoreflect.DoubleKind:
					msg.Set(fd, protoreflect.ValueOfFloat64(v.(float64)))
				case protoreflect.Int64Kind:
					if s, ok := v.(string); ok {
						ts, _ := time.Parse(time.RFC3339Nano, s)
						msg.Set(fd, protoreflect.ValueOfInt64(ts.UnixMicro()))
					} else {
						msg.Set(fd, protoreflect.ValueOfInt64(int64(v.(float64))))
					}
				}
			}
			if _, err := proto.Marshal(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
