package dedupe

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
		{"ok", Options{Window: time.Hour, AllowedLateness: time.Minute}, ""},
		{"window", Options{Window: -time.Second}, "dedupe: Window must be >= 0, got -1s"},
		{"lateness", Options{AllowedLateness: -time.Second}, "dedupe: AllowedLateness must be >= 0, got -1s"},
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
