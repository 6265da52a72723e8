package dashboard

import (
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if err := (Options{StatsEvery: time.Second}).Validate(); err != nil {
		t.Errorf("StatsEvery 1s: %v", err)
	}
	const want = "dashboard: StatsEvery must be >= 0, got -1s"
	if err := (Options{StatsEvery: -time.Second}).Validate(); err == nil || err.Error() != want {
		t.Errorf("StatsEvery -1s: got %v, want %q", err, want)
	}
	if _, err := Serve("127.0.0.1:0", NewHub(), Options{StatsEvery: -time.Second}); err == nil || err.Error() != want {
		t.Errorf("Serve: got %v, want %q", err, want)
	}
}
