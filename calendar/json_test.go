package calendar

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sameZone compares locations by name: a decoded calendar loads its own.
var sameZone = cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })

func TestCalendarJSONRoundTrip(t *testing.T) {
	// A DoFn-like struct: Beam encodes DoFns with encoding/json.
	type fn struct {
		Cal     *Calendar `json:"cal"`
		Minutes int       `json:"minutes"`
	}
	for _, name := range Names() {
		c := lookup(t, name)
		b, err := json.Marshal(fn{c, 5})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got fn
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if diff := cmp.Diff(c.Config(), got.Cal.Config(), sameZone); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", name, diff)
		}
	}
}

func TestCalendarJSONForm(t *testing.T) {
	seoul := lookup(t, "XKRX").Location()
	c, err := New(Config{
		Name: "TEST", Location: seoul, Weekend: []time.Weekday{time.Saturday, time.Sunday},
		Hours:    []SessionHours{{Regular, hm(9, 0), hm(15, 30)}},
		Holidays: []Holiday{{Date: Date{2026, 1, 1}, Name: "New Year's Day"}, {Date: Date{2026, 1, 2}, Hours: []SessionHours{{Regular, hm(10, 0), hm(15, 30)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"TEST","location":"Asia/Seoul","hours":[{"kind":"regular","open":"09:00","close":"15:30"}],` +
		`"weekend":["Sunday","Saturday"],"holidays":[{"date":"2026-01-01","name":"New Year's Day"},` +
		`{"date":"2026-01-02","hours":[{"kind":"regular","open":"10:00","close":"15:30"}]}]}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
}

func TestCalendarJSONErrors(t *testing.T) {
	const base = `{"name":"T","location":"Asia/Seoul","hours":[{"kind":"regular","open":"09:00","close":"15:30"}]}`
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown zone", strings.Replace(base, "Asia/Seoul", "Mars/Olympus", 1), "calendar: T: unknown time zone Mars/Olympus"},
		{"bad weekday", strings.Replace(base, `"hours"`, `"weekend":["Caturday"],"hours"`, 1), `calendar: T: invalid weekend day "Caturday"`},
		{"bad hours", strings.Replace(base, "15:30", "3pm", 1), `calendar: invalid session hours "09:00"-"3pm" (want HH:MM)`},
		{"bad kind", strings.Replace(base, "regular", "lunch", 1), `calendar: unknown session "lunch" (want pre, regular or after)`},
		{"checked as New does", strings.Replace(base, `"open":"09:00"`, `"open":"16:00"`, 1), "calendar: T: hours: regular 16:00-15:30 does not close after it opens"},
	} {
		var c Calendar
		err := json.Unmarshal([]byte(tc.in), &c)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v\nwant  %s", tc.name, err, tc.want)
		}
	}
	var c Calendar
	err := json.Unmarshal([]byte(strings.Replace(base, `"T"`, "5", 1)), &c)
	if err == nil || !strings.HasPrefix(err.Error(), "calendar: json: cannot unmarshal number") {
		t.Errorf("name of the wrong type: error %v", err)
	}
	fixed, err := New(Config{Name: "F", Location: time.FixedZone("", 3600), Hours: []SessionHours{{Regular, 0, hm(1, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(fixed); err == nil || !strings.Contains(err.Error(), `calendar: F: location "" has no IANA name`) {
		t.Errorf("Marshal of a fixed zone: error %v", err)
	}
}
