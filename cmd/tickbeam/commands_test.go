package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// An unknown command's error lists every command of the usage, and each of
// them is one run dispatches.
func TestUnknownCommandListsEveryCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"dayly"}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	msg := stderr.String()
	for _, name := range []string{"monitor", "daily", "feed", "ddl", "rules", "version"} {
		if !strings.Contains(msg, name) {
			t.Errorf("%q does not name %s", msg, name)
		}
		var out, errb bytes.Buffer
		run(context.Background(), []string{name, "-h"}, &out, &errb)
		if strings.Contains(errb.String(), "unknown command") {
			t.Errorf("%s is listed but not a command: %s", name, errb.String())
		}
	}
	if want := "(want monitor, daily, feed, ddl, rules or version)"; !strings.Contains(msg, want) {
		t.Errorf("%q lacks %q", msg, want)
	}
}
