package alerts

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDeliverOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts DeliverOptions
		want string
	}{
		{"zero", DeliverOptions{}, ""},
		{"ok", DeliverOptions{Timeout: time.Second, DownFor: -1}, ""},
		{"timeout", DeliverOptions{Timeout: -time.Second}, "alerts: DeliverOptions.Timeout must be >= 0, got -1s"},
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
