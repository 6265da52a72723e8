package bigqueryx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOptionsTypesValidate(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	t.Setenv(EnvStorageEndpoint, "")
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"write zero", WriteOptions{}.Validate(), ""},
		{"write ok", WriteOptions{Shards: 8, MaxBatchRows: 100, MaxBatchBytes: 1 << 20, MaxRetries: 0, InitialBackoff: time.Millisecond, MaxBackoff: time.Second, MaxOutage: time.Minute, MaxHeldRows: 10, Window: time.Minute}.Validate(), ""},
		{"shards", WriteOptions{Shards: 10001}.Validate(), "bigqueryx: Shards 10001: want 1..10000"},
		{"batch rows", WriteOptions{MaxBatchRows: -1}.Validate(), "bigqueryx: MaxBatchRows -1 < 1"},
		{"batch bytes", WriteOptions{MaxBatchBytes: 11 << 20}.Validate(), "bigqueryx: MaxBatchBytes 11534336: want at most 9437184 (BigQuery takes 10 MB per request)"},
		{"retries", WriteOptions{MaxRetries: -1}.Validate(), "bigqueryx: MaxRetries -1 < 0"},
		{"backoff", WriteOptions{InitialBackoff: time.Minute, MaxBackoff: time.Second}.Validate(), "bigqueryx: backoff 1m0s..1s: want 0 <= InitialBackoff <= MaxBackoff"},
		{"outage", WriteOptions{MaxOutage: -time.Second}.Validate(), "bigqueryx: MaxOutage -1s < 0"},
		{"held", WriteOptions{MaxHeldRows: -1}.Validate(), "bigqueryx: MaxHeldRows -1 < 0"},
		{"window", WriteOptions{Window: time.Microsecond}.Validate(), "bigqueryx: Window 1µs: want a non-negative whole number of milliseconds"},
		{"write table", WriteOptions{TableOptions: TableOptions{Create: 7}}.Validate(), "bigqueryx: Create 7: want CreateIfNeeded or CreateNever"},
		{"table zero", TableOptions{}.Validate(), ""},
		{"table ok", TableOptions{Create: CreateNever, ClusterBy: []string{"a", "b", "c", "d"}, PartitionColumn: "day", Location: "US"}.Validate(), ""},
		{"table project", TableOptions{Options: Options{Project: "Bad Project"}}.Validate(), `bigqueryx: project "Bad Project" is not a valid project id`},
		{"table cluster", TableOptions{ClusterBy: []string{"a", "b", "c", "d", "e"}}.Validate(), "bigqueryx: 5 clustering columns, BigQuery allows 4"},
		{"external", ExternalOptions{Gzip: true}.Validate(), ""},
	} {
		var got string
		if c.err != nil {
			got = c.err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}
