package calendar

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// SessionKind names a trading session of the day.
type SessionKind uint8

const (
	// Pre is the pre-market session before the regular open.
	Pre SessionKind = iota + 1
	// Regular is the exchange's core session, from the opening auction to
	// the close.
	Regular
	// After is the after-hours session following the regular close.
	After
)

// allKinds lists every SessionKind in the order of a trading day.
var allKinds = []SessionKind{Pre, Regular, After}

var kindNames = [...]string{Pre: "pre", Regular: "regular", After: "after"}

// String returns "pre", "regular" or "after".
func (k SessionKind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("SessionKind(%d)", uint8(k))
}

func (k SessionKind) valid() bool { return k >= Pre && k <= After }

// ParseSessionKind parses one session name: "pre" (also "premarket",
// "pre-market"), "regular" (also "rth", "core") or "after" (also
// "afterhours", "after-hours", "post", "postmarket"), in any case.
func ParseSessionKind(s string) (SessionKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pre", "premarket", "pre-market":
		return Pre, nil
	case "regular", "rth", "core":
		return Regular, nil
	case "after", "afterhours", "after-hours", "post", "postmarket", "post-market":
		return After, nil
	}
	return 0, fmt.Errorf("calendar: unknown session %q (want pre, regular or after)", s)
}

// ParseSessions parses a comma-separated session list such as the
// "pre,regular" of a --sessions flag. "all" and the empty string mean every
// session. The result is in trading-day order without duplicates.
func ParseSessions(s string) ([]SessionKind, error) {
	if t := strings.ToLower(strings.TrimSpace(s)); t == "" || t == "all" {
		return slices.Clone(allKinds), nil
	}
	var set kindSet
	for part := range strings.SplitSeq(s, ",") {
		k, err := ParseSessionKind(part)
		if err != nil {
			return nil, fmt.Errorf("calendar: unknown session %q in %q (want pre, regular, after or all)", strings.TrimSpace(part), s)
		}
		set |= 1 << k
	}
	var kinds []SessionKind
	for _, k := range allKinds {
		if set.has(k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// MarshalText encodes k by its name.
func (k SessionKind) MarshalText() ([]byte, error) {
	if !k.valid() {
		return nil, fmt.Errorf("calendar: invalid %v", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a name accepted by ParseSessionKind.
func (k *SessionKind) UnmarshalText(b []byte) error {
	v, err := ParseSessionKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// kindSet is a set of SessionKinds; the zero set means all of them, which is
// what a query with no kinds asks for.
type kindSet uint8

func setOf(kinds []SessionKind) kindSet {
	var s kindSet
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k SessionKind) bool { return s == 0 || s&(1<<k) != 0 }

// SessionHours is one session of a trading day in exchange-local wall-clock
// time: it opens Open after local midnight and closes Close after it, Close
// excluded. Close may be 24h, the next midnight.
type SessionHours struct {
	Kind        SessionKind
	Open, Close time.Duration
}

// String returns e.g. "regular 09:30-16:00".
func (h SessionHours) String() string {
	return fmt.Sprintf("%v %s-%s", h.Kind, clock(h.Open), clock(h.Close))
}

// Session is one session of one trading day as instants: [Open, Close).
type Session struct {
	Kind SessionKind
	// Date is the exchange-local trading day the session belongs to.
	Date        Date
	Open, Close time.Time
}

// Contains reports whether t is in [s.Open, s.Close).
func (s Session) Contains(t time.Time) bool {
	return !t.Before(s.Open) && t.Before(s.Close)
}

// String returns e.g. "2026-01-15 regular 2026-01-15T14:30:00Z-2026-01-15T21:00:00Z".
func (s Session) String() string {
	return fmt.Sprintf("%v %v %s-%s", s.Date, s.Kind, s.Open.Format(time.RFC3339), s.Close.Format(time.RFC3339))
}

// clock formats a time of day as "09:30", or "09:30:15" when it has seconds.
func clock(d time.Duration) string {
	s := int(d / time.Second)
	if s%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/3600, s/60%60)
}

// parseClock parses "HH:MM" or "HH:MM:SS", from 00:00 to 24:00.
func parseClock(s string) (time.Duration, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var v [3]int
	for i, p := range parts {
		if len(p) != 2 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' {
			return 0, false
		}
		v[i] = int(p[0]-'0')*10 + int(p[1]-'0')
	}
	h, m, sec := v[0], v[1], v[2]
	if h > 24 || m > 59 || sec > 59 || (h == 24 && (m != 0 || sec != 0)) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, true
}
