package calendar

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// jsonCalendar is the JSON form of a Calendar: its Config with the zone and
// weekdays by name.
type jsonCalendar struct {
	Name     string         `json:"name"`
	Location string         `json:"location"`
	Hours    []SessionHours `json:"hours"`
	Weekend  []string       `json:"weekend,omitempty"`
	Holidays []Holiday      `json:"holidays,omitempty"`
}

// MarshalJSON encodes the whole calendar, holidays included, so that a
// *Calendar can be a field of a Beam DoFn (Beam serializes DoFns as JSON)
// and reach workers that have no holiday files.
func (c *Calendar) MarshalJSON() ([]byte, error) {
	// Only an IANA name travels: LoadLocation("") is UTC and "Local" is
	// whatever the worker runs in.
	zone := c.loc.String()
	if _, err := time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
		return nil, fmt.Errorf("calendar: %s: location %q has no IANA name", c.name, zone)
	}
	cfg := c.Config()
	j := jsonCalendar{Name: cfg.Name, Location: zone, Hours: cfg.Hours, Holidays: cfg.Holidays}
	for _, wd := range cfg.Weekend {
		j.Weekend = append(j.Weekend, wd.String())
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a calendar written by MarshalJSON and checks it as
// New does.
func (c *Calendar) UnmarshalJSON(b []byte) error {
	var j jsonCalendar
	if err := json.Unmarshal(b, &j); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) {
			return fmt.Errorf("calendar: %w", err)
		}
		return err // from the fields' decoders, which name the package
	}
	loc, err := time.LoadLocation(j.Location)
	if err != nil {
		return fmt.Errorf("calendar: %s: %w", j.Name, err)
	}
	cfg := Config{Name: j.Name, Location: loc, Hours: j.Hours, Holidays: j.Holidays}
	for _, name := range j.Weekend {
		wd, ok := parseWeekday(name)
		if !ok {
			return fmt.Errorf("calendar: %s: invalid weekend day %q", j.Name, name)
		}
		cfg.Weekend = append(cfg.Weekend, wd)
	}
	built, err := New(cfg)
	if err != nil {
		return err
	}
	*c = *built
	return nil
}

func parseWeekday(s string) (time.Weekday, bool) {
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if wd.String() == s {
			return wd, true
		}
	}
	return 0, false
}

type jsonHours struct {
	Kind  SessionKind `json:"kind"`
	Open  string      `json:"open"`
	Close string      `json:"close"`
}

// MarshalJSON encodes h as {"kind":"regular","open":"09:30","close":"16:00"}.
func (h SessionHours) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonHours{h.Kind, clock(h.Open), clock(h.Close)})
}

// UnmarshalJSON decodes the form MarshalJSON writes.
func (h *SessionHours) UnmarshalJSON(b []byte) error {
	var j jsonHours
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	o, ok1 := parseClock(j.Open)
	c, ok2 := parseClock(j.Close)
	if !ok1 || !ok2 {
		return fmt.Errorf("calendar: invalid session hours %q-%q (want HH:MM)", j.Open, j.Close)
	}
	*h = SessionHours{j.Kind, o, c}
	return nil
}
