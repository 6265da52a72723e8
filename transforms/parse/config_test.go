package parse

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/feedformat"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero", Config{}, ""},
		{"ok", Config{Format: "csv", Options: feedformat.Options{CSVColumns: []string{"event_time", "symbol", "price"}}, MaxPayloadBytes: 10, Limits: feedformat.Limits{MaxAhead: time.Hour}}, ""},
		{"format", Config{Format: "nasdaq"}, fmt.Sprintf("parse: unknown format %q (known: %v)", "nasdaq", feedformat.Formats())},
		{"format options", Config{Format: "json"}, `parse: format json: Options.JSONFields is empty: map tick fields to dotted JSON paths, e.g. {"symbol": "s", "price": "p", "event_time": "T"}`},
		{"options", Config{Options: feedformat.Options{Location: "Nowhere/Land"}}, `parse: Options: feedformat: unknown time zone "Nowhere/Land" in Options.Location`},
		{"max payload", Config{MaxPayloadBytes: -1}, "parse: MaxPayloadBytes must be >= 0, got -1"},
		{"max ahead", Config{Limits: feedformat.Limits{MaxAhead: -time.Second}}, "parse: Limits.MaxAhead must be >= 0, got -1s"},
	} {
		var got string
		if err := c.cfg.Validate(); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestTryFormsReturnErrors(t *testing.T) {
	p := beam.NewPipeline()
	s := p.Root()
	lines := beam.Create(s, "x")
	if _, _, err := TryLines(s, lines, Config{}); err == nil || err.Error() != "parse: Lines: Config.Format is required" {
		t.Errorf("TryLines without a format: %v", err)
	}
	if _, _, err := TryBlocks(s, beam.Create(s, []byte("x\n")), Config{}); err == nil || err.Error() != "parse: Blocks: Config.Format is required" {
		t.Errorf("TryBlocks without a format: %v", err)
	}
	if _, _, err := TryBlocks(s, beam.Create(s, []byte("x\n")), Config{Format: "binance", MaxPayloadBytes: -1}); err == nil {
		t.Error("TryBlocks accepted MaxPayloadBytes -1")
	}
	if _, _, err := TryMessages(s, lines, Config{MaxPayloadBytes: -1}); err == nil {
		t.Error("TryMessages accepted MaxPayloadBytes -1")
	}
	if _, err := TryLate(s, lines, Config{Format: "nasdaq"}); err == nil {
		t.Error("TryLate accepted format nasdaq")
	}
}
