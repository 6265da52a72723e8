package tickbeam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The Gap row's JSON names are its BigQuery columns: the golden pins them,
// and the coder must round-trip every field.
func TestGapSchemaAndCoder(t *testing.T) {
	g := Gap{Source: "binance", Symbol: "BTCUSDT", From: at, To: at.Add(2 * time.Second), FromID: "101", ToID: "103", Missing: 3,
		Unit: GapTrades, Filled: true, Recovered: 3, Detail: "backfilled from /api/v3/historicalTrades", DetectedAt: at.Add(3 * time.Second)}
	got, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "gap.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("JSON schema changed (-golden +got):\n%s", diff)
	}
	b, err := encodeGap(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeGap(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g, back); diff != "" {
		t.Errorf("coder round trip (-want +got):\n%s", diff)
	}
	if _, err := decodeGap(b[:len(b)-3]); err == nil {
		t.Error("decodeGap of a truncated row: no error")
	}
}
