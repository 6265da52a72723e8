package alerts

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/calendar"
	"github.com/tickbeam/tickbeam/notify"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestParseRulesErrorsGolden(t *testing.T) {
	_, err := LoadRules("testdata/errors.yaml")
	var re *RulesError
	if !errors.As(err, &re) {
		t.Fatalf("LoadRules: %v, want a *RulesError", err)
	}
	golden(t, "errors.golden", err.Error()+"\n")
}

func TestParseRulesMessages(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"threshold", "rules:\n  - name: a\n    kind: price_level\n    direction: below\n    threshold: 1\n  - name: b\n    kind: change_pct\n    threshold: -2\n",
			"rules.yaml:8: rules[1].threshold: must be > 0"},
		{"empty", "", "rules.yaml:1: empty rules file: want a mapping with rules:"},
		{"no rules key", "rule: []\n", "rules.yaml:1: rule: unknown field (did you mean rules?)\nrules.yaml:1: rules: required: a list of rules"},
		{"bad yaml", "rules:\n  - name: a\n\tkind: x\n", "rules.yaml:2: invalid YAML: found a tab character that violates indentation"},
		{"wrong type", "rules:\n  - name: [a]\n    kind: spread\n    threshold: wide\n",
			"rules.yaml:2: rules[0].name: want a string, got a list\nrules.yaml:4: rules[0].threshold: want a number, got \"wide\""},
	} {
		_, err := ParseRules(strings.NewReader(c.src), "rules.yaml")
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got\n%v\nwant\n%s", c.name, err, c.want)
		}
	}
}

func TestParseRulesValid(t *testing.T) {
	src := `version: 1
notifiers:
  webhooks:
    - name: sms
      url: https://sms.example.com/send
      secret_env: SMS_SECRET
      timeout: 5s
  emails:
    - name: ops
      host: smtp.example.com
      from: tickbeam@example.com
      to: [ops@example.com]
      username: tickbeam
      password_env: SMTP_PASSWORD
rules:
  - name: krx-fresh
    kind: stale_feed
    symbols: "0*"
    max_silence: 5m
    severity: critical
    sessions: {calendar: XKRX, kinds: "pre,regular", hours: "08:50-16:00"}
    notify: [ops, sms]
    labels: {team: kr-desk}
  - name: move
    kind: change_pct
    direction: down
    threshold: 5
    band: 0.5
    cooldown: 30m
`
	rs, err := ParseRules(strings.NewReader(src), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Name: "krx-fresh", Kind: KindStaleFeed, Symbols: []string{"0*"}, MaxSilence: 5 * time.Minute, Severity: tickbeam.Critical,
			Sessions: &Sessions{Calendar: "XKRX", Kinds: []calendar.SessionKind{calendar.Pre, calendar.Regular}, Hours: "08:50-16:00"},
			Notify:   []string{"ops", "sms"}, Labels: map[string]string{"team": "kr-desk"}},
		{Name: "move", Kind: KindChangePct, Direction: Below, Threshold: 5, Band: 0.5, Cooldown: 30 * time.Minute},
	}
	if diff := cmp.Diff(want, rs.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if rs.Line("move") != 24 || rs.Source != "ok.yaml" {
		t.Errorf("Line(move) = %d, Source = %q", rs.Line("move"), rs.Source)
	}
	wantHooks := []NamedWebhook{{Config: notify.WebhookConfig{Name: "sms", URL: "https://sms.example.com/send", Timeout: 5 * time.Second}, SecretEnv: "SMS_SECRET"}}
	if diff := cmp.Diff(wantHooks, rs.Webhooks); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	env := map[string]string{"SMS_SECRET": "s3cret", "SMTP_PASSWORD": "pw"}
	ns, err := rs.Notifiers(func(k string) string { return env[k] })
	if err != nil || len(ns) != 2 || ns["ops"] == nil || ns["sms"] == nil {
		t.Errorf("Notifiers: %v, %v", ns, err)
	}
	if _, err := rs.Notifiers(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "SMS_SECRET is empty") {
		t.Errorf("Notifiers without the secret: %v", err)
	}
}
