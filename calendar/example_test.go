package calendar_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam/calendar"
)

func Example() {
	nyse, err := calendar.Lookup("NYSE")
	if err != nil {
		panic(err)
	}
	// 09:30 in New York is 14:30Z before the March 8 2026 clock change and
	// 13:30Z after it.
	for _, s := range []string{"2026-03-06T14:30:00Z", "2026-03-09T13:30:00Z", "2026-03-07T14:30:00Z"} {
		t, _ := time.Parse(time.RFC3339, s)
		day, ok := nyse.SessionDay(t)
		fmt.Println(s, nyse.IsOpen(t, calendar.Regular), day, ok)
	}
	// Output:
	// 2026-03-06T14:30:00Z true 2026-03-06 true
	// 2026-03-09T13:30:00Z true 2026-03-09 true
	// 2026-03-07T14:30:00Z false 0000-00-00 false
}

func ExampleCalendar_SessionDay() {
	krx, _ := calendar.Lookup("XKRX")
	// 23:30Z is 08:30 the next morning in Seoul: the pre-market session of
	// the next trading day, not the UTC date.
	t := time.Date(2026, 1, 14, 23, 30, 0, 0, time.UTC)
	day, _ := krx.SessionDay(t)
	s, _ := krx.SessionAt(t)
	fmt.Println(day, s.Kind)
	// Output: 2026-01-15 pre
}

func ExampleCalendar_NextOpen() {
	nyse, _ := calendar.Lookup("XNYS")
	ny := nyse.Location()
	// Friday January 16 2026, 21:00 in New York; Monday is Martin Luther
	// King, Jr. Day.
	friday := time.Date(2026, 1, 16, 21, 0, 0, 0, ny)
	fmt.Println(nyse.NextOpen(friday).In(ny))
	fmt.Println(nyse.NextOpen(friday, calendar.Regular).UTC())
	// Output:
	// 2026-01-20 04:00:00 -0500 EST
	// 2026-01-20 14:30:00 +0000 UTC
}

func ExampleCalendar_NextClose() {
	nyse, _ := calendar.Lookup("XNYS")
	// The day after Thanksgiving closes at 13:00, after-hours at 17:00.
	t := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // 10:00 in New York
	fmt.Println(nyse.NextClose(t, calendar.Regular).UTC())
	fmt.Println(nyse.NextClose(t).UTC())
	// Output:
	// 2026-11-27 18:00:00 +0000 UTC
	// 2026-11-27 22:00:00 +0000 UTC
}

func ExampleCalendar_Sessions() {
	nyse, _ := calendar.Lookup("XNYS")
	for _, s := range nyse.Sessions(calendar.Date{Year: 2026, Month: time.December, Day: 24}) {
		fmt.Println(s.Kind, s.Open.Format("15:04"), s.Close.Format("15:04 MST"))
	}
	// Output:
	// pre 04:00 09:30 EST
	// regular 09:30 13:00 EST
	// after 13:00 17:00 EST
}

func ExampleCalendar_LoadHolidays() {
	krx, _ := calendar.Lookup("XKRX")
	own, err := krx.LoadHolidays(strings.NewReader(`
# our desk's list
2026-04-15 Temporary holiday
2026-06-30 early 12:00 after none Half day
`))
	if err != nil {
		panic(err)
	}
	for _, d := range []calendar.Date{{2026, 4, 15}, {2026, 6, 30}} {
		h, _ := own.Holiday(d)
		fmt.Println(h)
	}
	_, err = krx.LoadHolidays(strings.NewReader("2026-04-15 Holiday\n2026-02-30 Typo\n"))
	fmt.Println(err)
	// Output:
	// 2026-04-15 Temporary holiday (closed)
	// 2026-06-30 Half day (pre 08:30-08:40, regular 09:00-12:00)
	// calendar: line 2: invalid date "2026-02-30" (want YYYY-MM-DD)
}

func ExampleParseSessions() {
	kinds, err := calendar.ParseSessions("regular,pre")
	fmt.Println(kinds, err)
	_, err = calendar.ParseSessions("pre,lunch")
	fmt.Println(err)
	// Output:
	// [pre regular] <nil>
	// calendar: unknown session "lunch" in "pre,lunch" (want pre, regular, after or all)
}
