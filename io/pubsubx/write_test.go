package pubsubx

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/runners"
)

var (
	t0    = time.Date(2024, 3, 4, 14, 30, 0, 0, time.UTC)
	alert = tickbeam.Alert{AlertID: "a-1", Rule: "price_spike", Symbol: "AAPL", Severity: tickbeam.Critical,
		EventTime: t0, DetectedAt: t0.Add(time.Second), Value: 3.2, Threshold: 3, Message: "AAPL +3.2%",
		Labels: []tickbeam.Attribute{{Key: "desk", Value: "eq"}}}
	tick = tickbeam.Tick{Symbol: "BTCUSDT", Venue: "binance", Kind: tickbeam.Trade, EventTime: t0, IngestTime: t0,
		Price: 65000.5, Size: 0.01, Side: tickbeam.Buy, TradeID: "123", Source: "binance"}
	bar = tickbeam.Bar{Symbol: "MSFT", Resolution: "1m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
		Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 10, Notional: 12, VWAP: 1.2, Trades: 3, Timing: tickbeam.OnTime}
	dead = tickbeam.NewDeadLetter(t0, []byte("{bad"), map[string]string{"format": "binance"}, tickbeam.StageParse,
		"binance", errors.New("unexpected end of JSON input"))
	raw = tickbeam.Message{ID: "77", Payload: []byte("raw line"), Attributes: map[string]string{"format": "csv", "source": "file"}}
)

func TestEncodeRow(t *testing.T) {
	static := map[string]string{"env": "test", "source": "static"}
	tests := []struct {
		name      string
		row       any
		static    map[string]string
		idAttr    string
		wantData  []byte // nil: the row's JSON
		wantAttrs map[string]string
	}{
		{"alert", alert, nil, "", nil,
			map[string]string{"rule": "price_spike", "symbol": "AAPL", "severity": "CRITICAL"}},
		{"alert with static attributes and id", alert, static, "eid", nil,
			map[string]string{"rule": "price_spike", "symbol": "AAPL", "severity": "CRITICAL", "env": "test", "source": "static", "eid": "a-1"}},
		{"tick: the row's source wins over the static one", tick, static, "", nil,
			map[string]string{"symbol": "BTCUSDT", "source": "binance", "env": "test"}},
		{"bar", bar, nil, "", nil, map[string]string{"symbol": "MSFT"}},
		{"dead letter", dead, nil, "", nil, map[string]string{"source": "binance"}},
		{"message as is", raw, static, "eid", []byte("raw line"),
			map[string]string{"format": "csv", "source": "file", "env": "test", "eid": "77"}},
		{"bytes", []byte("b"), nil, "", []byte("b"), nil},
		{"string", "s", static, "", []byte("s"), static},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := encodeRow(tc.row, tc.static, tc.idAttr)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.wantData
			if want == nil {
				if want, err = json.Marshal(tc.row); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(string(want), string(m.Data)); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAttrs, m.Attributes); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEncodeRowID: without an alert_id or message id, the id is a hash of
// the payload, the same for the same row.
func TestEncodeRowID(t *testing.T) {
	a, _ := encodeRow(tick, nil, "eid")
	b, _ := encodeRow(tick, nil, "eid")
	other := tick
	other.TradeID = "124"
	c, _ := encodeRow(other, nil, "eid")
	if a.Attributes["eid"] == "" || a.Attributes["eid"] != b.Attributes["eid"] || a.Attributes["eid"] == c.Attributes["eid"] {
		t.Errorf("ids %q, %q (same tick), %q (other tick): want equal ids for equal rows only",
			a.Attributes["eid"], b.Attributes["eid"], c.Attributes["eid"])
	}
}

func TestWriteRejects(t *testing.T) {
	const topic = "projects/my-proj/topics/alerts"
	big := dead
	big.PayloadBytes = make([]byte, 11<<20)
	longAttr := alert
	longAttr.Symbol = strings.Repeat("X", 1025)
	tests := []struct {
		name string
		row  any
		want string
	}{
		{"over 10 MB", big, "pubsubx.Write to projects/my-proj/topics/alerts: tickbeam.DeadLetter (source=binance): the message is "},
		{"attribute too long", longAttr, "pubsubx.Write: tickbeam.Alert (alert_id=a-1 rule=price_spike symbol=XXXX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fn := &writeFn{Topic: topic} // fails before it would publish
			err := fn.ProcessElement(context.Background(), tc.row, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("ProcessElement error:\n got %v\nwant prefix %s", err, tc.want)
			}
		})
	}
}

func TestWriteOptionsValidate(t *testing.T) {
	tests := []struct {
		topic string
		opts  WriteOptions
		want  string
	}{
		{"projects/p-1234/topics/alerts", WriteOptions{}, ""},
		{"alerts", WriteOptions{}, `pubsubx.Write: topic "alerts" is not of the form projects/PROJECT/topics/ID`},
		{"projects/p-1234/topics/alerts", WriteOptions{Attributes: map[string]string{"googx": "1"}},
			`pubsubx.Write: WriteOptions.Attributes: attribute key "googx": keys starting with goog are reserved`},
		{"projects/p-1234/topics/alerts", WriteOptions{MaxBatch: 1001}, `pubsubx.Write: MaxBatch must be 0 (default) to 1000, got 1001`},
	}
	for _, tc := range tests {
		err := tc.opts.Validate(tc.topic)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Validate(%q, %+v) = %q, want %q", tc.topic, tc.opts, got, tc.want)
		}
	}
}

// TestWrite publishes rows of each type to the emulator and pulls them back.
func TestWrite(t *testing.T) {
	topic, sub := newSubscription(t)
	p := pipeline(t, func(s beam.Scope) {
		opts := WriteOptions{Attributes: map[string]string{"pipeline": "test"}, IDAttribute: "eid"}
		Write(s, topic, beam.Create(s, alert), opts)
		Write(s, topic, beam.Create(s, tick), opts)
		Write(s, topic, beam.Create(s, bar), opts)
		Write(s, topic, beam.Create(s, dead), opts)
		Write(s, topic, beam.Create(s, raw), opts)
	})
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := beamtest.Counter(t, res, Namespace, "published"); got != 5 {
		t.Errorf("counter published = %d, want 5", got)
	}

	got := map[string]any{}
	attrs := map[string]map[string]string{}
	for _, rm := range pullLeftovers(t, sub, 2*time.Second) {
		m := rm.GetMessage()
		a := maps.Clone(m.GetAttributes())
		if a["eid"] == "" {
			t.Errorf("message %q has no eid attribute", m.GetData())
		}
		delete(a, "eid") // checked by TestEncodeRowID
		var key string
		var row any
		switch {
		case a["rule"] != "":
			key, row = "alert", decodeAs[tickbeam.Alert](t, m.GetData())
		case a["symbol"] == "BTCUSDT":
			key, row = "tick", decodeAs[tickbeam.Tick](t, m.GetData())
		case a["symbol"] == "MSFT":
			key, row = "bar", decodeAs[tickbeam.Bar](t, m.GetData())
		case a["format"] == "csv":
			key, row = "raw", string(m.GetData())
		default:
			key, row = "dead", decodeAs[tickbeam.DeadLetter](t, m.GetData())
		}
		got[key] = row
		attrs[key] = a
	}
	want := map[string]any{"alert": alert, "tick": tick, "bar": bar, "dead": dead, "raw": "raw line"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows pulled back (-want +got):\n%s", diff)
	}
	wantAttrs := map[string]map[string]string{
		"alert": {"pipeline": "test", "rule": "price_spike", "symbol": "AAPL", "severity": "CRITICAL"},
		"tick":  {"pipeline": "test", "symbol": "BTCUSDT", "source": "binance"},
		"bar":   {"pipeline": "test", "symbol": "MSFT"},
		"dead":  {"pipeline": "test", "source": "binance"},
		"raw":   {"pipeline": "test", "format": "csv", "source": "file"},
	}
	if diff := cmp.Diff(wantAttrs, attrs); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func decodeAs[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s as %v: %v", b, reflect.TypeOf(v), err)
	}
	return v
}

// TestWriteFailedPublishFailsBundle: publishing to a topic that does not
// exist fails the bundle (and, on prism, the job) with Pub/Sub's error.
func TestWriteFailedPublishFailsBundle(t *testing.T) {
	topic, _ := newSubscription(t)
	missing := topic + "-missing"
	p := pipeline(t, func(s beam.Scope) {
		Write(s, missing, beam.Create(s, alert), WriteOptions{})
	})
	_, err := runners.Run(context.Background(), p, runners.Options{})
	if err == nil || !strings.Contains(err.Error(), "pubsubx.Write to "+missing+": 1 of 1 messages failed to publish") ||
		!strings.Contains(err.Error(), "NotFound") {
		t.Errorf("run error = %v, want the publish failure with NotFound", err)
	}
}

// TestPublisher publishes raw lines as `tickbeam feed` does.
func TestPublisher(t *testing.T) {
	srv, topic, _ := fake(t)
	ctx := context.Background()
	pub, err := NewPublisher(ctx, topic, PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{"format": "binance", "source": "replay"}
	if err := pub.PublishRaw(ctx, []byte("line 1"), attrs); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("after PublishRaw the server has %d messages, want 1", n)
	}
	for _, line := range []string{"line 2", "line 3"} {
		if err := pub.Publish(ctx, []byte(line), attrs); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pub.Published(); got != 3 {
		t.Errorf("Published() = %d, want 3", got)
	}
	got := map[string]map[string]string{}
	for _, m := range srv.Messages() {
		got[string(m.Data)] = m.Attributes
	}
	want := map[string]map[string]string{"line 1": attrs, "line 2": attrs, "line 3": attrs}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	if err := pub.PublishRaw(ctx, make([]byte, 11<<20), nil); err == nil || !strings.Contains(err.Error(), "over Pub/Sub's 10 MB limit") {
		t.Errorf("PublishRaw of 11 MB: %v, want the size error", err)
	}
}

// TestPublisherFailure: Flush reports messages Pub/Sub refused.
func TestPublisherFailure(t *testing.T) {
	_, topic, _ := fake(t)
	ctx := context.Background()
	pub, err := NewPublisher(ctx, topic+"-missing", PublisherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	if err := pub.Publish(ctx, []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(ctx); err == nil || !strings.Contains(err.Error(), "1 messages failed to publish") {
		t.Errorf("Flush = %v, want 1 failure", err)
	}
	if err := pub.Flush(ctx); err != nil {
		t.Errorf("second Flush = %v, want nil (failures are reported once)", err)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	_, topic, sub := fake(t)
	ctx := context.Background()
	if err := CreateTopic(ctx, topic); err != nil {
		t.Errorf("CreateTopic of an existing topic: %v", err)
	}
	if err := CreateSubscription(ctx, sub, topic); err != nil {
		t.Errorf("CreateSubscription of an existing subscription: %v", err)
	}
	other := "projects/fake-project/topics/other"
	if err := CreateTopic(ctx, other); err != nil {
		t.Fatal(err)
	}
	want := "pubsubx.CreateSubscription: " + sub + " exists on topic " + topic + ", not " + other
	if err := CreateSubscription(ctx, sub, other); err == nil || err.Error() != want {
		t.Errorf("CreateSubscription on another topic = %v, want %q", err, want)
	}
}
