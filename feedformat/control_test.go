package feedformat

import (
	"errors"
	"testing"
)

// Control messages are only a feed's real ones: an empty or null frame is
// a malformed message and must reach the dead letters.
func TestKISAndTradingViewControlOrMalformed(t *testing.T) {
	tests := []struct {
		format, payload string
		control         bool
	}{
		{"kis", `{"header":{"tr_id":"PINGPONG","datetime":"20260115090000"}}`, true},
		{"kis", `{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS"}}`, true},
		{"kis", `{}`, false},
		{"kis", `{"header":null}`, false},
		{"kis", `{"header":{"tr_id":7}}`, false},
		{"tradingview", `~m~4~m~~h~1`, true},
		{"tradingview", `~m~51~m~{"session_id":"<0.1.2>_abc","timestamp":1768435200}`, true},
		{"tradingview", `~m~36~m~{"m":"quote_completed","p":["qs_1"]}`, true},
		{"tradingview", `~m~2~m~{}`, false},
		{"tradingview", `~m~4~m~null`, false},
	}
	for _, tc := range tests {
		p := mustNew(t, tc.format, Options{})
		got, err := p.Parse(nil, []byte(tc.payload))
		if err == nil || errors.Is(err, ErrControl) != tc.control || len(got) != 0 {
			t.Errorf("%s Parse(%s) = %v, %v (control %v); want an error, control %v", tc.format, tc.payload, got, err, errors.Is(err, ErrControl), tc.control)
		}
	}
}
