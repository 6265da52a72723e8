package calendar

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadHolidaysErrors(t *testing.T) {
	nyse := lookup(t, "XNYS")
	for _, tc := range []struct {
		name, list, want string
	}{
		{"no such day", "2026-02-30 Typo\n",
			`calendar: line 1: invalid date "2026-02-30" (want YYYY-MM-DD)`},
		{"not a date", "2026-01-01 New Year's Day\nJan 19 MLK Day\n",
			`calendar: line 2: invalid date "Jan" (want YYYY-MM-DD)`},
		{"comments and blank lines count", "# list\n\n2026-11-27 early 1pm Day after Thanksgiving\n",
			`calendar: line 3: early: invalid time "1pm" (want HH:MM)`},
		{"CRLF line endings", "2026-01-01 New Year's Day\r\n2026-13-01 Typo\r\n",
			`calendar: line 2: invalid date "2026-13-01" (want YYYY-MM-DD)`},
		{"early without a time", "2026-11-27 early",
			`calendar: line 1: early: missing time`},
		{"late with a bad time", "2026-11-27 late 9:30 Late open",
			`calendar: line 1: late: invalid time "9:30" (want HH:MM)`},
		{"session without hours", "2026-11-27 after",
			`calendar: line 1: after: missing hours`},
		{"session with one time", "2026-11-27 after 13:00 Day after Thanksgiving",
			`calendar: line 1: after: invalid hours "13:00" (want HH:MM-HH:MM or none)`},
		{"session past 24:00", "2026-11-27 after 13:00-24:30 Day after Thanksgiving",
			`calendar: line 1: after: invalid hours "13:00-24:30" (want HH:MM-HH:MM or none)`},
		{"early close into after-hours", "2026-11-27 early 17:00 Day after Thanksgiving",
			`calendar: line 1: regular 09:30-17:00 overlaps after 16:00-20:00`},
		{"sessions that overlap", "2026-11-27 early 13:00 after 12:00-17:00 Day after Thanksgiving",
			`calendar: line 1: regular 09:30-13:00 overlaps after 12:00-17:00`},
		{"late open after the close", "2026-11-27 late 16:30 Odd",
			`calendar: line 1: regular 16:30-16:00 does not close after it opens`},
		{"every session removed", "2026-11-27 pre none regular none after none Nothing",
			`calendar: line 1: no session left (write the date alone to close the exchange all day)`},
		{"a date twice", "2026-12-24 Christmas Eve\n# again\n2026-12-24 early 13:00 Christmas Eve\n",
			`calendar: line 3: 2026-12-24 is already listed on line 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := nyse.LoadHolidays(strings.NewReader(tc.list))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v\nwant       %s", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Source != "" {
				t.Errorf("error %#v is not a ParseError without source", err)
			}
		})
	}
}

func TestLoadHolidaysModifiers(t *testing.T) {
	nyse := lookup(t, "XNYS")
	d := Date{2026, 12, 31}
	pre, regular, after := SessionHours{Pre, hm(4, 0), hm(9, 30)}, SessionHours{Regular, hm(9, 30), hm(16, 0)}, SessionHours{After, hm(16, 0), hm(20, 0)}
	for _, tc := range []struct {
		line string
		want Holiday
	}{
		{"2026-12-31 Closed day", Holiday{d, "Closed day", nil}},
		{"2026-12-31", Holiday{d, "", nil}},
		{"  2026-12-31   Spaced    name  ", Holiday{d, "Spaced name", nil}},
		{"2026-12-31 After Christmas", Holiday{d, "After Christmas", nil}},
		{"2026-12-31 open Trading after all", Holiday{d, "Trading after all", []SessionHours{pre, regular, after}}},
		// A modifier changes only what it names: after-hours stay 16:00-20:00.
		{"2026-12-31 early 13:00 Half day", Holiday{d, "Half day", []SessionHours{pre, {Regular, hm(9, 30), hm(13, 0)}, after}}},
		{"2026-12-31 early 13:00 after 13:00-17:00 Half day",
			Holiday{d, "Half day", []SessionHours{pre, {Regular, hm(9, 30), hm(13, 0)}, {After, hm(13, 0), hm(17, 0)}}}},
		{"2026-12-31 late 10:30 pre 04:00-10:30 Late open",
			Holiday{d, "Late open", []SessionHours{{Pre, hm(4, 0), hm(10, 30)}, {Regular, hm(10, 30), hm(16, 0)}, after}}},
		{"2026-12-31 after none early 14:00 Short", Holiday{d, "Short", []SessionHours{pre, {Regular, hm(9, 30), hm(14, 0)}}}},
		{"2026-12-31 pre none after none regular 11:00-12:00 Odd", Holiday{d, "Odd", []SessionHours{{Regular, hm(11, 0), hm(12, 0)}}}},
		{"2026-12-31 after 20:00-24:00 after 16:00-20:00 Last wins", Holiday{d, "Last wins", []SessionHours{pre, regular, after}}},
	} {
		c, err := nyse.LoadHolidays(strings.NewReader(tc.line))
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		got, ok := c.Holiday(d)
		if !ok {
			t.Errorf("%q: no holiday on %v", tc.line, d)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.line, diff)
		}
	}
}

func TestLoadHolidaysKeepsAndOverrides(t *testing.T) {
	krx := lookup(t, "XKRX")
	c, err := krx.LoadHolidays(strings.NewReader("2027-07-19 open Not a holiday after all\n2026-04-15 Temporary holiday\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d    string
		want bool
	}{
		{"2027-07-19", true},  // a shipped closure undone
		{"2026-04-15", false}, // added
		{"2026-02-17", false}, // shipped, kept
		{"2026-04-16", true},
	} {
		if got := c.IsTradingDay(date(t, tc.d)); got != tc.want {
			t.Errorf("IsTradingDay(%s) = %v, want %v", tc.d, got, tc.want)
		}
	}
	if krx.IsTradingDay(date(t, "2027-07-19")) {
		t.Error("LoadHolidays changed the calendar it was called on")
	}
}

func TestLoadHolidayFile(t *testing.T) {
	nyse := lookup(t, "XNYS")
	c, err := nyse.LoadHolidayFile("testdata/desk_holidays.txt")
	if err != nil {
		t.Fatal(err)
	}
	if c.IsTradingDay(date(t, "2026-03-16")) {
		t.Error("2026-03-16 trades")
	}
	if got, want := c.NextClose(instant(t, "2026-12-31T15:00:00Z"), Regular), instant(t, "2026-12-31T18:00:00Z"); !got.Equal(want) {
		t.Errorf("NextClose on New Year's Eve = %v, want %v", got, want)
	}

	_, err = nyse.LoadHolidayFile("testdata/bad_holidays.txt")
	const want = `calendar: testdata/bad_holidays.txt:4: early: invalid time "1pm" (want HH:MM)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant       %s", err, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || pe.Source != "testdata/bad_holidays.txt" {
		t.Errorf("ParseError %+v", pe)
	}

	_, err = nyse.LoadHolidayFile("testdata/missing.txt")
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "calendar: open testdata/missing.txt: ") {
		t.Errorf("missing file: error %v", err)
	}
}

func TestWithHolidays(t *testing.T) {
	nyse := lookup(t, "XNYS")
	full := Holiday{Date: Date{2026, 11, 27}, Name: "Full day", Hours: nyse.Config().Hours}
	c, err := nyse.WithHolidays(full)
	if err != nil {
		t.Fatal(err)
	}
	// 15:00 EST on the day after Thanksgiving now trades regular hours.
	if tm := instant(t, "2026-11-27T20:00:00Z"); !c.IsOpen(tm, Regular) || nyse.IsOpen(tm, Regular) {
		t.Errorf("IsOpen(%v, Regular): new %v, old %v", tm, c.IsOpen(tm, Regular), nyse.IsOpen(tm, Regular))
	}
	if got, want := len(c.Config().Holidays), len(nyse.Config().Holidays); got != want {
		t.Errorf("%d holidays, want %d (an override, not an addition)", got, want)
	}

	_, err = nyse.WithHolidays(Holiday{Date: Date{2026, 1, 2}}, Holiday{Date: Date{2026, 1, 2}})
	if want := "calendar: XNYS: holiday 2026-01-02 listed twice"; err == nil || err.Error() != want {
		t.Errorf("duplicate: error %v, want %q", err, want)
	}
	_, err = nyse.WithHolidays(Holiday{Date: Date{2026, 1, 2}, Hours: []SessionHours{{Regular, hm(10, 0), hm(9, 0)}}})
	if want := "calendar: XNYS: holiday 2026-01-02: regular 10:00-09:00 does not close after it opens"; err == nil || err.Error() != want {
		t.Errorf("bad hours: error %v, want %q", err, want)
	}
}

func TestHolidayString(t *testing.T) {
	nyse := lookup(t, "XNYS")
	for d, want := range map[Date]string{
		{2026, 1, 1}:   "2026-01-01 New Year's Day (closed)",
		{2026, 11, 27}: "2026-11-27 Day after Thanksgiving (pre 04:00-09:30, regular 09:30-13:00, after 13:00-17:00)",
	} {
		h, _ := nyse.Holiday(d)
		if got := h.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	if _, ok := nyse.Holiday(Date{2026, 1, 2}); ok {
		t.Error("Holiday(2026-01-02) found")
	}
}
