package tickbeam_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the library's layers straight, as `go list` sees the
// packages' own imports (tests may cross them): transforms compute on
// collections and never read or write (io), io reads and writes and never
// computes (transforms), and neither builds pipelines; the packages below
// them (the schema, calendar, feedformat, notify, internal/...) import none
// of the three; metrics, dashboard and tickbeamtest sit beside pipelines. A transform that needs data takes a collection, which the
// pipeline reads with io.
func TestLayers(t *testing.T) {
	const module = "github.com/tickbeam/tickbeam"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string][]string{ // a package's top directory -> the top directories it may not import
		"io":         {"transforms", "pipelines", "cmd"},
		"transforms": {"io", "pipelines", "cmd"},
		"pipelines":  {"cmd"},
		// Beside the pipelines: what runs around them and the users' test kit.
		"metrics":      {"cmd"},
		"dashboard":    {"cmd"},
		"tickbeamtest": {"cmd"},
	}
	lower := []string{"io", "transforms", "pipelines", "cmd"}
	top := func(pkg string) string {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		return strings.Split(rel, "/")[0]
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, imports := fields[0], fields[1:]
		mine := top(pkg)
		banned, ok := forbidden[mine]
		if !ok && mine != "examples" && mine != "cmd" {
			banned = lower // the schema, calendar, feedformat, internal/...
		}
		checked++
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			for _, b := range banned {
				if top(imp) == b {
					t.Errorf("%s imports %s: %s may not import %s", pkg, imp, mine, b)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("go list gave %d packages: %s", checked, out)
	}
}
