package tickbeamtest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The package example is examples/library's test, verbatim (that test
// runs it), and shorter than 30 lines.
func TestDocExampleIsTheLibraryTest(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../examples/library/main_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var inDoc []string
	for _, l := range strings.Split(string(doc), "\n") {
		if code, ok := strings.CutPrefix(l, "//\t"); ok {
			inDoc = append(inDoc, code)
		} else if l == "//" && len(inDoc) > 0 {
			inDoc = append(inDoc, "")
		}
	}
	// Code blocks other than the example come before it.
	start := strings.Index(strings.Join(inDoc, "\n"), "func TestMain")
	got := strings.TrimSpace(strings.Join(inDoc, "\n")[start:])
	s := string(src)
	want := strings.TrimSpace(s[strings.Index(s, "func TestMain"):])
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("doc.go's example differs from examples/library/main_test.go (-file +doc):\n%s", d)
	}
	if n := strings.Count(want, "\n") + 1; n >= 30 {
		t.Errorf("the example is %d lines, want under 30", n)
	}
}
