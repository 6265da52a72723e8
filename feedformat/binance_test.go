package feedformat

import (
	"errors"
	"testing"
)

// TestBinanceControlOrMalformed: only replies to requests, server errors and
// other streams' events are control messages; an object that is none of
// them, or a combined-stream envelope whose data is not an event, is
// malformed (a dead letter), never skipped as control.
func TestBinanceControlOrMalformed(t *testing.T) {
	tests := []struct {
		payload string
		control bool
		want    string // the error message
	}{
		{`{"result":null,"id":1}`, true, "control message"},
		{`{"result":["btcusdt@trade"],"id":3}`, true, "control message"},
		{`{"e":"24hrTicker","s":"BTCUSDT"}`, true, "control message"},
		{`{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","s":"BTCUSDT"}}`, true, "control message"},
		{`{"error":{"code":2,"msg":"Invalid request"},"id":1}`, true, `binance: server error 2: "Invalid request"`},
		{`{"stream":"btcusdt@trade","data":null}`, false, `binance: field "data": invalid combined-stream event "null"`},
		{`{"stream":"btcusdt@trade","data":[]}`, false, `binance: field "data": invalid combined-stream event "[]"`},
		{`{"stream":"btcusdt@trade","data":"x"}`, false, `binance: field "data": invalid combined-stream event "x"`},
		{`{"stream":"btcusdt@trade","data":{}}`, false, `binance: combined-stream data is not an event: no field "e"`},
		{`{"stream":"btcusdt@trade","data":{"result":null,"id":1}}`, false, `binance: combined-stream data is not an event: no field "e"`},
		{`{"stream":"btcusdt@trade"}`, false, `binance: not a trade, event, request reply or error: no field "e"`},
		{`{}`, false, `binance: not a trade, event, request reply or error: no field "e"`},
		{`{"result":null}`, false, `binance: not a trade, event, request reply or error: no field "e"`},
		{`{"id":1}`, false, `binance: not a trade, event, request reply or error: no field "e"`},
		{`{"error":null,"id":1}`, false, `binance: not a trade, event, request reply or error: no field "e"`},
		{`{"e":null,"s":"BTCUSDT"}`, false, `binance: field "e": invalid event type "null"`},
		{`{"e":7}`, false, `binance: field "e": invalid event type "7"`},
	}
	p := mustNew(t, "binance", Options{})
	for _, tc := range tests {
		got, err := p.Parse(nil, []byte(tc.payload))
		if err == nil || err.Error() != tc.want || errors.Is(err, ErrControl) != tc.control || len(got) != 0 {
			t.Errorf("Parse(%s) = %v, %v (control %v); want no ticks, error %q (control %v)",
				tc.payload, got, err, errors.Is(err, ErrControl), tc.want, tc.control)
		}
	}
	// The envelope of a trade still parses.
	got, err := p.Parse(nil, []byte(`{"stream":"btcusdt@trade","data":{"e":"trade","E":2,"s":"BTCUSDT","t":9,"p":"1.5","q":"2","T":1,"m":false}}`))
	if err != nil || len(got) != 1 || got[0].TradeID != "9" || got[0].Price != 1.5 {
		t.Errorf("enveloped trade: %v, %v", got, err)
	}
}
