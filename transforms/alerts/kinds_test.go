package alerts

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// Every kind's spec is consistent with Rule: its fields are Rule's
// rules-file keys, and the ones every kind has are not repeated.
func TestKindTable(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range ruleKeys {
		keys[k] = true
	}
	for _, k := range kindTable {
		if kinds[k.kind] != k {
			t.Errorf("%s: not in kinds", k.kind)
		}
		for _, f := range k.fields {
			if !keys[f] || commonFields[f] {
				t.Errorf("%s: field %q is not a kind-specific key of Rule", k.kind, f)
			}
		}
		hasDir := false
		for _, f := range k.fields {
			hasDir = hasDir || f == "direction"
		}
		if hasDir != (len(k.directions) > 0) {
			t.Errorf("%s: directions %v, direction field %v", k.kind, k.directions, hasDir)
		}
	}
	for f := range commonFields {
		if !keys[f] {
			t.Errorf("common field %q is not a key of Rule", f)
		}
	}
}

// Every Rule field decodes from a rules file: none falls to value's panic.
func TestRuleFieldsDecode(t *testing.T) {
	for _, f := range ruleFields {
		d := &decoder{file: "r.yaml"}
		var r Rule
		d.value(reflectField(&r, f.index), f.key, "rules[0]."+f.key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x", Line: 1}, map[string]int{})
	}
}

func TestSplitNeeds(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`rules:
  - {name: bad-prints, kind: outlier, pct: 5}
  - {name: move, kind: change_pct, threshold: 5}
  - {name: rsi, kind: rsi, input: indicators, overbought: 70}
  - {name: quiet, kind: stale_feed, max_silence: 5m}
`), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	filters, rest := rs.Split()
	names := func(rs *RuleSet) []string {
		var n []string
		for _, r := range rs.Rules {
			n = append(n, r.Name)
		}
		return n
	}
	if diff := cmp.Diff([]string{"bad-prints"}, names(filters)); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"move", "rsi", "quiet"}, names(rest)); diff != "" {
		t.Errorf("rest (-want +got):\n%s", diff)
	}
	if rest.Line("quiet") != 5 || rest.Source != "r.yaml" {
		t.Errorf("rest lost the lines or source: %d %q", rest.Line("quiet"), rest.Source)
	}
	for _, c := range []struct {
		rs   *RuleSet
		in   Input
		want bool
	}{
		{rs, InputTicks, true}, {rs, InputChanges, true}, {rs, InputIndicators, true},
		{rs, InputBars, false}, {rs, InputCrosses, false}, {rs, InputPortfolio, false},
		{rest, InputTicks, true}, {filters, InputChanges, false}, {nil, InputTicks, false},
	} {
		if got := c.rs.Needs(c.in); got != c.want {
			t.Errorf("Needs(%s) of %v: %v, want %v", c.in, names(orEmpty(c.rs)), got, c.want)
		}
	}
	if f, r := (&RuleSet{Rules: rest.Rules}).Split(); f != nil || r == nil {
		t.Errorf("Split without outliers: %v, %v", f, r)
	}
	if f, r := (*RuleSet)(nil).Split(); f != nil || r != nil {
		t.Errorf("Split of nil: %v, %v", f, r)
	}
}

func orEmpty(rs *RuleSet) *RuleSet {
	if rs == nil {
		return &RuleSet{}
	}
	return rs
}

func reflectField(r *Rule, i int) reflect.Value { return reflect.ValueOf(r).Elem().Field(i) }
