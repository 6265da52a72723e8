package nosplit

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

func TestApply(t *testing.T) {
	defer func(v string) { *jobopts.Experiments = v }(*jobopts.Experiments)
	for _, tc := range []struct{ flag, want string }{
		{"", Experiment},
		{"use_runner_v2", "use_runner_v2," + Experiment},
		{Experiment, Experiment},
		{"a," + Experiment + ",b", "a," + Experiment + ",b"},
	} {
		*jobopts.Experiments = tc.flag
		Apply()
		Apply() // twice: still once
		if got := *jobopts.Experiments; got != tc.want {
			t.Errorf("Apply with --experiments=%q: %q, want %q", tc.flag, got, tc.want)
		}
	}
}
