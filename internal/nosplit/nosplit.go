// Package nosplit keeps Beam's local runner, prism, from splitting bundles.
//
// Prism splits a bundle whose progress stalls and hands the rest to another
// bundle. On a stateful stage that split is unsafe in Beam v2.77 and v2.78:
// v2.77 released the key of a residual while the primary still held it, so
// two bundles of one key ran at once and one's state writes were lost
// (apache/beam splitBundle, fixed in v2.78); v2.78 still splits bundles that
// carry timers (apache/beam#35771) and then processes some elements twice.
// At 1M trades over 50 symbols with rules on, either way lost or repeated
// trades in session statistics, enrichment and alert rules. Every local run
// of tickbeam (runners.Run, tickbeamtest.Main and the repository's tests)
// turns splitting off with prism's own experiment.
package nosplit

import (
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

// Experiment is prism's experiment that turns bundle splitting off.
const Experiment = "prism_disable_sdf_split"

// Apply adds Experiment to the --experiments flag unless it is there.
func Apply() {
	exps := jobopts.GetExperiments()
	if slices.Contains(exps, Experiment) {
		return
	}
	*jobopts.Experiments = strings.Join(append(exps, Experiment), ",")
}
