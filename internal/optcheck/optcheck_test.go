package optcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func msg(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"non-negative ok", NonNegative("p", F("A", time.Second), F("B", time.Duration(0))), ""},
		{"first negative", NonNegative("p", F("A", time.Second), F("B", -time.Second), F("C", -time.Minute)), "p: B must be >= 0, got -1s"},
		{"negative int", NonNegative("p", F("N", -2)), "p: N must be >= 0, got -2"},
		{"required ok", Required("p", F("Name", "x")), ""},
		{"required", Required("p", F("Name", "x"), F("Topic", "")), "p: Topic is required"},
		{"first", First(nil, errors.New("a"), errors.New("b")), "a"},
		{"first nil", First(nil, nil), ""},
		{"wrap", Wrap("p", "Calendar", errors.New("bad")), "p: Calendar: bad"},
		{"wrap nil", Wrap("p", "Calendar", nil), ""},
		{"day divisor", DayDivisor("resolution", 5*time.Minute), ""},
		{"day divisor range", DayDivisor("resolution", 48*time.Hour), "resolution 48h0m0s: must be between 1s and 24h"},
		{"day divisor seconds", DayDivisor("resolution", 1500*time.Millisecond), "resolution 1.5s: must be whole seconds"},
		{"day divisor divides", DayDivisor("resolution", 7*time.Hour), "resolution 7h0m0s: must divide a day evenly"},
		{"errorf", Errorf("p", "Format", "%q is unknown", "x"), `p: Format "x" is unknown`},
	} {
		if diff := cmp.Diff(c.want, msg(c.err)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}
