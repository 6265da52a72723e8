package emuproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	type got struct {
		Pgrp  int
		Ticks int64
		OK    bool
	}
	for _, tc := range []struct {
		name, line string
		want       got
	}{
		{"java", "8320 (java) S 8300 8300 8300 0 -1 4194560 9 0 0 0 9012 301 7 2 20 0 60 0 1 1 1", got{8300, 9012 + 301 + 7 + 2, true}},
		{"name with spaces and parens", "42 (a b) c)) R 1 40 40 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0 1 1 1", got{40, 26, true}},
		{"cut short", "42 (x) R 1 40 40 0 -1 0 0 0 0 0 5 6", got{}},
		{"no name", "42 x R 1 40 40", got{}},
		{"bad number", "42 (x) R 1 40 40 0 -1 0 0 0 0 0 5 six 7 8 20", got{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g got
			g.Pgrp, g.Ticks, g.OK = parseStat(tc.line)
			if d := cmp.Diff(tc.want, g); d != "" {
				t.Errorf("parseStat(%q) (-want +got):\n%s", tc.line, d)
			}
		})
	}
}

func TestGroupCPUSumsTheGroupOnly(t *testing.T) {
	root := t.TempDir()
	for pid, stat := range map[string]string{
		"100":  "100 (wrapper) S 1 100 100 0 -1 0 0 0 0 0 10 20 300 40 20 0 1 0 1 1 1",
		"101":  "101 (java) S 100 100 100 0 -1 0 0 0 0 0 1000 500 0 0 20 0 60 0 1 1 1",
		"200":  "200 (other) S 1 200 200 0 -1 0 0 0 0 0 7000 7000 0 0 20 0 1 0 1 1 1",
		"self": "ignored",
	} {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := groupCPU(root, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := (10 + 20 + 300 + 40 + 1000 + 500) * 10 * time.Millisecond; got != want {
		t.Errorf("groupCPU = %v, want %v", got, want)
	}
	if _, err := groupCPU(root, 300); err == nil || !strings.Contains(err.Error(), "no process of group 300") {
		t.Errorf("groupCPU of a missing group: err %v", err)
	}
}

// A started process's CPU is what it burns, and a reaped child's counts.
func TestProcCPU(t *testing.T) {
	p, err := Start("sh", "-c", `sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'; echo spun; sleep 60`)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	start := time.Now()
	for !strings.Contains(p.Log.String(), "spun") {
		if time.Since(start) > time.Minute {
			t.Fatalf("the child did not finish its loop in a minute; output %q", p.Log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := p.CPU()
	if err != nil {
		t.Fatal(err)
	}
	if got < 50*time.Millisecond || got > 2*time.Since(start)+time.Second {
		t.Errorf("CPU = %v after a 200000-step shell loop that took %v: want at least 50ms and at most twice the wall time", got, time.Since(start))
	}
	p.Kill()
	if _, err := p.CPU(); err == nil {
		t.Error("CPU of a killed process: no error")
	}
}
