package portfolio_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/transforms/bars"
	"github.com/tickbeam/tickbeam/transforms/portfolio"
)

func TestOptionsValidate(t *testing.T) {
	m := bars.Resolution(time.Minute)
	for _, c := range []struct {
		name string
		opts portfolio.Options
		want string
	}{
		{"ok", portfolio.Options{Resolution: m, AllowedLateness: time.Hour, MaxBuffered: 10}, ""},
		{"no resolution", portfolio.Options{}, "portfolio: Resolution is required"},
		{"bad resolution", portfolio.Options{Resolution: bars.Resolution(7 * time.Hour)}, "portfolio: Resolution: bar resolution 7h0m0s: must divide a day evenly"},
		{"lateness", portfolio.Options{Resolution: m, AllowedLateness: -time.Second}, "portfolio: AllowedLateness must be >= 0, got -1s"},
		{"max buffered", portfolio.Options{Resolution: m, MaxBuffered: -1}, "portfolio: MaxBuffered must be >= 0, got -1"},
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
