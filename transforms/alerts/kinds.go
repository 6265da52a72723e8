package alerts

import (
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam"
)

// kindTable declares the rule kinds, one row each, in the order Kinds and
// the "unknown kind" message list them. Each row's kindSpec lives in the
// kind's own file (kind_*.go, stale.go, outlier.go, portfolio.go).
// Everything that depends on the kind reads its spec: the fields and inputs
// it accepts, its validation, its Evaluator and how Apply runs it. A new
// kind is a file with its Kind constant and kindSpec, and a row here (and
// Rule fields, with yaml tags, for parameters no kind had before: the
// rules-file decoder and the field checks read the tags).
var kindTable []*kindSpec

// kinds maps a Kind to its spec.
var kinds map[Kind]*kindSpec

// init fills the table: the specs' funcs read it, so it cannot be a
// package-level initializer.
func init() {
	kindTable = []*kindSpec{
		&priceLevelKind,
		&priceCrossKind,
		&vwapDeviationKind,
		&volumeSpikeKind,
		&changePctKind,
		&maCrossKind,
		&rsiKind,
		&spreadKind,
		&staleFeedKind,
		&outlierKind,
		&drawdownKind,
		&positionValueKind,
		&priceRangeKind,
	}
	kinds = make(map[Kind]*kindSpec, len(kindTable))
	for _, k := range kindTable {
		if kinds[k.kind] != nil || (k.observe == nil) == (k.build == nil) || (k.observe != nil) != (k.start != nil) || len(k.inputs) == 0 {
			panic(fmt.Sprintf("alerts: kind %s: declared twice, or not one of a sequence kind (start, observe) and a transform (build), or no inputs", k.kind))
		}
		kinds[k.kind] = k
	}
}

// kindSpec is everything a rule kind is.
type kindSpec struct {
	kind Kind
	// inputs are the collections the kind can read, its default first.
	inputs []Input
	// fields are the rules-file keys the kind takes beyond those of every
	// rule (name, kind, description, symbols, cooldown, severity, sessions,
	// notify, labels, state_ttl); setting any other is an error.
	fields []string
	// directions are the values direction takes, when fields has it; ""
	// among them makes it optional (unset means both).
	directions []Direction
	// quotes: the kind reads quoted ticks (bid and ask), not trades.
	quotes bool
	// check reports the kind's own problems. The fields set, the input,
	// the resolution, band and direction are checked from the spec.
	check func(r *Rule, bad problemFn)

	// A sequence kind runs as an Evaluator per rule and symbol: start sets
	// the limits of its initial state (st comes with the rule's band and
	// cooldown), observe judges the next observation. Apply runs every
	// sequence rule of one input in one stateful step.
	start   func(r *Rule, st *evalState)
	observe func(e *Evaluator, o Observation) []tickbeam.Alert

	// Any other kind is a transform of its own on the ticks (build), run
	// on the clean ticks or, with rawTicks, on Inputs.Ticks as they came.
	// A filter kind's clean ticks are what every later rule reads, so
	// Apply runs filter kinds first, in file order; build returns its input
	// as clean and no quarantined collection otherwise.
	build    func(s beam.Scope, r Rule, ticks beam.PCollection) (clean, quarantined, alerts beam.PCollection, err error)
	filter   bool
	rawTicks bool
}

// problemFn reports a problem of one field of a rule.
type problemFn func(field, format string, args ...any)

// Kinds lists the rule kinds.
func Kinds() []Kind {
	ks := make([]Kind, len(kindTable))
	for i, k := range kindTable {
		ks[i] = k.kind
	}
	return ks
}

// spec is the rule's kind's spec, nil for an unknown kind.
func (r *Rule) spec() *kindSpec { return kinds[r.Kind] }

// sequence reports whether the rule runs as an Evaluator.
func (r *Rule) sequence() bool {
	k := r.spec()
	return k != nil && k.observe != nil
}

// checkDirection reports a direction the kind does not take.
func (k *kindSpec) checkDirection(d Direction, bad problemFn) {
	var want []string
	for _, x := range k.directions {
		if x == d {
			return
		}
		if x != "" {
			want = append(want, string(x))
		}
	}
	bad("direction", "%s (want %s)", dirProblem(d), joinOr(want))
}

// readsUpDown reports whether up and down read as above and below in a
// rule of kind k (change_pct's words): every kind but those whose
// directions are others (ma_cross: golden and death).
func readsUpDown(k Kind) bool {
	spec := kinds[k]
	if spec == nil || len(spec.directions) == 0 {
		return true
	}
	for _, d := range spec.directions {
		if d == Above {
			return true
		}
	}
	return false
}

// joinOr joins words as "a", "a or b", "a, b or c".
func joinOr(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// positive reports a value that is not > 0.
func positive(bad problemFn, field string, v float64) {
	if !(v > 0) {
		bad(field, "must be > 0")
	}
}

// checkWindow checks a trailing window (volume_spike, outlier).
func checkWindow(r *Rule, bad problemFn) {
	if r.Window < 0 || r.Window == 1 {
		bad("window", "must be >= 2")
	}
}

// ticksOnly is the build of a kind that only watches the ticks: it passes
// them on as clean.
func ticksOnly(build func(s beam.Scope, r Rule, ticks beam.PCollection) (beam.PCollection, error)) func(s beam.Scope, r Rule, ticks beam.PCollection) (clean, quarantined, alerts beam.PCollection, err error) {
	return func(s beam.Scope, r Rule, ticks beam.PCollection) (clean, quarantined, alerts beam.PCollection, err error) {
		alerts, err = build(s, r, ticks)
		return ticks, quarantined, alerts, err
	}
}
