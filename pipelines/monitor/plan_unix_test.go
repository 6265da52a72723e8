//go:build unix

package monitor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// The rules file is read once, by Resolve: it is a FIFO whose content can
// be read one time only, after which another open for reading waits for a
// writer that never comes.
func TestRulesReadOnce(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.fifo")
	if err := syscall.Mkfifo(rules, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	served := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(rules, os.O_WRONLY, 0) // waits for the first reader
		if err == nil {
			_, err = w.WriteString(priceRule)
			w.Close()
		}
		served <- err
	}()
	// unblock lets a second reader, if any, see an empty file and go on.
	unblock := func() {
		if w, err := os.OpenFile(rules, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}
	within := func(what string, f func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s opened the rules file a second time", what)
			for {
				unblock()
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
	}
	cfg := Config{Input: "a.jsonl", Format: "binance", Bars: []bars.Resolution{bars.Resolution(time.Minute)}, BarsOut: dir,
		Rules: rules, AlertsOut: dir, Notify: true}
	var p Plan
	within("Resolve", func() (err error) { p, err = cfg.Resolve(runners.Local); return err })
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if p.RuleSet == nil || len(p.RuleSet.Rules) != 1 {
		t.Fatalf("Resolve read rules %+v, want the one rule", p.RuleSet)
	}
	_, s := beam.NewPipelineWithRoot()
	within("Build", func() error { return Build(s, p) })
}
