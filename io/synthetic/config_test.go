package synthetic

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri  string
		want Config
	}{
		{"synthetic:?symbols=AAPL,MSFT&rate=200&seed=7",
			Config{Symbols: []string{"AAPL", "MSFT"}, Rate: 200, Seed: 7, Paced: true}},
		{"synthetic:?symbols=AAPL",
			Config{Symbols: []string{"AAPL"}, Rate: DefaultRate, Paced: true}},
		{"synthetic://?symbols=BTC-USD,BRK.B,X:Y_Z&rate=0.5&seed=-3",
			Config{Symbols: []string{"BTC-USD", "BRK.B", "X:Y_Z"}, Rate: 0.5, Seed: -3, Paced: true}},
		{"synthetic:?symbols=AAPL&rate=1e6&count=1000&duration=1h30m&start=2024-01-02T09:30:00-05:00&paced=false&vol=0.25",
			Config{Symbols: []string{"AAPL"}, Rate: 1e6, Count: 1000, Duration: 90 * time.Minute,
				Start: time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC), Volatility: 0.25}},
		{"synthetic:?symbols=AAPL&start=2024-01-02T15:30:00.5+01:00",
			Config{Symbols: []string{"AAPL"}, Rate: DefaultRate, Paced: true,
				Start: time.Date(2024, 1, 2, 14, 30, 0, 5e8, time.UTC)}},
		{"synthetic:?symbols=AAPL&start=2024-01-02T15:30:00%2B01:00",
			Config{Symbols: []string{"AAPL"}, Rate: DefaultRate, Paced: true, Start: testStart}},
		{"synthetic:?symbols=S08..S11,AAPL,X7..X7",
			Config{Symbols: []string{"S08", "S09", "S10", "S11", "AAPL", "X7"}, Rate: DefaultRate, Paced: true}},
		{"synthetic:?paced=true&symbols=AAPL%2CMSFT&count=0&duration=0s",
			Config{Symbols: []string{"AAPL", "MSFT"}, Rate: DefaultRate, Paced: true}},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := ParseURI(tc.uri)
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseURI (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct {
		uri, want string
	}{
		{"pubsub:?symbols=AAPL", `synthetic: "pubsub:?symbols=AAPL" does not start with "synthetic:"`},
		{"synthetic:feed?symbols=AAPL", `synthetic: unexpected "feed?symbols=AAPL" before the query in "synthetic:feed?symbols=AAPL"`},
		{"synthetic:?symbols=A%ZZ", `synthetic: bad query in "synthetic:?symbols=A%ZZ": invalid URL escape "%ZZ"`},
		{"synthetic:?symbols=AAPL&speed=3", `synthetic: unknown parameter "speed" (known: count, duration, paced, rate, seed, start, symbols, vol)`},
		{"synthetic:?symbols=AAPL&rate=1&rate=2", `synthetic: parameter "rate" is given 2 times`},
		{"synthetic:", `synthetic: symbols: at least one symbol is required`},
		{"synthetic:?symbols=", `synthetic: symbols: at least one symbol is required`},
		{"synthetic:?symbols=aapl", `synthetic: symbols: "aapl" is not a ticker (1-32 of A-Z 0-9 . : _ -)`},
		{"synthetic:?symbols=AAPL,,MSFT", `synthetic: symbols: "" is not a ticker (1-32 of A-Z 0-9 . : _ -)`},
		{"synthetic:?symbols=AAPL,MSFT,AAPL", `synthetic: symbols: "AAPL" is listed twice`},
		{"synthetic:?symbols=S0..S9,S5", `synthetic: symbols: "S5" is listed twice`},
		{"synthetic:?symbols=S000..S499..S999", `synthetic: symbols: range "S000..S499..S999": not a range (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)`},
		{"synthetic:?symbols=S000..T499", `synthetic: symbols: range "S000..T499": not a range (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)`},
		{"synthetic:?symbols=S0..S10", `synthetic: symbols: range "S0..S10": not a range (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)`},
		{"synthetic:?symbols=AAPL..MSFT", `synthetic: symbols: range "AAPL..MSFT": not a range (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)`},
		{"synthetic:?symbols=S9..S1", `synthetic: symbols: range "S9..S1": its first number is past its last (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)`},
		{"synthetic:?symbols=S000000..S999999", `synthetic: symbols: range "S000000..S999999": 1000000 symbols, at most 100000 (a range is FIRST..LAST, the same prefix and a number of the same width, e.g. S000..S499)`},
		{"synthetic:?symbols=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", `synthetic: symbols: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456" is not a ticker (1-32 of A-Z 0-9 . : _ -)`},
		{"synthetic:?symbols=A&rate=fast", `synthetic: rate: "fast" is not a number`},
		{"synthetic:?symbols=A&rate=0", `synthetic: rate: must be > 0 and <= 1e6 ticks per second, got 0`},
		{"synthetic:?symbols=A&rate=-5", `synthetic: rate: must be > 0 and <= 1e6 ticks per second, got -5`},
		{"synthetic:?symbols=A&rate=1000001", `synthetic: rate: must be > 0 and <= 1e6 ticks per second, got 1.000001e+06`},
		{"synthetic:?symbols=A&rate=NaN", `synthetic: rate: must be > 0 and <= 1e6 ticks per second, got NaN`},
		{"synthetic:?symbols=A&rate=Inf", `synthetic: rate: must be > 0 and <= 1e6 ticks per second, got +Inf`},
		{"synthetic:?symbols=A&seed=1.5", `synthetic: seed: "1.5" is not a 64-bit integer`},
		{"synthetic:?symbols=A&count=many", `synthetic: count: "many" is not a 64-bit integer`},
		{"synthetic:?symbols=A&count=-1", `synthetic: count: must be >= 0, got -1`},
		{"synthetic:?symbols=A&duration=10", `synthetic: duration: "10" is not a Go duration such as 90s or 1h30m`},
		{"synthetic:?symbols=A&duration=-1s", `synthetic: duration: must be >= 0, got -1s`},
		{"synthetic:?symbols=A&start=2024-01-02", `synthetic: start: "2024-01-02" is not an RFC 3339 time such as 2024-01-02T15:04:05Z`},
		{"synthetic:?symbols=A&start=1800-01-01T00:00:00Z", `synthetic: start: must be in the years 1900 to 2199, got 1800-01-01T00:00:00Z`},
		{"synthetic:?symbols=A&paced=yes", `synthetic: paced: "yes" is neither true nor false`},
		{"synthetic:?symbols=A&vol=high", `synthetic: vol: "high" is not a number`},
		{"synthetic:?symbols=A&vol=0", `synthetic: vol: must be > 0 and <= 10, got 0`},
		{"synthetic:?symbols=A&vol=-0.1", `synthetic: vol: must be > 0 and <= 10, got -0.1`},
		{"synthetic:?symbols=A&vol=11", `synthetic: vol: must be > 0 and <= 10, got 11`},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			cfg, err := ParseURI(tc.uri)
			if err == nil {
				t.Fatalf("ParseURI = %+v, want error %q", cfg, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("ParseURI error:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
