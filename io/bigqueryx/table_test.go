package bigqueryx

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTable(t *testing.T) {
	long := strings.Repeat("t", 1024)
	for _, c := range []struct {
		in      string
		want    Table
		wantErr string
	}{
		{in: "tickbeam-test.market.bars_1m", want: Table{"tickbeam-test", "market", "bars_1m"}},
		{in: "tickbeam-test:market.bars_1m", want: Table{"tickbeam-test", "market", "bars_1m"}},
		{in: "my-project.Market_2026.bars-1m", want: Table{"my-project", "Market_2026", "bars-1m"}},
		{in: "market.bars", wantErr: "want PROJECT.DATASET.TABLE"},
		{in: "a.b.c.d", wantErr: "want PROJECT.DATASET.TABLE"},
		{in: "proj:market.bars.x", wantErr: "want PROJECT.DATASET.TABLE"},
		{in: "proj:market", wantErr: "want PROJECT.DATASET.TABLE"},
		{in: "", wantErr: "want PROJECT.DATASET.TABLE"},
		{in: "Proj-123.market.bars", wantErr: `project "Proj-123"`},
		{in: "short.market.bars", wantErr: `project "short"`},
		{in: "1project.market.bars", wantErr: `project "1project"`},
		{in: "project-.market.bars", wantErr: `project "project-"`},
		{in: "my-project.mar-ket.bars", wantErr: `dataset "mar-ket"`},
		{in: "my-project..bars", wantErr: `dataset ""`},
		{in: "my-project.market.", wantErr: `table ""`},
		{in: "my-project.market.bars` ; DROP TABLE x; --", wantErr: "table"},
		{in: "my-project.market.bars 1m", wantErr: `table "bars 1m"`},
		{in: "my-project.market.bars$20260115", wantErr: `table "bars$20260115"`},
		{in: "my-project.market." + long, wantErr: "too long to name its error table"},
	} {
		got, err := ParseTable(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseTable(%q) error = %v, want containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTable(%q): %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ParseTable(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestTableNames(t *testing.T) {
	tb := Table{"tickbeam-test", "market", "bars"}
	for _, c := range []struct{ got, want string }{
		{tb.String(), "tickbeam-test.market.bars"},
		{tb.SQL(), "`tickbeam-test.market.bars`"},
		{tb.ErrorTable().String(), "tickbeam-test.market.bars_error_records"},
		{tb.storageParent(), "projects/tickbeam-test/datasets/market/tables/bars"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if !tb.ErrorTable().isErrorTable() || tb.isErrorTable() {
		t.Error("isErrorTable wrong")
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		opts    Options
		want    Options
		wantErr string
	}{
		{name: "cloud", opts: Options{}, want: Options{}},
		{name: "explicit", opts: Options{Endpoint: "http://127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"},
			want: Options{Endpoint: "http://127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"}},
		{name: "env", env: map[string]string{EnvEndpoint: "127.0.0.1:9050", EnvStorageEndpoint: "127.0.0.1:9060"},
			want: Options{Endpoint: "127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"}},
		{name: "explicit wins", env: map[string]string{EnvEndpoint: "127.0.0.1:1", EnvStorageEndpoint: "127.0.0.1:2"},
			opts: Options{Endpoint: "127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"},
			want: Options{Endpoint: "127.0.0.1:9050", StorageEndpoint: "127.0.0.1:9060"}},
		{name: "half", opts: Options{Endpoint: "127.0.0.1:9050"}, wantErr: "set both"},
		{name: "half env", env: map[string]string{EnvStorageEndpoint: "127.0.0.1:9060"}, wantErr: "set both"},
		{name: "bad scheme", opts: Options{Endpoint: "ftp://x:1", StorageEndpoint: "x:2"}, wantErr: "Endpoint: want"},
		{name: "userinfo", opts: Options{Endpoint: "http://user:secret@x:1", StorageEndpoint: "x:2"}, wantErr: "must not carry credentials"},
		{name: "grpc no port", opts: Options{Endpoint: "x:1", StorageEndpoint: "x"}, wantErr: "StorageEndpoint: want HOST:PORT"},
		{name: "bad project", opts: Options{Project: "Bad Project"}, wantErr: "not a valid project id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvEndpoint, c.env[EnvEndpoint])
			t.Setenv(EnvStorageEndpoint, c.env[EnvStorageEndpoint])
			got := c.opts.Resolved()
			err := got.validate()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("validate() = %v, want containing %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q leaks the credentials", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("Resolved() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9050":         "http://127.0.0.1:9050",
		"http://127.0.0.1:9050/": "http://127.0.0.1:9050",
		"https://bq.example:443": "https://bq.example:443",
	} {
		got, err := httpEndpoint(in)
		if err != nil || got != want {
			t.Errorf("httpEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
