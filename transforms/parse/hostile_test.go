package parse

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile.golden")

// TestHostileMessages sends every format's hostile messages through what
// Lines and Messages run per message (payload limit, parse, validate): each
// message is counted once, as ticks, control, blank or one dead letter whose
// error is one bounded line. testdata/hostile.golden lists the outcome of
// each (go test -run Hostile -update rewrites it).
func TestHostileMessages(t *testing.T) {
	if diff := cmp.Diff(feedformat.Formats(), beamtest.HostileFormats()); diff != "" {
		t.Fatalf("beamtest.HostileMessages lacks a format (-feedformat.Formats +hostile):\n%s", diff)
	}
	var golden strings.Builder
	for _, format := range feedformat.Formats() {
		opts := feedformat.Options{JSONFields: beamtest.HostileJSONFields, CSVColumns: beamtest.HostileCSVColumns}
		for _, h := range beamtest.HostileMessages(format) {
			name := format + "/" + h.Name
			f := &parseFn{Config: Config{Format: format, Options: opts}}
			f.Setup()
			var ticks []tickbeam.Tick
			var dead []tickbeam.DeadLetter
			f.handle(h.Payload, nil, func(_ beam.EventTime, tk tickbeam.Tick) { ticks = append(ticks, tk) },
				func(d tickbeam.DeadLetter) { dead = append(dead, d) })

			n := f.n
			bearing := int64(0)
			if n.ticks > 0 {
				bearing = 1
			}
			if n.messages != 1 || bearing+n.control+n.blank+n.dead != 1 || int(n.ticks) != len(ticks) || int(n.dead) != len(dead) {
				t.Errorf("%s: counts %+v for %d ticks and %d dead letters: want one message in one bucket", name, n, len(ticks), len(dead))
			}
			var outcome string
			switch {
			case len(dead) == 1:
				d := dead[0]
				if strings.ContainsAny(d.ErrorMessage, "\r\n") || len(d.ErrorMessage) > 600 || d.ErrorMessage == "" {
					t.Errorf("%s: error is not one bounded line (%d bytes): %.300q", name, len(d.ErrorMessage), d.ErrorMessage)
				}
				if len(d.PayloadBytes) > DefaultMaxPayloadBytes {
					t.Errorf("%s: dead letter keeps %d payload bytes", name, len(d.PayloadBytes))
				}
				outcome = d.Stage + ": " + d.ErrorMessage
			case len(ticks) > 0:
				var s []string
				for _, tk := range ticks {
					s = append(s, fmt.Sprintf("%s %s %s price=%v size=%v", tk.Kind, short(tk.Symbol), tk.EventTime.Format(time.RFC3339), tk.Price, tk.Size))
				}
				outcome = "tick " + strings.Join(s, "; ")
			case n.control == 1:
				outcome = "control"
			case n.blank == 1:
				outcome = "blank"
			}
			fmt.Fprintf(&golden, "%s: %s\n", name, outcome)
		}
	}
	path := filepath.Join("testdata", "hostile.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), golden.String()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// short quotes s, cut to its first 24 bytes.
func short(s string) string {
	if len(s) > 24 {
		return strconv.Quote(s[:24]) + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
