package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/tickbeam/tickbeam/transforms/alerts"
)

const rulesUsage = `Usage:
  tickbeam rules check FILE...   validate alert rules files

Prints "FILE: N rules OK" for each valid file, else every error as
FILE:LINE: FIELD: MESSAGE. Exits 0 when all files are valid, 1 when one is
not, 2 on bad usage.
`

// runRules implements `tickbeam rules check FILE...`.
func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, rulesUsage)
			return 0
		}
	}
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 {
			fmt.Fprintf(stderr, "tickbeam rules: unknown subcommand %q (want check)\n", args[0])
		}
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	files := args[1:]
	if len(files) == 0 {
		fmt.Fprint(stderr, "tickbeam rules check: no FILE given\n"+rulesUsage)
		return 2
	}
	code := 0
	for _, f := range files {
		rs, err := alerts.LoadRules(f)
		if err != nil {
			var re *alerts.RulesError
			if errors.As(err, &re) {
				fmt.Fprintln(stderr, re.Error())
			} else {
				fmt.Fprintf(stderr, "tickbeam rules check: %v\n", err)
			}
			code = 1
			continue
		}
		noun := "rules"
		if len(rs.Rules) == 1 {
			noun = "rule"
		}
		fmt.Fprintf(stdout, "%s: %d %s OK\n", f, len(rs.Rules), noun)
	}
	return code
}
