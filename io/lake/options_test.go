package lake

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"zero", Options{}, ""},
		{"ok", Options{Name: "bars", Shards: 4, Window: time.Hour, MaxOutage: time.Minute, Gzip: true, Partition: true}, ""},
		{"shards", Options{Shards: -1}, "lake: Shards -1 < 0"},
		{"window", Options{Window: -time.Minute}, "lake: Window -1m0s < 0"},
		{"max outage", Options{MaxOutage: -time.Second}, "lake: MaxOutage -1s < 0"},
		{"window ms", Options{Window: time.Millisecond + time.Microsecond}, "lake: Window 1.001ms is not a whole number of milliseconds"},
		{"name", Options{Name: ".."}, `lake: Name ".." must be a plain file name`},
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
