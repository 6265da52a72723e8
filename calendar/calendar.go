package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config describes an exchange calendar. New checks it and builds the
// Calendar; (*Calendar).Config returns it back for changes.
type Config struct {
	// Name identifies the calendar, by convention the exchange's ISO 10383
	// market identifier code (MIC) such as "XNYS".
	Name string
	// Location is the exchange's time zone. Session hours are wall-clock
	// times in it, so they follow its daylight-saving changes.
	Location *time.Location
	// Hours are the sessions of a usual trading day, within [00:00, 24:00].
	Hours []SessionHours
	// Weekend lists the days of the week without trading; none for a
	// market that trades every day.
	Weekend []time.Weekday
	// Holidays are the dates off the usual schedule: full closures and days
	// of special hours, at most one per date.
	Holidays []Holiday
}

// A Calendar knows when an exchange trades: its sessions on each trading day,
// its weekends and its holidays. All its queries take instants in any
// location and answer in the exchange's own time.
//
// A Calendar is immutable and safe for concurrent use; methods that change
// something (WithHolidays, LoadHolidays) return a new Calendar. Get one from
// Lookup or New: the zero Calendar is not usable.
type Calendar struct {
	name     string
	loc      *time.Location
	hours    []SessionHours
	weekend  [7]bool
	holidays map[Date]Holiday
}

// maxScanDays bounds the search of NextOpen and NextClose: no exchange closes
// for a year, so a longer search means the sessions asked for never open, or
// never close (CRYPTO).
const maxScanDays = 400

// Validate reports what New would refuse in c: no Name or Location, no
// trading session, sessions outside 00:00-24:00, overlapping or not in
// whole seconds, an invalid weekend day or every day a weekend, a holiday
// with an invalid date, listed twice or with empty special hours. It runs
// New's checks and drops the Calendar.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}

// New checks cfg and returns its Calendar.
func New(cfg Config) (*Calendar, error) {
	if cfg.Name == "" {
		return nil, errors.New("calendar: config has no name")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("calendar: %s: "+format, append([]any{cfg.Name}, args...)...)
	}
	if cfg.Location == nil {
		return nil, fail("no location")
	}
	c := &Calendar{name: cfg.Name, loc: cfg.Location, holidays: make(map[Date]Holiday, len(cfg.Holidays))}
	var err error
	if c.hours, err = checkHours(cfg.Hours); err != nil {
		return nil, fail("hours: %w", err)
	}
	if len(c.hours) == 0 {
		return nil, fail("no trading sessions")
	}
	for _, wd := range cfg.Weekend {
		if wd < time.Sunday || wd > time.Saturday {
			return nil, fail("invalid weekend day %d", wd)
		}
		c.weekend[wd] = true
	}
	if !slices.Contains(c.weekend[:], false) {
		return nil, fail("every day of the week is a weekend day")
	}
	for _, h := range cfg.Holidays {
		if !h.Date.valid() {
			return nil, fail("holiday %q: invalid date %v", h.Name, h.Date)
		}
		if _, dup := c.holidays[h.Date]; dup {
			return nil, fail("holiday %v listed twice", h.Date)
		}
		if h.Hours != nil {
			if h.Hours, err = checkHours(h.Hours); err != nil {
				return nil, fail("holiday %v: %w", h.Date, err)
			}
			if len(h.Hours) == 0 {
				return nil, fail("holiday %v: special hours with no session (leave Hours nil to close the exchange)", h.Date)
			}
		}
		c.holidays[h.Date] = h
	}
	return c, nil
}

// checkHours returns a sorted copy of hs, or why the sessions cannot make a
// trading day.
func checkHours(hs []SessionHours) ([]SessionHours, error) {
	out := slices.Clone(hs)
	slices.SortStableFunc(out, func(a, b SessionHours) int { return int(a.Open - b.Open) })
	for i, h := range out {
		switch {
		case !h.Kind.valid():
			return nil, fmt.Errorf("session %d: invalid kind %v", i, h.Kind)
		case h.Open < 0 || h.Close > 24*time.Hour:
			return nil, fmt.Errorf("%v is outside 00:00-24:00", h)
		case h.Open >= h.Close:
			return nil, fmt.Errorf("%v does not close after it opens", h)
		case h.Open%time.Second != 0 || h.Close%time.Second != 0:
			return nil, fmt.Errorf("%v: hours must be whole seconds", h)
		case i > 0 && h.Open < out[i-1].Close:
			return nil, fmt.Errorf("%v overlaps %v", out[i-1], h)
		}
	}
	return out, nil
}

// Name returns the calendar's name, e.g. "XNYS".
func (c *Calendar) Name() string { return c.name }

// String returns the calendar's name.
func (c *Calendar) String() string { return c.name }

// Location returns the exchange's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Config returns a copy of the calendar's configuration, holidays sorted by
// date.
func (c *Calendar) Config() Config {
	cfg := Config{Name: c.name, Location: c.loc, Hours: slices.Clone(c.hours)}
	for wd, off := range c.weekend {
		if off {
			cfg.Weekend = append(cfg.Weekend, time.Weekday(wd))
		}
	}
	for _, h := range c.holidays {
		h.Hours = slices.Clone(h.Hours)
		cfg.Holidays = append(cfg.Holidays, h)
	}
	slices.SortFunc(cfg.Holidays, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return cfg
}

// Holiday returns the holiday or special-hours day listed for d.
func (c *Calendar) Holiday(d Date) (Holiday, bool) {
	h, ok := c.holidays[d]
	h.Hours = slices.Clone(h.Hours)
	return h, ok
}

// hoursOn returns the sessions of d, nil when the exchange does not trade.
// A listed date wins over the weekend, so a special session can be held on
// a weekend day.
func (c *Calendar) hoursOn(d Date) []SessionHours {
	if h, ok := c.holidays[d]; ok {
		return h.Hours
	}
	if c.weekend[d.Weekday()] {
		return nil
	}
	return c.hours
}

// sessions returns the sessions of d as instants, in order.
func (c *Calendar) sessions(d Date) []Session {
	hs := c.hoursOn(d)
	if len(hs) == 0 {
		return nil
	}
	out := make([]Session, len(hs))
	for i, h := range hs {
		out[i] = Session{Kind: h.Kind, Date: d, Open: c.at(d, h.Open), Close: c.at(d, h.Close)}
	}
	return out
}

// at returns the instant of wall-clock time off on d. It goes through
// time.Date, not midnight plus off, so 09:30 stays 09:30 on the days clocks
// change.
func (c *Calendar) at(d Date, off time.Duration) time.Time {
	s := int(off / time.Second)
	return time.Date(d.Year, d.Month, d.Day, s/3600, s/60%60, s%60, 0, c.loc)
}

// IsTradingDay reports whether the exchange has any session on d.
func (c *Calendar) IsTradingDay(d Date) bool { return len(c.hoursOn(d)) > 0 }

// NextTradingDay returns the first trading day after d.
func (c *Calendar) NextTradingDay(d Date) Date {
	// Ends: New guarantees a day of the week that is not weekend, and the
	// holidays are finitely many.
	for d = d.AddDays(1); !c.IsTradingDay(d); d = d.AddDays(1) {
	}
	return d
}

// PrevTradingDay returns the last trading day before d.
func (c *Calendar) PrevTradingDay(d Date) Date {
	for d = d.AddDays(-1); !c.IsTradingDay(d); d = d.AddDays(-1) {
	}
	return d
}

// Sessions returns the sessions of trading day d in order, nil when the
// exchange does not trade on d.
func (c *Calendar) Sessions(d Date) []Session { return c.sessions(d) }

// DayBounds returns the open of the first session and the close of the last
// session of trading day d; ok is false when the exchange does not trade.
func (c *Calendar) DayBounds(d Date) (start, end time.Time, ok bool) {
	ss := c.sessions(d)
	if len(ss) == 0 {
		return time.Time{}, time.Time{}, false
	}
	return ss[0].Open, ss[len(ss)-1].Close, true
}

// SessionDay returns the exchange-local trading day t belongs to: the day d
// with t in [DayBounds(d)). Pre-market and after-hours instants belong to the
// day of their regular session, and so do the quiet gaps between a day's
// sessions (XKRX between 08:40 and 09:00). ok is false on weekends, holidays
// and overnight, when no trading day is under way.
//
// Daily bars and session metrics key on it so that a day runs from its
// exchange's first session to its last, not from UTC midnight.
func (c *Calendar) SessionDay(t time.Time) (d Date, ok bool) {
	// Sessions lie within their local date, so only t's local date can hold t.
	d = DateOf(t.In(c.loc))
	hs := c.hoursOn(d)
	if len(hs) == 0 || t.Before(c.at(d, hs[0].Open)) || !t.Before(c.at(d, hs[len(hs)-1].Close)) {
		return Date{}, false
	}
	return d, true
}

// SessionAt returns the session open at t.
func (c *Calendar) SessionAt(t time.Time) (Session, bool) {
	d := DateOf(t.In(c.loc))
	for _, h := range c.hoursOn(d) {
		s := Session{Kind: h.Kind, Date: d, Open: c.at(d, h.Open), Close: c.at(d, h.Close)}
		if s.Contains(t) {
			return s, true
		}
	}
	return Session{}, false
}

// IsOpen reports whether a session of one of the kinds is open at t; with no
// kinds, whether any session is.
func (c *Calendar) IsOpen(t time.Time, kinds ...SessionKind) bool {
	s, ok := c.SessionAt(t)
	return ok && setOf(kinds).has(s.Kind)
}

// NextOpen returns the first instant after t at which the exchange opens:
// sessions of the kinds (of any kind when none are given) go from closed to
// open. Sessions that abut, such as XNYS pre-market and regular, make one open
// period, so NextOpen skips the regular open when pre-market is also asked
// for. It skips weekends and holidays and returns the zero Time when the
// sessions never close (CRYPTO) or never open within a year.
func (c *Calendar) NextOpen(t time.Time, kinds ...SessionKind) time.Time {
	set := setOf(kinds)
	var lastClose time.Time
	// Start the day before t's date so that a session ending exactly at the
	// start of t's date (CRYPTO) counts as abutting.
	d := DateOf(t.In(c.loc)).AddDays(-1)
	for range maxScanDays {
		for _, s := range c.sessions(d) {
			if !set.has(s.Kind) {
				continue
			}
			if s.Open.After(t) && !s.Open.Equal(lastClose) {
				return s.Open
			}
			lastClose = s.Close
		}
		d = d.AddDays(1)
	}
	return time.Time{}
}

// NextClose returns the first instant after t at which the exchange closes:
// sessions of the kinds (of any kind when none are given) go from open to
// closed. Abutting sessions make one open period, as for NextOpen. From a
// closed instant it returns the close of the next open period. Early closes
// count. It returns the zero Time when the sessions never close (CRYPTO).
func (c *Calendar) NextClose(t time.Time, kinds ...SessionKind) time.Time {
	set := setOf(kinds)
	var end time.Time // close of the open period under way after t
	d := DateOf(t.In(c.loc))
	for range maxScanDays {
		for _, s := range c.sessions(d) {
			if !set.has(s.Kind) {
				continue
			}
			switch {
			case end.IsZero():
				if s.Close.After(t) {
					end = s.Close
				}
			case s.Open.Equal(end):
				end = s.Close
			default:
				return end
			}
		}
		d = d.AddDays(1)
	}
	return time.Time{}
}
