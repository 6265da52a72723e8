package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(good, "rules:\n  - name: a\n    kind: change_pct\n    threshold: 5\n")
	write(bad, "rules:\n  - name: a\n    kind: change_pct\n    threshold: 0\n    treshold: 5\n")
	for _, c := range []struct {
		name             string
		args             []string
		code             int
		wantOut, wantErr string
	}{
		{"ok", []string{"rules", "check", good}, 0, good + ": 1 rule OK\n", ""},
		{"examples", []string{"rules", "check", "../../examples/rules/below-level.yaml", "../../examples/rules/krx-freshness.yaml"}, 0,
			"../../examples/rules/below-level.yaml: 1 rule OK\n../../examples/rules/krx-freshness.yaml: 1 rule OK\n", ""},
		{"errors", []string{"rules", "check", bad}, 1, "",
			bad + ":4: rules[0].threshold: must be > 0\n" + bad + ":5: rules[0].treshold: unknown field (did you mean threshold?)\n"},
		{"good and bad", []string{"rules", "check", good, bad}, 1, good + ": 1 rule OK\n",
			bad + ":4: rules[0].threshold: must be > 0\n" + bad + ":5: rules[0].treshold: unknown field (did you mean threshold?)\n"},
		{"missing file", []string{"rules", "check", filepath.Join(dir, "none.yaml")}, 1, "",
			"tickbeam rules check: alerts: open " + filepath.Join(dir, "none.yaml") + ": no such file or directory\n"},
		{"no file", []string{"rules", "check"}, 2, "", "tickbeam rules check: no FILE given\n" + rulesUsage},
		{"no subcommand", []string{"rules"}, 2, "", rulesUsage},
		{"unknown subcommand", []string{"rules", "lint", good}, 2, "", "tickbeam rules: unknown subcommand \"lint\" (want check)\n" + rulesUsage},
		{"help", []string{"rules", "-h"}, 0, rulesUsage, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runRules(c.args[1:], &out, &errb)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, c.code, errb.String())
			}
			if diff := cmp.Diff(c.wantOut, out.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.wantErr, errb.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
