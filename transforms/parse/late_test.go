package parse

import (
	"errors"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

// TestLate: of a reader's late dead letters, a malformed message becomes a
// parse or validate dead letter, control and blank messages are counted and
// dropped, a real trade stays late, and other stages pass through.
func TestLate(t *testing.T) {
	at := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	late := errors.New("event time arrived 5m behind the watermark")
	attrs := map[string]string{feedformat.FormatAttribute: "binance", feedformat.SourceAttribute: "spot", "ts": "1768435200000"}
	dl := func(payload, stage string) tickbeam.DeadLetter {
		return tickbeam.NewDeadLetter(at, []byte(payload), attrs, stage, "spot", late)
	}
	in := []tickbeam.DeadLetter{
		dl(`{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"100","q":"1","T":1768435200000,"m":false}`, tickbeam.StageLate),
		dl(`{"e":"trade","E":1,"s":"","t":2,"p":"100","q":"1","T":1768435200000,"m":false}`, tickbeam.StageLate),
		dl(`{"e":"trade","E":1,"s":"BTCUSDT","t":3,"p":"0","q":"1","T":1768435200000,"m":false}`, tickbeam.StageLate),
		dl(`{"e":"trade","E":1,"s":"BTCUSDT","t":4,"p":"100","q":"-1","T":1768435200000,"m":false}`, tickbeam.StageLate),
		dl(`{"stream":"btcusdt@trade","data":null}`, tickbeam.StageLate),
		dl(`{"result":null,"id":1}`, tickbeam.StageLate),
		dl(`  `, tickbeam.StageLate),
		dl(`anything`, tickbeam.StageOutlier),
	}
	p, s := beam.NewPipelineWithRoot()
	out := Late(s, beam.CreateList(s, in), Config{})
	passert.Equals(s, beam.ParDo(s, describeDeadLetter, out),
		"late spot: event time arrived 5m behind the watermark",
		"validate spot: missing symbol",
		"validate spot: BTCUSDT: trade price 0 is not a positive finite number",
		"validate spot: BTCUSDT: trade size -1 is negative or not finite",
		`parse spot: binance: field "data": invalid combined-stream event "null"`,
		"outlier spot: event time arrived 5m behind the watermark",
	)
	r := ptest.RunAndValidate(t, p)
	// messages = ticks-bearing + control + blank + dead letters: 7 = 0 + 1 + 1 + 5.
	for name, want := range map[string]int64{"messages": 7, "ticks": 0, "control": 1, "blank": 1, "dead_letters": 5} {
		if got := beamtest.Counter(t, r, "tickbeam/parse", name); got != want {
			t.Errorf("counter %s = %d, want %d", name, got, want)
		}
	}
}
