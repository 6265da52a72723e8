package bars

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam/internal/optcheck"
)

// Resolution is the length of a bar's window, 1s to 1d, dividing a day evenly
// so that bars of every resolution align to UTC midnight.
type Resolution time.Duration

// ParseResolution reads forms like "1s", "15s", "1m", "5m", "1h", "4h", "1d".
func ParseResolution(s string) (Resolution, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("bar resolution %q: want a number and a unit s, m, h or d, like 1m", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bar resolution %q: want a positive whole number before the unit, like 5m", s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("bar resolution %q: unknown unit %q (want s, m, h or d)", s, s[len(s)-1:])
	}
	d := time.Duration(n) * unit
	if d < time.Second || d > 24*time.Hour {
		return 0, fmt.Errorf("bar resolution %q: must be between 1s and 1d", s)
	}
	if (24*time.Hour)%d != 0 {
		return 0, fmt.Errorf("bar resolution %q: must divide a day evenly so bars align to midnight UTC", s)
	}
	return Resolution(d), nil
}

// ParseResolutions reads a comma-separated list, e.g. "1m,5m,1h". Duplicates
// are an error: they would emit the same bars twice.
func ParseResolutions(list string) ([]Resolution, error) {
	var out []Resolution
	seen := map[Resolution]bool{}
	for _, part := range strings.Split(list, ",") {
		r, err := ParseResolution(part)
		if err != nil {
			return nil, err
		}
		if seen[r] {
			return nil, fmt.Errorf("bar resolution %s listed twice", r)
		}
		seen[r] = true
		out = append(out, r)
	}
	return out, nil
}

// validate checks what ParseResolution checks of a Resolution built
// otherwise: whole seconds from 1s to 1d, dividing a day.
func (r Resolution) validate() error { return optcheck.DayDivisor("bar resolution", r.Duration()) }

// Duration returns the window length.
func (r Resolution) Duration() time.Duration { return time.Duration(r) }

// String is the canonical form, the largest whole unit: 90s -> "90s", 120s -> "2m".
func (r Resolution) String() string {
	d := time.Duration(r)
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.s
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// GCD is the longest duration that divides every resolution: windows of that
// length, aligned to the epoch, each lie inside one window of every resolution.
func GCD(rs []Resolution) time.Duration {
	var g time.Duration
	for _, r := range rs {
		a, b := g, r.Duration()
		for b != 0 {
			a, b = b, a%b
		}
		g = a
	}
	return g
}
