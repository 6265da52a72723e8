package parse

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func TestMain(m *testing.M) { testenv.MainPrism(m) }

func init() {
	register.Function2x1[beam.EventTime, tickbeam.Tick, string](checkStamp)
	register.Function1x1[tickbeam.DeadLetter, string](describeDeadLetter)
	register.Function1x1[tickbeam.Tick, string](tickSource)
}

// checkStamp reports a tick whose element timestamp is not its event time.
func checkStamp(ts beam.EventTime, t tickbeam.Tick) string {
	if ts != mtime.FromTime(t.EventTime) {
		return "BAD STAMP " + t.TradeID
	}
	if t.IngestTime.IsZero() {
		return "NO INGEST TIME " + t.TradeID
	}
	return t.Symbol + " " + t.TradeID
}

func describeDeadLetter(d tickbeam.DeadLetter) string {
	return d.Stage + " " + d.Source + ": " + d.ErrorMessage
}

func TestLines(t *testing.T) {
	trade := func(id, price string, ms int64) string {
		return `{"e":"trade","E":1,"s":"BTCUSDT","t":` + id + `,"p":"` + price + `","q":"1","T":` + itoa(ms) + `,"m":false}`
	}
	now := time.Now().UnixMilli()
	in := []string{
		trade("1", "100.5", now-1000),
		trade("2", "101", now-2000),
		"",
		"   ",
		`{"result":null,"id":1}`,
		`{"e":"trade","s":"BTCUSDT"`,
		trade("3", "-5", now),
		trade("4", "100", now+48*3600*1000),
		trade("5", "100", 0),
		trade("6", "100", now) + strings.Repeat(" ", 300),
	}
	cfg := Config{Format: "binance", Options: feedformat.Options{Source: "spot"}, MaxPayloadBytes: 300}
	// Blocks of the same lines must give the same: the first block holds one line, the others several.
	var blocks [][]byte
	for _, part := range [][]string{in[:1], in[1:5], in[5:]} {
		blocks = append(blocks, []byte(strings.Join(part, "\n")+"\n"))
	}
	for _, blocked := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocks=%v", blocked), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			var ticks, dead beam.PCollection
			if blocked {
				ticks, dead = Blocks(s, beam.CreateList(s, blocks), cfg)
			} else {
				ticks, dead = Lines(s, beam.CreateList(s, in), cfg)
			}
			passert.Equals(s, beam.ParDo(s, checkStamp, ticks), "BTCUSDT 1", "BTCUSDT 2")
			passert.Equals(s, beam.ParDo(s, describeDeadLetter, dead),
				"parse spot: binance: invalid JSON: jsonscan: unexpected end of input after object member (expected ',' or '}') at offset 26",
				"validate spot: BTCUSDT: trade price -5 is not a positive finite number",
				"validate spot: BTCUSDT: event time "+time.UnixMilli(now+48*3600*1000).UTC().Format(time.RFC3339Nano)+" is more than 24h0m0s ahead of the clock",
				"validate spot: BTCUSDT: event time 1970-01-01T00:00:00Z is before 2000-01-01T00:00:00Z",
				"parse spot: payload of "+itoa(int64(len(in[9])))+" bytes exceeds the 300-byte limit (first "+itoa(int64(len(in[9])))+" bytes kept)",
			)
			r := ptest.RunAndValidate(t, p)
			// messages = ticks-bearing + control + blank + dead letters: 10 = 2 + 1 + 2 + 5.
			for name, want := range map[string]int64{"messages": 10, "ticks": 2, "control": 1, "blank": 2, "dead_letters": 5} {
				if got := beamtest.Counter(t, r, "tickbeam/parse", name); got != want {
					t.Errorf("counter %s = %d, want %d", name, got, want)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMessagesFormatFromAttributes(t *testing.T) {
	now := time.Now().UnixMilli()
	binance := []byte(`{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"100","q":"1","T":` + itoa(now) + `,"m":true}`)
	coinbase := []byte(`{"type":"match","trade_id":9,"product_id":"BTC-USD","price":"100.5","size":"2","side":"sell","time":"` +
		time.UnixMilli(now).UTC().Format(time.RFC3339Nano) + `"}`)
	msgs := []tickbeam.Message{
		{ID: "1", Payload: binance, Attributes: map[string]string{"format": "binance", "source": "spot"}},
		{ID: "2", Payload: coinbase, Attributes: map[string]string{"format": "coinbase"}},
		{ID: "3", Payload: binance, Attributes: map[string]string{"format": "nasdaq", "source": "x"}},
		{ID: "4", Payload: binance},
	}
	p, s := beam.NewPipelineWithRoot()
	ticks, dead := Messages(s, beam.CreateList(s, msgs), Config{})
	passert.Equals(s, beam.ParDo(s, checkStamp, ticks), "BTCUSDT 7", "BTC-USD 9")
	known := fmt.Sprint(feedformat.Formats())
	passert.Equals(s, beam.ParDo(s, describeDeadLetter, dead),
		`parse x: parse: unknown format "nasdaq" (known: `+known+`)`,
		`parse : parse: unknown format "" (known: `+known+`)`)
	passert.Equals(s, beam.ParDo(s, tickSource, ticks), "spot", "coinbase")
	ptest.RunAndValidate(t, p)
}

func tickSource(t tickbeam.Tick) string { return t.Source }
