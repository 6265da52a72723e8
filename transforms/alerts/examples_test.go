package alerts

import (
	"path/filepath"
	"testing"
)

// Every rules file in examples/rules loads and validates.
func TestExampleRulesFiles(t *testing.T) {
	files, err := filepath.Glob("../../examples/rules/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d example rules files, want at least 4", len(files))
	}
	for _, f := range files {
		rs, err := LoadRules(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(rs.Rules) == 0 {
			t.Errorf("%s: no rules", f)
		}
		for _, r := range rs.Rules {
			if err := r.Validate(); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}
