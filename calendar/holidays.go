package calendar

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Holiday is a date off an exchange's usual schedule: a full closure, or a
// day of special hours such as an early close or a late open.
type Holiday struct {
	Date Date   `json:"date"`
	Name string `json:"name,omitempty"`
	// Hours are all the sessions of a special-hours day; nil when the
	// exchange is closed all day.
	Hours []SessionHours `json:"hours,omitempty"`
}

// Closed reports whether the exchange does not trade at all on h.Date.
func (h Holiday) Closed() bool { return len(h.Hours) == 0 }

// String returns e.g. "2026-01-01 New Year's Day (closed)" or
// "2026-11-27 Day after Thanksgiving (pre 04:00-09:30, regular 09:30-13:00, after 13:00-17:00)".
func (h Holiday) String() string {
	hours := "closed"
	if !h.Closed() {
		parts := make([]string, len(h.Hours))
		for i, s := range h.Hours {
			parts[i] = s.String()
		}
		hours = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%v %s (%s)", h.Date, h.Name, hours)
}

// WithHolidays returns a copy of c with hs added. A holiday replaces the one
// c lists on the same date, so a user can correct a date or turn a closure
// into an early close.
func (c *Calendar) WithHolidays(hs ...Holiday) (*Calendar, error) {
	seen := make(map[Date]bool, len(hs))
	for _, h := range hs {
		if seen[h.Date] {
			return nil, fmt.Errorf("calendar: %s: holiday %v listed twice", c.name, h.Date)
		}
		seen[h.Date] = true
	}
	cfg := c.Config()
	cfg.Holidays = slices.DeleteFunc(cfg.Holidays, func(h Holiday) bool { return seen[h.Date] })
	cfg.Holidays = append(cfg.Holidays, hs...)
	return New(cfg)
}

// LoadHolidays returns a copy of c with the holidays of a holiday list added,
// as WithHolidays does. The list is text, one date a line:
//
//	# comment
//	2026-01-01 New Year's Day
//	2026-11-27 early 13:00 after 13:00-17:00 Day after Thanksgiving
//
// A date alone (with its name) closes the exchange all day. Between the date
// and the name, lowercase modifiers give a day special hours, starting from
// the usual ones and applied left to right:
//
//	open                          the usual hours (undoes a listed closure)
//	early HH:MM                   the regular session closes at HH:MM
//	late HH:MM                    the regular session opens at HH:MM
//	pre|regular|after HH:MM-HH:MM that session's hours this day
//	pre|regular|after none        no such session this day
//
// Times are the exchange's wall clock, 00:00 to 24:00. Errors name the line:
// "calendar: line 3: invalid date \"2026-02-30\" (want YYYY-MM-DD)".
func (c *Calendar) LoadHolidays(r io.Reader) (*Calendar, error) {
	return c.loadHolidays(r, "")
}

// LoadHolidayFile is LoadHolidays on the file at path; errors name the file
// and line, as in "calendar: extra.txt:3: …".
func (c *Calendar) LoadHolidayFile(path string) (*Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	defer f.Close()
	return c.loadHolidays(f, path)
}

func (c *Calendar) loadHolidays(r io.Reader, source string) (*Calendar, error) {
	hs, err := parseHolidays(r, source, c.hours)
	if err != nil {
		return nil, err
	}
	return c.WithHolidays(hs...)
}

// ParseError is an error on one line of a holiday list.
type ParseError struct {
	Source string // file name; empty for LoadHolidays
	Line   int    // 1-based
	Err    error
}

func (e *ParseError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("calendar: %s:%d: %v", e.Source, e.Line, e.Err)
	}
	return fmt.Sprintf("calendar: line %d: %v", e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// parseHolidays reads a holiday list, resolving special hours against the
// usual ones.
func parseHolidays(r io.Reader, source string, usual []SessionHours) ([]Holiday, error) {
	var hs []Holiday
	lineOf := make(map[Date]int)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		h, err := parseHolidayLine(line, usual)
		if err == nil {
			if first, dup := lineOf[h.Date]; dup {
				err = fmt.Errorf("%v is already listed on line %d", h.Date, first)
			}
		}
		if err != nil {
			return nil, &ParseError{Source: source, Line: n, Err: err}
		}
		lineOf[h.Date] = n
		hs = append(hs, h)
	}
	if err := sc.Err(); err != nil {
		if source == "" {
			source = "holidays"
		}
		return nil, fmt.Errorf("calendar: reading %s: %w", source, err)
	}
	return hs, nil
}

func parseHolidayLine(line string, usual []SessionHours) (Holiday, error) {
	f := strings.Fields(line)
	d, err := ParseDate(f[0])
	if err != nil {
		return Holiday{}, err
	}
	h := Holiday{Date: d}
	var hours []SessionHours // nil until a modifier changes the usual hours
	i := 1
	for i < len(f) {
		kw := f[i]
		kind, isKind := modifierKind(kw)
		if kw != "open" && kw != "early" && kw != "late" && !isKind {
			break // the name begins
		}
		if hours == nil {
			hours = slices.Clone(usual)
		}
		if kw == "open" {
			i++
			continue
		}
		if i+1 == len(f) {
			if isKind {
				return Holiday{}, fmt.Errorf("%s: missing hours", kw)
			}
			return Holiday{}, fmt.Errorf("%s: missing time", kw)
		}
		if isKind {
			hours, err = setSession(hours, kind, f[i+1])
		} else {
			hours, err = moveRegular(hours, kw, f[i+1])
		}
		if err != nil {
			return Holiday{}, err
		}
		i += 2
	}
	h.Name = strings.Join(f[i:], " ")
	if hours != nil {
		if hours, err = checkHours(hours); err != nil {
			return Holiday{}, err
		}
		if len(hours) == 0 {
			return Holiday{}, errors.New("no session left (write the date alone to close the exchange all day)")
		}
		h.Hours = hours
	}
	return h, nil
}

// modifierKind returns the session a modifier keyword names. Keywords are
// lowercase only, so that a name such as "After Christmas" stays a name.
func modifierKind(kw string) (SessionKind, bool) {
	switch kw {
	case "pre":
		return Pre, true
	case "regular":
		return Regular, true
	case "after":
		return After, true
	}
	return 0, false
}

// moveRegular applies "early HH:MM" (the last regular session's close) or
// "late HH:MM" (the first regular session's open).
func moveRegular(hours []SessionHours, kw, arg string) ([]SessionHours, error) {
	t, ok := parseClock(arg)
	if !ok {
		return nil, fmt.Errorf("%s: invalid time %q (want HH:MM)", kw, arg)
	}
	idx := slices.IndexFunc(hours, func(h SessionHours) bool { return h.Kind == Regular })
	if kw == "early" {
		for j, h := range hours {
			if h.Kind == Regular {
				idx = j
			}
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%s: no regular session to move", kw)
	}
	if kw == "early" {
		hours[idx].Close = t
	} else {
		hours[idx].Open = t
	}
	return hours, nil
}

// setSession applies "KIND HH:MM-HH:MM" or "KIND none".
func setSession(hours []SessionHours, kind SessionKind, arg string) ([]SessionHours, error) {
	idx, n := -1, 0
	for j, h := range hours {
		if h.Kind == kind {
			idx, n = j, n+1
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%v: the usual hours have %d %v sessions; list the day's sessions with WithHolidays instead", kind, n, kind)
	}
	if arg == "none" {
		if idx >= 0 {
			hours = slices.Delete(hours, idx, idx+1)
		}
		return hours, nil
	}
	from, to, ok := strings.Cut(arg, "-")
	o, ok1 := parseClock(from)
	c, ok2 := parseClock(to)
	if !ok || !ok1 || !ok2 {
		return nil, fmt.Errorf("%v: invalid hours %q (want HH:MM-HH:MM or none)", kind, arg)
	}
	s := SessionHours{Kind: kind, Open: o, Close: c}
	if idx < 0 {
		return append(hours, s), nil
	}
	hours[idx] = s
	return hours, nil
}
