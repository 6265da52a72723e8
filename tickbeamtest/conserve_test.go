package tickbeamtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/tickbeamtest"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

func init() {
	register.Function2x0[tickbeam.Tick, func(tickbeam.Tick)](dropPricesOver100)
}

func binanceTrade(id int, price string) string {
	return fmt.Sprintf(`{"e":"trade","E":1768435201001,"s":"BTCUSDT","t":%d,"p":"%s","q":"1","T":%d,"m":false,"M":true}`, id, price, 1768435201000+int64(id)*1000)
}

// A silent drop: what the check is there to catch.
func dropPricesOver100(t tickbeam.Tick, emit func(tickbeam.Tick)) {
	if t.Price <= 100 {
		emit(t)
	}
}

func TestConservation(t *testing.T) {
	lines := []string{
		binanceTrade(1, "100"), binanceTrade(2, "101"), binanceTrade(2, "101"), // a redelivery
		binanceTrade(3, "abc"),   // a dead letter
		`{"result":null,"id":1}`, // a subscription ack: control
		"   ",                    // blank
		binanceTrade(4, "99"),
	}
	for _, c := range []struct {
		name     string
		leak     bool
		balances bool
	}{{"parse and dedupe", false, true}, {"a step that drops a tick", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			in := beam.CreateList(s, lines)
			ledger := tickbeamtest.Conservation(s, "feed", in)
			ticks, dead := parse.Lines(s, in, parse.Config{Format: "binance"})
			ticks = dedupe.Ticks(s, ticks, dedupe.Options{})
			if c.leak {
				ticks = beam.ParDo(s, dropPricesOver100, ticks)
			}
			ledger.Ticks(s, ticks)
			ledger.DeadLetters(s, dead)
			r := ptest.RunAndValidate(t, p)

			rec := &recorder{TB: t}
			ledger.Check(rec, r)
			t.Log(rec.msg)
			if rec.failed == c.balances {
				t.Errorf("Check failed = %v, want %v; it said: %s", rec.failed, !c.balances, rec.msg)
			}
			if !strings.Contains(rec.msg, "duplicates 1 + control 1 + blank 1") {
				t.Errorf("Check's account lacks the duplicate, control and blank: %s", rec.msg)
			}
		})
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(f, args...)
}
func (r *recorder) Logf(f string, args ...any) { r.msg = fmt.Sprintf(f, args...) }
