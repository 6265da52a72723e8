package tickbeam

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update-golden", false, "rewrite testdata/*.golden.json")

var at = time.Date(2026, 1, 15, 9, 30, 15, 123456000, time.UTC)

// The JSON field names are the public schema (and the BigQuery column names):
// these goldens pin them, and a round trip proves nothing is lost.
func TestSchemaGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		zero func() any
	}{
		{"tick", Tick{Symbol: "005930", Venue: "XKRX", Kind: Trade, EventTime: at, IngestTime: at.Add(time.Second), Price: 71200, Size: 15,
			Side: Buy, TradeID: "20260115000012345678", PrevClose: 70900, Source: "kis", Currency: "KRW"}, func() any { return &Tick{} }},
		{"quote", Tick{Symbol: "AAPL", Kind: Quote, EventTime: at, IngestTime: at, BidPrice: 230.1, BidSize: 3, AskPrice: 230.12, AskSize: 1,
			Side: Unknown, Source: "alpaca", Currency: "USD"}, func() any { return &Tick{} }},
		{"bar", Bar{Symbol: "BTCUSDT", Resolution: "1m", WindowStart: at.Truncate(time.Minute), WindowEnd: at.Truncate(time.Minute).Add(time.Minute),
			Open: 100, High: 101, Low: 99.5, Close: 99.5, Volume: 4, Notional: 399.5, VWAP: 99.875, Trades: 3, BuyVolume: 3.5, SellVolume: 0.5,
			Timing: OnTime}, func() any { return &Bar{} }},
		{"alert", Alert{AlertID: "a1b2", Rule: "change_pct", Symbol: "AAPL", Severity: Warning, EventTime: at, DetectedAt: at.Add(time.Second),
			Value: 5.2, Threshold: 5, Message: "AAPL +5.2% vs previous close", Labels: []Attribute{{"rule_file", "seed004.yaml"}}}, func() any { return &Alert{} }},
		{"deadletter", NewDeadLetter(at, []byte(`{"p":"abc"}`), map[string]string{"format": "binance", "file": "a.jsonl"}, StageParse, "binance",
			errString("binance: field \"p\": invalid price \"abc\"")), func() any { return &DeadLetter{} }},
		{"indicatorvalue", IndicatorValue{Symbol: "AAPL", Resolution: "1m", WindowStart: at.Truncate(time.Minute), Indicator: "macd_12_26_9",
			Value: 0.75, Signal: ptr(0.5), Histogram: ptr(0.25)}, func() any { return &IndicatorValue{} }},
		// A pointer, so the round trip compares it without a case in deref.
		{"sessionstats", &SessionStats{Symbol: "005930", SessionDate: "2026-01-15", AsOf: at.Truncate(time.Minute).Add(time.Minute), CumVolume: 20,
			CumNotional: 1424750, SessionVWAP: 71237.5, Trades: 3, BuyVolume: 12, SellVolume: 8, TradeStrength: 150, BuyPressure: 0.6,
			Calendar: "XKRX"}, func() any { return &SessionStats{} }},
		{"pricechange", &PriceChange{Symbol: "AAPL", Kind: Trade, Source: "alpaca", TradeID: "52983525029461", EventTime: at,
			SessionDate: "2026-01-15", Price: 241.5, PrevClose: 230, PrevCloseSource: PrevCloseReference, SplitFactor: 1, Change: 11.5,
			ChangePct: 5, Flag: FlagNeutral}, func() any { return &PriceChange{} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.MarshalIndent(c.v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
				t.Errorf("JSON schema changed (-golden +got):\n%s", diff)
			}
			back := c.zero()
			if err := json.Unmarshal(want, back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.v, deref(back)); diff != "" {
				t.Errorf("JSON round trip (-want +got):\n%s", diff)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func deref(v any) any {
	switch p := v.(type) {
	case *Tick:
		return *p
	case *Bar:
		return *p
	case *Alert:
		return *p
	case *DeadLetter:
		return *p
	case *IndicatorValue:
		return *p
	}
	return v
}

func TestCoderRoundTrip(t *testing.T) {
	tick := Tick{Symbol: "BTCUSDT", Venue: "BINANCE", Kind: Trade, EventTime: at, IngestTime: at, Price: 97000.5, Size: 0.001,
		Side: Sell, TradeID: "42", PrevClose: 1, Source: "binance", Currency: "USDT", BidPrice: 1, BidSize: 2, AskPrice: 3, AskSize: 4}
	b, _ := encodeTick(tick)
	if got, err := decodeTick(b); err != nil || !cmp.Equal(tick, got) {
		t.Errorf("tick round trip: %v\n%s", err, cmp.Diff(tick, got))
	}
	if _, err := decodeTick(b[:len(b)-1]); err == nil {
		t.Error("truncated tick decoded")
	}
	// Kinds and sides outside the usual ones, and ingest times on either
	// side of the event time or without one, round-trip too.
	for _, tk := range []Tick{
		{},
		{Symbol: "X", Kind: "AUCTION", Side: "SELL_SHORT", EventTime: at, IngestTime: at.Add(-3 * time.Second)},
		{Symbol: "X", Kind: Quote, Side: Unknown, EventTime: at, IngestTime: at.Add(1500 * time.Microsecond)},
		{Symbol: "X", EventTime: at},
		{Symbol: "X", IngestTime: at},
	} {
		b, _ = encodeTick(tk)
		if got, err := decodeTick(b); err != nil || !cmp.Equal(tk, got) {
			t.Errorf("tick %+v round trip: %v\n%s", tk, err, cmp.Diff(tk, got))
		}
	}
	bar := Bar{Symbol: "X", Resolution: "5m", WindowStart: at, WindowEnd: at.Add(5 * time.Minute), Open: 1, High: 2, Low: 0.5, Close: 1.5,
		Volume: 10, Notional: 12, VWAP: 1.2, Trades: 3, BuyVolume: 4, SellVolume: 5, Timing: Late, PaneIndex: 2}
	b, _ = encodeBar(bar)
	if got, err := decodeBar(b); err != nil || !cmp.Equal(bar, got) {
		t.Errorf("bar round trip: %v\n%s", err, cmp.Diff(bar, got))
	}
	m := Message{ID: "17", Payload: []byte(`{"e":"trade"}`), Attributes: map[string]string{"format": "binance", "source": "spot"}, PublishTime: at}
	b, _ = encodeMessage(m)
	if got, err := decodeMessage(b); err != nil || !cmp.Equal(m, got) {
		t.Errorf("message round trip: %v\n%s", err, cmp.Diff(m, got))
	}
	d := NewDeadLetter(at, []byte{0xff, 'x'}, map[string]string{"b": "2", "a": "1"}, StageValidate, "s", errString("bad"))
	if d.PayloadString != "" || d.Attributes[0].Key != "a" {
		t.Errorf("dead letter of invalid UTF-8 payload: %+v", d)
	}
	b, _ = encodeDeadLetter(d)
	if got, err := decodeDeadLetter(b); err != nil || !cmp.Equal(d, got) {
		t.Errorf("dead letter round trip: %v\n%s", err, cmp.Diff(d, got))
	}
	a := Alert{AlertID: NewAlertID("r", "X", at), Rule: "r", Symbol: "X", Severity: Critical, EventTime: at, DetectedAt: at,
		Value: 1.5, Threshold: 1, Message: "m", Labels: []Attribute{{Key: "k", Value: "v"}}}
	b, _ = encodeAlert(a)
	if got, err := decodeAlert(b); err != nil || !cmp.Equal(a, got) {
		t.Errorf("alert round trip: %v\n%s", err, cmp.Diff(a, got))
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := encodeDeadLetter(NewDeadLetter(at, []byte("x"), map[string]string{"k": "v"}, "parse", "s", errString("e")))
	f.Add(b)
	t, _ := encodeTick(Tick{Symbol: "A", EventTime: at})
	f.Add(t)
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeTick(data)
		decodeBar(data)
		decodeDeadLetter(data)
		decodeAlert(data)
		decodeMessage(data)
	})
}
