package calendar

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSessions(t *testing.T) {
	all := []SessionKind{Pre, Regular, After}
	for _, tc := range []struct {
		in   string
		want []SessionKind
		err  string
	}{
		{in: "", want: all},
		{in: "all", want: all},
		{in: " ALL ", want: all},
		{in: "pre,regular", want: []SessionKind{Pre, Regular}},
		{in: "regular, pre ,pre", want: []SessionKind{Pre, Regular}},
		{in: "after-hours", want: []SessionKind{After}},
		{in: "RTH", want: []SessionKind{Regular}},
		{in: "premarket,post", want: []SessionKind{Pre, After}},
		{in: "pre,,regular", err: `calendar: unknown session "" in "pre,,regular" (want pre, regular, after or all)`},
		{in: "lunch", err: `calendar: unknown session "lunch" in "lunch" (want pre, regular, after or all)`},
		{in: "pre,all", err: `calendar: unknown session "all" in "pre,all" (want pre, regular, after or all)`},
	} {
		got, err := ParseSessions(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseSessions(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSessions(%q): %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseSessions(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	// The result is the caller's to change.
	a, _ := ParseSessions("all")
	a[0] = After
	if b, _ := ParseSessions("all"); b[0] != Pre {
		t.Error("ParseSessions shares its result")
	}
}

func TestSessionKindText(t *testing.T) {
	if got := SessionKind(0).String(); got != "SessionKind(0)" {
		t.Errorf("String() = %q", got)
	}
	if _, err := SessionKind(9).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid kind succeeded")
	}
	var k SessionKind
	if err := k.UnmarshalText([]byte("after")); err != nil || k != After {
		t.Errorf("UnmarshalText = %v, %v", k, err)
	}
	err := k.UnmarshalText([]byte("night"))
	if want := `calendar: unknown session "night" (want pre, regular or after)`; err == nil || err.Error() != want {
		t.Errorf("UnmarshalText error %v, want %q", err, want)
	}
}

func TestClock(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"00:00", true}, {"09:30", true}, {"24:00", true}, {"23:59:59", true},
		{"24:01", false}, {"9:30", false}, {"09:60", false}, {"25:00", false},
		{"09:30:60", false}, {"0930", false}, {"09:3a", false}, {"", false},
	} {
		d, ok := parseClock(tc.in)
		if ok != tc.ok {
			t.Errorf("parseClock(%q) ok = %v", tc.in, ok)
		}
		if ok && clock(d) != tc.in {
			t.Errorf("clock(parseClock(%q)) = %q", tc.in, clock(d))
		}
	}
}

func TestSessionContains(t *testing.T) {
	open := time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)
	s := Session{Kind: Regular, Date: Date{2026, 1, 15}, Open: open, Close: open.Add(6*time.Hour + 30*time.Minute)}
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{open.Add(-time.Nanosecond), false},
		{open, true},
		{s.Close.Add(-time.Nanosecond), true},
		{s.Close, false},
	} {
		if got := s.Contains(tc.t); got != tc.want {
			t.Errorf("Contains(%v) = %v", tc.t, got)
		}
	}
	if got, want := s.String(), "2026-01-15 regular 2026-01-15T14:30:00Z-2026-01-15T21:00:00Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
