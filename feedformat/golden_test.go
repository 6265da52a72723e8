package feedformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickbeam/tickbeam"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.golden.json from the parsers' output")

// allFormats are the formats New accepts; each needs a testdata directory
// (payloads fails without one), so a new format cannot go untested.
var allFormats = Formats()

// golden is what a testdata payload parses to.
type golden struct {
	// Error is the error message, if Parse failed.
	Error string `json:"error,omitempty"`
	// Control reports errors.Is(err, ErrControl).
	Control bool            `json:"control,omitempty"`
	Ticks   []tickbeam.Tick `json:"ticks"`
}

// readPayload returns a testdata payload: the file less one trailing newline.
func readPayload(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

// testOptions returns the options for a testdata payload: NAME.options.json
// beside it, else the directory's options.json, else the zero Options.
func testOptions(t testing.TB, payloadPath string) Options {
	t.Helper()
	var o Options
	for _, p := range []string{strings.TrimSuffix(payloadPath, ".txt") + ".options.json", filepath.Join(filepath.Dir(payloadPath), "options.json")} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		break
	}
	return o
}

func payloads(t testing.TB, format string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", format, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata for %s: %v", format, err)
	}
	return files
}

func TestGolden(t *testing.T) {
	now := time.Now()
	for _, format := range allFormats {
		for _, path := range payloads(t, format) {
			name := strings.TrimSuffix(filepath.Base(path), ".txt")
			t.Run(format+"/"+name, func(t *testing.T) {
				p, err := New(format, testOptions(t, path))
				if err != nil {
					t.Fatal(err)
				}
				payload := readPayload(t, path)
				orig := bytes.Clone(payload)
				ticks, err := p.Parse(nil, payload)
				if !bytes.Equal(payload, orig) {
					t.Fatal("Parse modified its payload")
				}
				got := golden{Ticks: ticks}
				if err != nil {
					got.Error = err.Error()
					got.Control = errors.Is(err, ErrControl)
					if len(ticks) != 0 {
						t.Errorf("Parse returned %d ticks with error %v", len(ticks), err)
					}
				}
				for i, tk := range ticks {
					// Tick JSON keeps its own source (replays keep their identity).
					wantSource := tk.Source == format || (format == "tick" && tk.Source != "")
					if tk.EventTime.Location() != time.UTC || !wantSource || !tk.IngestTime.IsZero() {
						t.Errorf("tick %d: EventTime %v (want UTC), Source %q (want %q), IngestTime %v (want zero)",
							i, tk.EventTime, tk.Source, format, tk.IngestTime)
					}
					if err := Validate(&tk, Limits{}, now); err != nil {
						t.Errorf("tick %d does not validate: %v", i, err)
					}
				}
				// Every control payload is named control_*, and the other way round.
				if isControl := strings.HasPrefix(name, "control_"); isControl != got.Control {
					t.Errorf("control = %v (err %v), want %v by the file's name", got.Control, err, isControl)
				}

				goldenPath := strings.TrimSuffix(path, ".txt") + ".golden.json"
				if *update {
					b, err := json.MarshalIndent(got, "", "  ")
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(goldenPath, append(b, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				b, err := os.ReadFile(goldenPath)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				var want golden
				if err := json.Unmarshal(b, &want); err != nil {
					t.Fatalf("%s: %v", goldenPath, err)
				}
				if want.Ticks == nil {
					want.Ticks = []tickbeam.Tick{}
				}
				if got.Ticks == nil {
					got.Ticks = []tickbeam.Tick{}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: mismatch (-want +got):\n%s", goldenPath, diff)
				}
			})
		}
	}
}
