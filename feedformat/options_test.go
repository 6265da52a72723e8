package feedformat

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"zero", Options{}, ""},
		{"ok", Options{JSONFields: map[string]string{"symbol": "data.s"}, CSVColumns: []string{"price", "-", ""}, Location: "Asia/Seoul"}, ""},
		{"json field", Options{JSONFields: map[string]string{"prise": "p"}}, `feedformat: unknown tick field "prise" in JSONFields (known: symbol, price, size, event_time, side, trade_id, venue, bid_price, bid_size, ask_price, ask_size, prev_close, currency, kind)`},
		{"json path", Options{JSONFields: map[string]string{"price": "a."}}, `feedformat: JSONFields["price"]: invalid path "a."`},
		{"csv column", Options{CSVColumns: []string{"px"}}, `feedformat: unknown tick field "px" in CSVColumns[0] (known: symbol, price, size, event_time, side, trade_id, venue, bid_price, bid_size, ask_price, ask_size, prev_close, currency, kind)`},
		{"csv twice", Options{CSVColumns: []string{"size", "size"}}, "feedformat: CSVColumns: field size named twice"},
		{"location", Options{Location: "Nowhere/Land"}, `feedformat: unknown time zone "Nowhere/Land" in Options.Location`},
	} {
		var got string
		if err := c.opts.Validate(); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}
