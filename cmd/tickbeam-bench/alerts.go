package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// alertsBench times `tickbeam monitor --bar=1m` on generated Binance trades
// twice, without rules and with the example rules files merged into one
// plus a price_level rule per symbol, and prints both rates and their ratio.
func alertsBench(args []string) error {
	fs := flag.NewFlagSet("alerts", flag.ExitOnError)
	bin := fs.String("tickbeam", "tickbeam", "the tickbeam binary to time")
	dir := fs.String("dir", filepath.Join(os.TempDir(), "tickbeam-bench"), "work directory (the trades file is reused)")
	n := fs.Int("n", 1_000_000, "trades")
	nsyms := fs.Int("symbols", 50, "symbols")
	rulesDir := fs.String("rules", "examples/rules", "directory of the example rules files")
	runs := fs.Int("runs", 1, "runs of each; the best is reported")
	fs.Parse(args)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	input := filepath.Join(*dir, fmt.Sprintf("binance-%d-%dsym.jsonl", *n, *nsyms))
	if _, err := os.Stat(input); err != nil {
		if err := writeBinance(input, *n, *nsyms, 1); err != nil {
			return err
		}
	}
	rules, count, err := benchRules(*rulesDir, benchSymbols(*nsyms))
	if err != nil {
		return err
	}
	rulesFile := filepath.Join(*dir, "bench-rules.yaml")
	if err := os.WriteFile(rulesFile, rules, 0o644); err != nil {
		return err
	}
	type result struct {
		d      time.Duration
		cpu    time.Duration // user + system time of the best run
		rssMiB int64         // peak resident set of the best run
	}
	time1 := func(withRules bool) (result, error) {
		var best result
		for i := 0; i < *runs; i++ {
			out := filepath.Join(*dir, "alerts-out")
			os.RemoveAll(out)
			a := []string{"monitor", "--input=" + input, "--format=binance", "--bar=1m", "--bars_out=" + out}
			if withRules {
				a = append(a, "--rules="+rulesFile, "--alerts_out="+out, "--notify=false")
			}
			cmd := exec.Command(*bin, a...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return result{}, fmt.Errorf("%s %v: %w\n%s", *bin, a, err, stderr.String())
			}
			if d := time.Since(start); best.d == 0 || d < best.d {
				best = result{d: d, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rssMiB: peakRSSMiB(cmd.ProcessState)}
			}
		}
		return best, nil
	}
	without, err := time1(false)
	if err != nil {
		return err
	}
	with, err := time1(true)
	if err != nil {
		return err
	}
	rate := func(d time.Duration) float64 { return float64(*n) / d.Seconds() }
	fmt.Printf("trades %d, symbols %d, rules %d (examples/rules + price_level per symbol)\n", *n, *nsyms, count)
	// CPU time beside wall time: on a shared machine the wall time moves
	// with the load, the CPU time much less.
	fmt.Printf("  without rules  %8.2f s  %9.0f ticks/s  cpu %8.2f s  peak RSS %6d MiB\n", without.d.Seconds(), rate(without.d), without.cpu.Seconds(), without.rssMiB)
	fmt.Printf("  with rules     %8.2f s  %9.0f ticks/s  cpu %8.2f s  peak RSS %6d MiB\n", with.d.Seconds(), rate(with.d), with.cpu.Seconds(), with.rssMiB)
	fmt.Printf("  cost of rules  %8.2fx wall  %8.2fx cpu\n", with.d.Seconds()/without.d.Seconds(), with.cpu.Seconds()/without.cpu.Seconds())
	return nil
}

// benchRules merges the rules files of dir and adds a price_level rule per
// symbol.
func benchRules(dir string, symbols []string) ([]byte, int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, 0, fmt.Errorf("no rules files in %s (run from the repository root or set --rules)", dir)
	}
	type file struct {
		Notifiers map[string][]map[string]any `yaml:"notifiers"`
		Rules     []map[string]any            `yaml:"rules"`
	}
	all := file{Notifiers: map[string][]map[string]any{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, 0, err
		}
		var x file
		if err := yaml.Unmarshal(b, &x); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f, err)
		}
		for k, v := range x.Notifiers {
			all.Notifiers[k] = append(all.Notifiers[k], v...)
		}
		all.Rules = append(all.Rules, x.Rules...)
	}
	for _, s := range symbols {
		all.Rules = append(all.Rules, map[string]any{"name": "bench-level-" + strings.ToLower(s), "kind": "price_level", "symbols": []string{s},
			"input": "ticks", "direction": "above", "threshold": 1e9, "severity": "INFO"})
	}
	b, err := yaml.Marshal(all)
	return b, len(all.Rules), err
}

// peakRSSMiB is a finished process's peak resident set (Linux: ru_maxrss in KiB).
func peakRSSMiB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss / 1024
	}
	return 0
}
