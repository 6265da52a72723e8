package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/feedformat"
)

// The Flex Templates' metadata is kept by hand beside the flags it
// launches: every parameter must be a flag of its command, and the format
// parameter must accept exactly the formats feedformat knows, so adding a
// parser fails here until the templates list it.
func TestTemplateMetadata(t *testing.T) {
	for _, c := range []struct{ file, command string }{
		{"../../deploy/dataflow/metadata.json", "monitor"},
		{"../../deploy/dataflow/daily-metadata.json", "daily"},
	} {
		t.Run(c.command, func(t *testing.T) {
			data, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Parameters []struct {
					Name, HelpText string
					Regexes        []string
				} `json:"parameters"`
			}
			if err := json.Unmarshal(data, &meta); err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{c.command, "-h"}, &stdout, &stderr); code != 0 {
				t.Fatalf("%s -h: exit %d", c.command, code)
			}
			if len(meta.Parameters) == 0 {
				t.Fatal("no parameters")
			}
			formats := 0
			for _, p := range meta.Parameters {
				if !strings.Contains(stdout.String(), "  -"+p.Name+" ") && !strings.Contains(stdout.String(), "  -"+p.Name+"\n") {
					t.Errorf("template parameter %q is not a %s flag", p.Name, c.command)
				}
				if p.Name != "format" {
					continue
				}
				formats++
				if len(p.Regexes) != 1 {
					t.Fatalf("format: %d regexes, want 1", len(p.Regexes))
				}
				re := regexp.MustCompile(p.Regexes[0])
				var accepted []string
				for _, f := range append(feedformat.Formats(), "", "nope", "binance,csv", "Binance") {
					if re.MatchString(f) {
						accepted = append(accepted, f)
					}
				}
				if diff := cmp.Diff(append(feedformat.Formats(), ""), accepted); diff != "" {
					t.Errorf("format regex %q accepts (-want +got):\n%s", p.Regexes[0], diff)
				}
				for _, f := range feedformat.Formats() {
					if !strings.Contains(p.HelpText, f) {
						t.Errorf("format help %q does not name %s", p.HelpText, f)
					}
				}
			}
			if formats != 1 {
				t.Errorf("%d format parameters, want 1", formats)
			}
		})
	}
}
