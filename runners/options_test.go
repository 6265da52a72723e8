package runners

import (
	"context"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if err := (Options{Runner: "dataflow", Duration: time.Minute, StopOnSignal: true}).Validate(); err != nil {
		t.Errorf("valid Options: %v", err)
	}
	const want = "runners: Duration must be >= 0, got -1s"
	if err := (Options{Duration: -time.Second}).Validate(); err == nil || err.Error() != want {
		t.Errorf("Duration -1s: got %v, want %q", err, want)
	}
	if _, err := Run(context.Background(), beam.NewPipeline(), Options{Duration: -time.Second}); err == nil || err.Error() != want {
		t.Errorf("Run: got %v, want %q", err, want)
	}
}
