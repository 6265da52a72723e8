package runners

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/tickbeam/tickbeam/io/synthetic"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// streamingPipeline never ends by itself: a paced, unbounded synthetic feed
// into 1-second bars.
func streamingPipeline() *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	ticks := synthetic.Ticks(s, synthetic.Config{Symbols: []string{"AAA", "BBB"}, Rate: 200, Seed: 1, Paced: true})
	b := bars.Compute(s, ticks, bars.Options{Resolutions: []bars.Resolution{bars.Resolution(time.Second)}})
	stats.Count(s, b[bars.Resolution(time.Second)])
	return p
}

func syntheticTicks(r beam.PipelineResult) int64 { return Counter(r, "tickbeam/synthetic", "ticks") }

func TestRunStopsStreamingAfterDuration(t *testing.T) {
	start := time.Now()
	r, err := Run(context.Background(), streamingPipeline(), Options{Duration: 3 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	took := time.Since(start)
	if took < 3*time.Second || took > 60*time.Second {
		t.Errorf("Run returned after %s, want soon after the 3s duration", took)
	}
	// 200 ticks/s for about 3 s.
	if n := syntheticTicks(r); n < 200 || n > 1000 {
		t.Errorf("ticks before the stop = %d, want about 600", n)
	}
}

func TestRunStopsStreamingOnSignal(t *testing.T) {
	go func() {
		time.Sleep(2 * time.Second)
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	}()
	r, err := Run(context.Background(), streamingPipeline(), Options{StopOnSignal: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := syntheticTicks(r); n == 0 {
		t.Error("no ticks before the signal")
	}
}

func TestRunStopsStreamingOnContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Run(ctx, streamingPipeline(), Options{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestIsLocal(t *testing.T) {
	for r, want := range map[string]bool{"": true, "prism": true, "local": true, "direct": true, "dataflow": false, "flink": false} {
		if IsLocal(r) != want {
			t.Errorf("IsLocal(%q) = %v", r, !want)
		}
	}
}
