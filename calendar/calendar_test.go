package calendar

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func lookup(t *testing.T, name string) *Calendar {
	t.Helper()
	c, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func date(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// at describes what a calendar says of one instant.
type at struct {
	Open bool        // IsOpen with no kinds
	Kind SessionKind // SessionAt's kind, 0 when closed
	Day  string      // SessionDay, "" when false
}

func describe(c *Calendar, tm time.Time) at {
	var a at
	a.Open = c.IsOpen(tm)
	if s, ok := c.SessionAt(tm); ok {
		a.Kind = s.Kind
	}
	if d, ok := c.SessionDay(tm); ok {
		a.Day = d.String()
	}
	return a
}

func TestInstants(t *testing.T) {
	for _, tc := range []struct {
		cal, name, t string
		want         at
	}{
		// New York, before the 2026-03-08 clock change (EST, UTC-5).
		{"XNYS", "Fri EST pre-market", "2026-03-06T09:00:00Z", at{true, Pre, "2026-03-06"}},
		{"XNYS", "Fri EST 09:29:59", "2026-03-06T14:29:59Z", at{true, Pre, "2026-03-06"}},
		{"XNYS", "Fri EST regular open 09:30", "2026-03-06T14:30:00Z", at{true, Regular, "2026-03-06"}},
		{"XNYS", "Fri EST 15:59:59", "2026-03-06T20:59:59Z", at{true, Regular, "2026-03-06"}},
		{"XNYS", "Fri EST after 16:00", "2026-03-06T21:00:00Z", at{true, After, "2026-03-06"}},
		{"XNYS", "Fri EST 20:00 closed", "2026-03-07T01:00:00Z", at{}},
		{"XNYS", "Saturday", "2026-03-07T15:00:00Z", at{}},
		{"XNYS", "Sunday of the change", "2026-03-08T15:00:00Z", at{}},
		// After it (EDT, UTC-4): 09:30 is 13:30Z.
		{"XNYS", "Mon EDT 03:59", "2026-03-09T07:59:00Z", at{}},
		{"XNYS", "Mon EDT pre 04:00", "2026-03-09T08:00:00Z", at{true, Pre, "2026-03-09"}},
		{"XNYS", "Mon EDT 09:29:59", "2026-03-09T13:29:59Z", at{true, Pre, "2026-03-09"}},
		{"XNYS", "Mon EDT regular open 09:30", "2026-03-09T13:30:00Z", at{true, Regular, "2026-03-09"}},
		{"XNYS", "Mon EDT 10:30 (14:30Z)", "2026-03-09T14:30:00Z", at{true, Regular, "2026-03-09"}},
		{"XNYS", "Mon EDT after 16:00", "2026-03-09T20:00:00Z", at{true, After, "2026-03-09"}},
		{"XNYS", "Mon EDT 19:59:59 (UTC next day)", "2026-03-09T23:59:59Z", at{true, After, "2026-03-09"}},
		{"XNYS", "Tue 00:00Z is Mon 20:00 EDT", "2026-03-10T00:00:00Z", at{}},
		// Around the 2026-11-01 change back.
		{"XNYS", "Fri EDT regular open", "2026-10-30T13:30:00Z", at{true, Regular, "2026-10-30"}},
		{"XNYS", "Mon EST 08:30 is pre", "2026-11-02T13:30:00Z", at{true, Pre, "2026-11-02"}},
		{"XNYS", "Mon EST regular open", "2026-11-02T14:30:00Z", at{true, Regular, "2026-11-02"}},
		// The day after Thanksgiving: regular until 13:00, after-hours until 17:00.
		{"XNYS", "early close 12:59:59", "2026-11-27T17:59:59Z", at{true, Regular, "2026-11-27"}},
		{"XNYS", "early close 13:00", "2026-11-27T18:00:00Z", at{true, After, "2026-11-27"}},
		{"XNYS", "early close 16:59:59", "2026-11-27T21:59:59Z", at{true, After, "2026-11-27"}},
		{"XNYS", "early close 17:00", "2026-11-27T22:00:00Z", at{}},
		{"XNAS", "XNAS early close 13:00", "2026-12-24T18:00:00Z", at{true, After, "2026-12-24"}},
		{"XNAS", "XNAS Good Friday", "2026-04-03T15:00:00Z", at{}},
		// Seoul (UTC+9, no daylight saving).
		{"XKRX", "00:30Z is 09:30 KST the same date", "2026-01-15T00:30:00Z", at{true, Regular, "2026-01-15"}},
		{"XKRX", "23:30Z is 08:30 KST the next date", "2026-01-14T23:30:00Z", at{true, Pre, "2026-01-15"}},
		{"XKRX", "08:29:59 KST", "2026-01-14T23:29:59Z", at{}},
		{"XKRX", "08:40 KST gap before the open", "2026-01-14T23:40:00Z", at{false, 0, "2026-01-15"}},
		{"XKRX", "09:00 KST open", "2026-01-15T00:00:00Z", at{true, Regular, "2026-01-15"}},
		{"XKRX", "15:35 KST gap after the close", "2026-01-15T06:35:00Z", at{false, 0, "2026-01-15"}},
		{"XKRX", "15:40 KST after-hours", "2026-01-15T06:40:00Z", at{true, After, "2026-01-15"}},
		{"XKRX", "17:59:59 KST", "2026-01-15T08:59:59Z", at{true, After, "2026-01-15"}},
		{"XKRX", "18:00 KST closed", "2026-01-15T09:00:00Z", at{}},
		{"XKRX", "Seollal eve", "2026-02-16T01:00:00Z", at{}},
		{"XKRX", "Seollal", "2026-02-17T01:00:00Z", at{}},
		{"XKRX", "Seollal pre-market hour", "2026-02-17T23:30:00Z", at{}},
		{"XKRX", "after Seollal", "2026-02-18T23:30:00Z", at{true, Pre, "2026-02-19"}},
		{"XKRX", "first trading day 09:05 KST", "2026-01-02T00:05:00Z", at{}},
		{"XKRX", "first trading day pre 09:30 KST", "2026-01-02T00:30:00Z", at{true, Pre, "2026-01-02"}},
		{"XKRX", "first trading day 09:45 KST", "2026-01-02T00:45:00Z", at{false, 0, "2026-01-02"}},
		{"XKRX", "first trading day open 10:00 KST", "2026-01-02T01:00:00Z", at{true, Regular, "2026-01-02"}},
		{"XKRX", "Suneung 16:29 KST", "2026-11-19T07:29:00Z", at{true, Regular, "2026-11-19"}},
		{"XKRX", "Suneung 16:30 KST", "2026-11-19T07:30:00Z", at{false, 0, "2026-11-19"}},
		{"XKRX", "Suneung 16:40 KST", "2026-11-19T07:40:00Z", at{true, After, "2026-11-19"}},
		{"XKRX", "Suneung 18:00 KST", "2026-11-19T09:00:00Z", at{}},
		{"XKRX", "Saturday", "2026-01-17T01:00:00Z", at{}},
		// Around the clock.
		{"CRYPTO", "Saturday 23:59:59Z", "2026-03-07T23:59:59Z", at{true, Regular, "2026-03-07"}},
		{"CRYPTO", "Sunday 00:00Z", "2026-03-08T00:00:00Z", at{true, Regular, "2026-03-08"}},
		{"CRYPTO", "Christmas", "2026-12-25T12:00:00Z", at{true, Regular, "2026-12-25"}},
		{"CRYPTO", "New Year midnight", "2027-01-01T00:00:00Z", at{true, Regular, "2027-01-01"}},
		{"CRYPTO", "an instant given in Seoul time", "2026-03-08T08:00:00+09:00", at{true, Regular, "2026-03-07"}},
	} {
		t.Run(tc.cal+"/"+tc.name, func(t *testing.T) {
			got := describe(lookup(t, tc.cal), instant(t, tc.t))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.t, diff)
			}
		})
	}
}

func TestIsOpenKinds(t *testing.T) {
	nyse := lookup(t, "XNYS")
	pre := instant(t, "2026-01-12T10:00:00Z") // 05:00 EST
	for _, tc := range []struct {
		kinds []SessionKind
		want  bool
	}{
		{nil, true},
		{[]SessionKind{Pre}, true},
		{[]SessionKind{Regular}, false},
		{[]SessionKind{Regular, After}, false},
		{[]SessionKind{After, Pre}, true},
	} {
		if got := nyse.IsOpen(pre, tc.kinds...); got != tc.want {
			t.Errorf("IsOpen(%v, %v) = %v, want %v", pre, tc.kinds, got, tc.want)
		}
	}
}

// The 2026 holidays on which XNYS/XNAS are closed, typed from NYSE's notice.
var nyse2026Closed = []string{
	"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25",
	"2026-06-19", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25",
}

func TestEveryXNYSHolidayClosed(t *testing.T) {
	for _, name := range []string{"XNYS", "XNAS"} {
		c := lookup(t, name)
		for _, s := range nyse2026Closed {
			d := date(t, s)
			if c.IsTradingDay(d) || c.Sessions(d) != nil {
				t.Errorf("%s: %s is a trading day", name, s)
			}
			if _, _, ok := c.DayBounds(d); ok {
				t.Errorf("%s: DayBounds(%s) ok", name, s)
			}
			// Every hour of the local day, in every session's hours.
			for h := range 24 {
				tm := time.Date(d.Year, d.Month, d.Day, h, 30, 0, 0, c.Location())
				if got := describe(c, tm); got != (at{}) {
					t.Errorf("%s: %v: %+v, want closed", name, tm, got)
				}
			}
		}
	}
}

func TestHolidayLists(t *testing.T) {
	type day struct {
		Date   string
		Closed bool
	}
	days := func(c *Calendar) []day {
		var out []day
		for _, h := range c.Config().Holidays {
			out = append(out, day{h.Date.String(), h.Closed()})
		}
		return out
	}
	closed := func(ds ...string) []day {
		var out []day
		for _, d := range ds {
			out = append(out, day{d, true})
		}
		return out
	}
	special := func(d string) []day { return []day{{d, false}} }
	cat := func(parts ...[]day) []day {
		var out []day
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	us := cat(
		closed(nyse2026Closed[:9]...),
		special("2026-11-27"), special("2026-12-24"), closed("2026-12-25"),
		closed("2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31",
			"2027-06-18", "2027-07-05", "2027-09-06", "2027-11-25"),
		special("2027-11-26"), closed("2027-12-24"),
	)
	krx := cat(
		closed("2026-01-01"), special("2026-01-02"),
		closed("2026-02-16", "2026-02-17", "2026-02-18", "2026-03-02", "2026-05-01",
			"2026-05-05", "2026-05-25", "2026-06-03", "2026-07-17", "2026-08-17",
			"2026-09-24", "2026-09-25", "2026-10-05", "2026-10-09"),
		special("2026-11-19"), closed("2026-12-25", "2026-12-31", "2027-01-01"),
		special("2027-01-04"),
		closed("2027-02-08", "2027-02-09", "2027-03-01", "2027-05-05", "2027-05-13",
			"2027-07-19", "2027-08-16", "2027-09-14", "2027-09-15", "2027-09-16",
			"2027-10-04", "2027-10-11"),
		special("2027-11-18"), closed("2027-12-27", "2027-12-31"),
	)
	for _, tc := range []struct {
		cal  string
		want []day
	}{
		{"XNYS", us},
		{"XNAS", us},
		{"XKRX", krx},
		{"CRYPTO", nil},
	} {
		if diff := cmp.Diff(tc.want, days(lookup(t, tc.cal))); diff != "" {
			t.Errorf("%s holidays (-want +got):\n%s", tc.cal, diff)
		}
	}
}

// TestXNYSFollowsUSRules derives the U.S. market holidays and early closes
// from their rules and checks the shipped list against them.
func TestXNYSFollowsUSRules(t *testing.T) {
	nyse := lookup(t, "XNYS")
	for _, year := range []int{2026, 2027} {
		var want []string
		for _, d := range usClosures(year) {
			want = append(want, d.String()+" closed")
		}
		for _, d := range usEarlyCloses(year) {
			want = append(want, d.String()+" early")
		}
		var got []string
		for _, h := range nyse.Config().Holidays {
			if h.Date.Year != year {
				continue
			}
			if h.Closed() {
				got = append(got, h.Date.String()+" closed")
				continue
			}
			want := []SessionHours{{Pre, hm(4, 0), hm(9, 30)}, {Regular, hm(9, 30), hm(13, 0)}, {After, hm(13, 0), hm(17, 0)}}
			if diff := cmp.Diff(want, h.Hours); diff != "" {
				t.Errorf("%v hours (-want +got):\n%s", h.Date, diff)
			}
			got = append(got, h.Date.String()+" early")
		}
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d (-rules +shipped):\n%s", year, diff)
		}
	}
	// Full days the rules single out.
	for _, s := range []string{"2026-07-02", "2027-07-02", "2027-12-23", "2027-12-31"} {
		d := date(t, s)
		if _, end, ok := nyse.DayBounds(d); !ok || end.In(nyse.Location()).Hour() != 20 {
			t.Errorf("%s: DayBounds end %v, %v; want a full day to 20:00", s, end, ok)
		}
	}
}

func usClosures(y int) []Date {
	observed := func(d Date) Date {
		switch d.Weekday() {
		case time.Saturday:
			return d.AddDays(-1)
		case time.Sunday:
			return d.AddDays(1)
		}
		return d
	}
	var out []Date
	// New Year's Day on a Saturday is not observed: the Friday before ends
	// the year (NYSE Rule 7.2).
	if ny := (Date{y, time.January, 1}); ny.Weekday() != time.Saturday {
		out = append(out, observed(ny))
	}
	out = append(out,
		nthWeekday(y, time.January, time.Monday, 3),    // Martin Luther King, Jr. Day
		nthWeekday(y, time.February, time.Monday, 3),   // Washington's Birthday
		easter(y).AddDays(-2),                          // Good Friday
		nthWeekday(y, time.May, time.Monday, -1),       // Memorial Day
		observed(Date{y, time.June, 19}),               // Juneteenth
		observed(Date{y, time.July, 4}),                // Independence Day
		nthWeekday(y, time.September, time.Monday, 1),  // Labor Day
		nthWeekday(y, time.November, time.Thursday, 4), // Thanksgiving
		observed(Date{y, time.December, 25}),           // Christmas
	)
	return out
}

func usEarlyCloses(y int) []Date {
	closed := map[Date]bool{}
	for _, d := range usClosures(y) {
		closed[d] = true
	}
	tradingWeekday := func(d Date) bool {
		wd := d.Weekday()
		return wd != time.Saturday && wd != time.Sunday && !closed[d]
	}
	var out []Date
	if d := (Date{y, time.July, 3}); tradingWeekday(d) {
		out = append(out, d)
	}
	out = append(out, nthWeekday(y, time.November, time.Thursday, 4).AddDays(1))
	if d := (Date{y, time.December, 24}); tradingWeekday(d) {
		out = append(out, d)
	}
	return out
}

// nthWeekday returns the n-th wd of the month, the last one when n is -1.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) Date {
	if n < 0 {
		d := Date{y, m + 1, 1}.AddDays(-1)
		for d.Weekday() != wd {
			d = d.AddDays(-1)
		}
		return d
	}
	d := Date{y, m, 1}
	for d.Weekday() != wd {
		d = d.AddDays(1)
	}
	return d.AddDays(7 * (n - 1))
}

// easter returns Western Easter Sunday (the anonymous Gregorian algorithm).
func easter(y int) Date {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	return Date{y, time.Month((h + l - 7*m + 114) / 31), (h+l-7*m+114)%31 + 1}
}

func TestEaster(t *testing.T) {
	// Known Easter Sundays, so the rule test stands on a checked algorithm.
	for y, want := range map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28"} {
		if got := easter(y).String(); got != want {
			t.Errorf("easter(%d) = %s, want %s", y, got, want)
		}
	}
}

func TestSessionsAndDayBounds(t *testing.T) {
	type span struct{ Kind, Open, Close string }
	spans := func(ss []Session) []span {
		var out []span
		for _, s := range ss {
			out = append(out, span{s.Kind.String(), s.Open.UTC().Format(time.RFC3339), s.Close.UTC().Format(time.RFC3339)})
		}
		return out
	}
	for _, tc := range []struct {
		cal, date string
		want      []span
	}{
		{"XNYS", "2026-01-15", []span{
			{"pre", "2026-01-15T09:00:00Z", "2026-01-15T14:30:00Z"},
			{"regular", "2026-01-15T14:30:00Z", "2026-01-15T21:00:00Z"},
			{"after", "2026-01-15T21:00:00Z", "2026-01-16T01:00:00Z"},
		}},
		{"XNYS", "2026-07-15", []span{
			{"pre", "2026-07-15T08:00:00Z", "2026-07-15T13:30:00Z"},
			{"regular", "2026-07-15T13:30:00Z", "2026-07-15T20:00:00Z"},
			{"after", "2026-07-15T20:00:00Z", "2026-07-16T00:00:00Z"},
		}},
		{"XNYS", "2026-11-27", []span{
			{"pre", "2026-11-27T09:00:00Z", "2026-11-27T14:30:00Z"},
			{"regular", "2026-11-27T14:30:00Z", "2026-11-27T18:00:00Z"},
			{"after", "2026-11-27T18:00:00Z", "2026-11-27T22:00:00Z"},
		}},
		{"XNYS", "2026-11-26", nil},
		{"XNYS", "2026-11-28", nil},
		{"XKRX", "2026-01-15", []span{
			{"pre", "2026-01-14T23:30:00Z", "2026-01-14T23:40:00Z"},
			{"regular", "2026-01-15T00:00:00Z", "2026-01-15T06:30:00Z"},
			{"after", "2026-01-15T06:40:00Z", "2026-01-15T09:00:00Z"},
		}},
		{"XKRX", "2026-01-02", []span{
			{"pre", "2026-01-02T00:30:00Z", "2026-01-02T00:40:00Z"},
			{"regular", "2026-01-02T01:00:00Z", "2026-01-02T06:30:00Z"},
			{"after", "2026-01-02T06:40:00Z", "2026-01-02T09:00:00Z"},
		}},
		{"XKRX", "2026-11-19", []span{
			{"pre", "2026-11-19T00:30:00Z", "2026-11-19T00:40:00Z"},
			{"regular", "2026-11-19T01:00:00Z", "2026-11-19T07:30:00Z"},
			{"after", "2026-11-19T07:40:00Z", "2026-11-19T09:00:00Z"},
		}},
		{"CRYPTO", "2026-03-08", []span{{"regular", "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z"}}},
	} {
		c, d := lookup(t, tc.cal), date(t, tc.date)
		ss := c.Sessions(d)
		if diff := cmp.Diff(tc.want, spans(ss)); diff != "" {
			t.Errorf("%s Sessions(%s) (-want +got):\n%s", tc.cal, tc.date, diff)
		}
		for _, s := range ss {
			if s.Date != d {
				t.Errorf("%s %s: session dated %v", tc.cal, tc.date, s.Date)
			}
		}
		start, end, ok := c.DayBounds(d)
		if ok != (tc.want != nil) {
			t.Fatalf("%s DayBounds(%s) ok = %v", tc.cal, tc.date, ok)
		}
		if ok {
			got := span{"day", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)}
			want := span{"day", tc.want[0].Open, tc.want[len(tc.want)-1].Close}
			if got != want {
				t.Errorf("%s DayBounds(%s) = %v, want %v", tc.cal, tc.date, got, want)
			}
		}
	}
}

func TestNextOpenNextClose(t *testing.T) {
	for _, tc := range []struct {
		cal, name, from string
		kinds           []SessionKind
		open, close     string // "" for the zero Time
	}{
		{"XNYS", "Friday evening to Monday pre-market", "2026-01-10T02:00:00Z", nil,
			"2026-01-12T09:00:00Z", "2026-01-13T01:00:00Z"},
		{"XNYS", "Friday evening to Monday regular", "2026-01-10T02:00:00Z", []SessionKind{Regular},
			"2026-01-12T14:30:00Z", "2026-01-12T21:00:00Z"},
		{"XNYS", "Friday evening to Monday after-hours", "2026-01-10T02:00:00Z", []SessionKind{After},
			"2026-01-12T21:00:00Z", "2026-01-13T01:00:00Z"},
		{"XNYS", "over Martin Luther King, Jr. Day to Tuesday", "2026-01-17T02:00:00Z", nil,
			"2026-01-20T09:00:00Z", "2026-01-21T01:00:00Z"},
		{"XNYS", "over Good Friday", "2026-04-03T00:00:00Z", nil,
			"2026-04-06T08:00:00Z", "2026-04-07T00:00:00Z"},
		{"XNYS", "over the March clock change", "2026-03-06T21:00:00Z", []SessionKind{Regular},
			"2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z"},
		{"XNYS", "over the November clock change", "2026-10-30T20:00:00Z", []SessionKind{Regular},
			"2026-11-02T14:30:00Z", "2026-11-02T21:00:00Z"},
		{"XNYS", "in pre-market, all kinds", "2026-01-12T10:00:00Z", nil,
			"2026-01-13T09:00:00Z", "2026-01-13T01:00:00Z"},
		{"XNYS", "in pre-market, regular", "2026-01-12T10:00:00Z", []SessionKind{Regular},
			"2026-01-12T14:30:00Z", "2026-01-12T21:00:00Z"},
		{"XNYS", "at the regular open: the next one", "2026-01-12T14:30:00Z", []SessionKind{Regular},
			"2026-01-13T14:30:00Z", "2026-01-12T21:00:00Z"},
		{"XNYS", "at the regular close: the next one", "2026-01-12T21:00:00Z", []SessionKind{Regular},
			"2026-01-13T14:30:00Z", "2026-01-13T21:00:00Z"},
		{"XNYS", "early close day, regular", "2026-11-27T15:00:00Z", []SessionKind{Regular},
			"2026-11-30T14:30:00Z", "2026-11-27T18:00:00Z"},
		{"XNYS", "early close day, all kinds", "2026-11-27T15:00:00Z", nil,
			"2026-11-30T09:00:00Z", "2026-11-27T22:00:00Z"},
		{"XNYS", "early close day, pre only: the next pre-market", "2026-11-27T15:00:00Z", []SessionKind{Pre},
			"2026-11-30T09:00:00Z", "2026-11-30T14:30:00Z"},
		{"XNYS", "Thanksgiving eve to the early close", "2026-11-26T01:00:00Z", []SessionKind{Regular},
			"2026-11-27T14:30:00Z", "2026-11-27T18:00:00Z"},
		{"XNYS", "pre and after are not contiguous", "2026-01-12T15:00:00Z", []SessionKind{Pre, After},
			"2026-01-12T21:00:00Z", "2026-01-13T01:00:00Z"},
		{"XKRX", "Friday before Seollal to Thursday", "2026-02-13T09:00:00Z", nil,
			"2026-02-18T23:30:00Z", "2026-02-18T23:40:00Z"},
		{"XKRX", "the 08:40 gap", "2026-01-14T23:45:00Z", nil,
			"2026-01-15T00:00:00Z", "2026-01-15T06:30:00Z"},
		{"CRYPTO", "never closes", "2026-03-07T12:00:00Z", nil, "", ""},
	} {
		t.Run(tc.cal+"/"+tc.name, func(t *testing.T) {
			c, from := lookup(t, tc.cal), instant(t, tc.from)
			format := func(tm time.Time) string {
				if tm.IsZero() {
					return ""
				}
				return tm.UTC().Format(time.RFC3339)
			}
			if got := format(c.NextOpen(from, tc.kinds...)); got != tc.open {
				t.Errorf("NextOpen(%s, %v) = %s, want %s", tc.from, tc.kinds, got, tc.open)
			}
			if got := format(c.NextClose(from, tc.kinds...)); got != tc.close {
				t.Errorf("NextClose(%s, %v) = %s, want %s", tc.from, tc.kinds, got, tc.close)
			}
		})
	}
}

func TestTradingDays(t *testing.T) {
	krx, nyse := lookup(t, "XKRX"), lookup(t, "XNYS")
	for _, tc := range []struct {
		c          *Calendar
		d          string
		next, prev string
	}{
		{krx, "2026-02-13", "2026-02-19", "2026-02-12"},
		{krx, "2026-02-17", "2026-02-19", "2026-02-13"},
		{krx, "2026-12-30", "2027-01-04", "2026-12-29"},
		{nyse, "2026-01-16", "2026-01-20", "2026-01-15"},
		{nyse, "2026-01-20", "2026-01-21", "2026-01-16"},
	} {
		d := date(t, tc.d)
		if got := tc.c.NextTradingDay(d).String(); got != tc.next {
			t.Errorf("%v NextTradingDay(%s) = %s, want %s", tc.c, tc.d, got, tc.next)
		}
		if got := tc.c.PrevTradingDay(d).String(); got != tc.prev {
			t.Errorf("%v PrevTradingDay(%s) = %s, want %s", tc.c, tc.d, got, tc.prev)
		}
	}
}

func TestNewErrors(t *testing.T) {
	seoul := lookup(t, "XKRX").Location()
	regular := []SessionHours{{Regular, hm(9, 0), hm(15, 30)}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{Location: seoul, Hours: regular}, "calendar: config has no name"},
		{"no location", Config{Name: "X", Hours: regular}, "calendar: X: no location"},
		{"no hours", Config{Name: "X", Location: seoul}, "calendar: X: no trading sessions"},
		{"overlap", Config{Name: "X", Location: seoul, Hours: []SessionHours{{After, hm(15, 0), hm(18, 0)}, {Regular, hm(9, 0), hm(16, 0)}}},
			"calendar: X: hours: regular 09:00-16:00 overlaps after 15:00-18:00"},
		{"past midnight", Config{Name: "X", Location: seoul, Hours: []SessionHours{{Regular, hm(9, 0), hm(25, 0)}}},
			"calendar: X: hours: regular 09:00-25:00 is outside 00:00-24:00"},
		{"backwards", Config{Name: "X", Location: seoul, Hours: []SessionHours{{Regular, hm(9, 0), hm(9, 0)}}},
			"calendar: X: hours: regular 09:00-09:00 does not close after it opens"},
		{"fractional", Config{Name: "X", Location: seoul, Hours: []SessionHours{{Regular, hm(9, 0), hm(9, 1) + time.Millisecond}}},
			"calendar: X: hours: regular 09:00-09:01: hours must be whole seconds"},
		{"no kind", Config{Name: "X", Location: seoul, Hours: []SessionHours{{0, hm(9, 0), hm(10, 0)}}},
			"calendar: X: hours: session 0: invalid kind SessionKind(0)"},
		{"all weekend", Config{Name: "X", Location: seoul, Hours: regular,
			Weekend: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, "calendar: X: every day of the week is a weekend day"},
		{"bad weekday", Config{Name: "X", Location: seoul, Hours: regular, Weekend: []time.Weekday{7}},
			"calendar: X: invalid weekend day 7"},
		{"bad holiday date", Config{Name: "X", Location: seoul, Hours: regular, Holidays: []Holiday{{Date: Date{2026, 2, 30}, Name: "Bad"}}},
			`calendar: X: holiday "Bad": invalid date 2026-02-30`},
		{"holiday twice", Config{Name: "X", Location: seoul, Hours: regular,
			Holidays: []Holiday{{Date: Date{2026, 1, 1}}, {Date: Date{2026, 1, 1}}}}, "calendar: X: holiday 2026-01-01 listed twice"},
		{"empty special hours", Config{Name: "X", Location: seoul, Hours: regular,
			Holidays: []Holiday{{Date: Date{2026, 1, 2}, Hours: []SessionHours{}}}},
			"calendar: X: holiday 2026-01-02: special hours with no session (leave Hours nil to close the exchange)"},
		{"bad special hours", Config{Name: "X", Location: seoul, Hours: regular,
			Holidays: []Holiday{{Date: Date{2026, 1, 2}, Hours: []SessionHours{{Regular, hm(12, 0), hm(11, 0)}}}}},
			"calendar: X: holiday 2026-01-02: regular 12:00-11:00 does not close after it opens"},
	} {
		_, err := New(tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: New error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestWeekendSpecialSession(t *testing.T) {
	// A listed date with hours trades even on a weekend day (a special
	// Saturday session).
	krx := lookup(t, "XKRX")
	sat := Date{2026, time.January, 17}
	c, err := krx.WithHolidays(Holiday{Date: sat, Name: "Special session", Hours: []SessionHours{{Regular, hm(10, 0), hm(12, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsTradingDay(sat) || !c.IsOpen(instant(t, "2026-01-17T01:30:00Z")) {
		t.Error("special Saturday session is not open")
	}
	if krx.IsTradingDay(sat) {
		t.Error("WithHolidays changed the calendar it was called on")
	}
}

func BenchmarkSessionDay(b *testing.B) {
	c, _ := Lookup("XNYS")
	t0 := time.Date(2026, 1, 15, 15, 0, 0, 0, time.UTC)
	for i := 0; b.Loop(); i++ {
		c.SessionDay(t0.Add(time.Duration(i%1000) * time.Second))
	}
}
