package pubsubx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPublisherOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts PublisherOptions
		want string
	}{
		{"zero", PublisherOptions{}, ""},
		{"ok", PublisherOptions{MaxBatch: 1000, MaxBatchWait: time.Second}, ""},
		{"max batch", PublisherOptions{MaxBatch: 1001}, "pubsubx.PublisherOptions: MaxBatch must be 0 (default) to 1000, got 1001"},
		{"negative batch", PublisherOptions{MaxBatch: -1}, "pubsubx.PublisherOptions: MaxBatch must be 0 (default) to 1000, got -1"},
		{"wait", PublisherOptions{MaxBatchWait: -time.Second}, "pubsubx.PublisherOptions: MaxBatchWait must be >= 0, got -1s"},
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
