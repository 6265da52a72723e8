package alerts

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam/calendar"
)

// Sessions restricts a rule to the hours an exchange trades: the sessions of
// Kinds (all of them when empty) on the trading days of Calendar, cut to the
// exchange-local time range Hours when it is set. With Hours and no Kinds the
// rule is active over Hours on every trading day, whatever the calendar's own
// sessions: seed 003's 08:50-16:00 KST on XKRX trading days.
type Sessions struct {
	Calendar string                 `json:"calendar"`
	Kinds    []calendar.SessionKind `json:"kinds,omitempty"`
	// Hours is "HH:MM-HH:MM", exchange-local, start before end, e.g. "08:50-16:00".
	Hours string `json:"hours,omitempty"`
}

// Validate checks the calendar name and the hours.
func (s *Sessions) Validate() error {
	if errs := s.problems(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (s *Sessions) problems() []fieldError {
	var errs []fieldError
	if s.Calendar == "" {
		errs = append(errs, fieldError{"calendar", fmt.Sprintf("required (one of %s)", strings.Join(calendar.Names(), ", "))})
	} else if _, err := calendar.Lookup(s.Calendar); err != nil {
		errs = append(errs, fieldError{"calendar", fmt.Sprintf("unknown calendar %q (want one of %s)", s.Calendar, strings.Join(calendar.Names(), ", "))})
	}
	if s.Hours != "" {
		if _, _, err := parseHours(s.Hours); err != nil {
			errs = append(errs, fieldError{"hours", err.Error()})
		}
	}
	return errs
}

// parseHours parses "HH:MM-HH:MM" into offsets from local midnight.
func parseHours(s string) (from, to time.Duration, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want HH:MM-HH:MM, like 08:50-16:00", s)
	}
	if from, err = parseClock(a); err != nil {
		return 0, 0, fmt.Errorf("%q: %v", s, err)
	}
	if to, err = parseClock(b); err != nil {
		return 0, 0, fmt.Errorf("%q: %v", s, err)
	}
	if from >= to {
		return 0, 0, fmt.Errorf("%q: start must be before end (ranges do not cross midnight)", s)
	}
	return from, to, nil
}

func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q (want HH:MM from 00:00 to 24:00)", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// sessionSchedule answers when a rule is active. A nil *sessionSchedule is always open.
type sessionSchedule struct {
	cal      *calendar.Calendar
	kinds    []calendar.SessionKind
	hasHours bool
	from, to time.Duration
}

// maxScanDays bounds the search for the next open instant.
const maxScanDays = 400

// newSchedule builds the sessionSchedule of s; nil s gives the nil (always open) one.
func newSchedule(s *Sessions) (*sessionSchedule, error) {
	if s == nil {
		return nil, nil
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("alerts: sessions: %w", err)
	}
	cal, _ := calendar.Lookup(s.Calendar)
	sc := &sessionSchedule{cal: cal, kinds: s.Kinds}
	if s.Hours != "" {
		sc.hasHours = true
		sc.from, sc.to, _ = parseHours(s.Hours)
	}
	return sc, nil
}

// Calendar is the schedule's calendar; nil for the nil sessionSchedule.
func (sc *sessionSchedule) Calendar() *calendar.Calendar {
	if sc == nil {
		return nil
	}
	return sc.cal
}

type span struct{ start, end time.Time }

// at is the instant of wall-clock offset off on d in the calendar's zone.
func (sc *sessionSchedule) at(d calendar.Date, off time.Duration) time.Time {
	s := int(off / time.Second)
	return time.Date(d.Year, d.Month, d.Day, s/3600, s/60%60, s%60, 0, sc.cal.Location())
}

// spans returns the open spans of local date d in order, abutting spans merged.
func (sc *sessionSchedule) spans(d calendar.Date) []span {
	if !sc.cal.IsTradingDay(d) {
		return nil
	}
	var out []span
	add := func(a, b time.Time) {
		if !a.Before(b) {
			return
		}
		if n := len(out); n > 0 && !out[n-1].end.Before(a) {
			if b.After(out[n-1].end) {
				out[n-1].end = b
			}
			return
		}
		out = append(out, span{a, b})
	}
	if sc.hasHours && len(sc.kinds) == 0 {
		add(sc.at(d, sc.from), sc.at(d, sc.to))
		return out
	}
	var lo, hi time.Time
	if sc.hasHours {
		lo, hi = sc.at(d, sc.from), sc.at(d, sc.to)
	}
	ss := sc.cal.Sessions(d)
	sort.Slice(ss, func(i, j int) bool { return ss[i].Open.Before(ss[j].Open) })
	for _, s := range ss {
		if len(sc.kinds) > 0 && !hasKind(sc.kinds, s.Kind) {
			continue
		}
		a, b := s.Open, s.Close
		if sc.hasHours {
			if a.Before(lo) {
				a = lo
			}
			if b.After(hi) {
				b = hi
			}
		}
		add(a, b)
	}
	return out
}

func hasKind(ks []calendar.SessionKind, k calendar.SessionKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// IsOpen reports whether the rule is active at t.
func (sc *sessionSchedule) IsOpen(t time.Time) bool {
	if sc == nil {
		return true
	}
	for _, sp := range sc.spans(calendar.DateOf(t.In(sc.cal.Location()))) {
		if !t.Before(sp.start) && t.Before(sp.end) {
			return true
		}
	}
	return false
}

// nextOpen returns the first open instant at or after t, zero if none within
// maxScanDays.
func (sc *sessionSchedule) nextOpen(t time.Time) time.Time {
	if sc == nil {
		return t
	}
	d := calendar.DateOf(t.In(sc.cal.Location()))
	for range maxScanDays {
		for _, sp := range sc.spans(d) {
			if sp.end.After(t) {
				if sp.start.After(t) {
					return sp.start
				}
				return t
			}
		}
		d = d.AddDays(1)
	}
	return time.Time{}
}

// openThrough reports whether the schedule is open at every instant of
// [from, until]; when it is not, end is the first closed instant after from.
// from must be open.
func (sc *sessionSchedule) openThrough(from, until time.Time) (ok bool, end time.Time) {
	if sc == nil {
		return true, time.Time{}
	}
	end = from
	d := calendar.DateOf(from.In(sc.cal.Location()))
	for range maxScanDays {
		for _, sp := range sc.spans(d) {
			if sp.end.After(end) && !sp.start.After(end) {
				end = sp.end
			}
		}
		if end.After(until) {
			return true, end
		}
		// The open period goes on into the next day only if it ends at
		// that day's first span's start (a 24-hour market).
		next := d.AddDays(1)
		if sps := sc.spans(next); len(sps) == 0 || !sps[0].start.Equal(end) {
			return false, end
		}
		d = next
	}
	return true, end
}

// StaleDue is when a feed silent since last becomes stale: the first instant
// at which the schedule has been open continuously for silence with no data.
// The count starts at last, or at the next open when last is outside the
// schedule, and restarts at each open: a quiet lunch break, night, weekend or
// holiday never counts. The zero Time means never (the schedule does not open
// within maxScanDays).
func (sc *sessionSchedule) StaleDue(last time.Time, silence time.Duration) time.Time {
	o := last
	for range 4 * maxScanDays {
		if o = sc.nextOpen(o); o.IsZero() {
			return time.Time{}
		}
		due := o.Add(silence)
		ok, end := sc.openThrough(o, due)
		if ok {
			return due
		}
		o = end
	}
	return time.Time{}
}
