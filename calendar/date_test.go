package calendar

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "2026-01-15", want: "2026-01-15"},
		{in: "2028-02-29", want: "2028-02-29"},
		{in: "2026-02-29", err: `invalid date "2026-02-29" (want YYYY-MM-DD)`},
		{in: "2026-1-5", err: `invalid date "2026-1-5" (want YYYY-MM-DD)`},
		{in: "2026-01-15T00:00:00Z", err: `invalid date "2026-01-15T00:00:00Z" (want YYYY-MM-DD)`},
		{in: "", err: `invalid date "" (want YYYY-MM-DD)`},
	} {
		d, err := ParseDate(tc.in)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseDate(%q) error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || d.String() != tc.want):
			t.Errorf("ParseDate(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := Date{2026, time.December, 31}
	for _, tc := range []struct {
		got, want string
	}{
		{d.AddDays(1).String(), "2027-01-01"},
		{d.AddDays(-365).String(), "2025-12-31"},
		{Date{2026, time.March, 1}.AddDays(-1).String(), "2026-02-28"},
		{Date{2026, time.March, 8}.AddDays(1).String(), "2026-03-09"},
		{d.Weekday().String(), "Thursday"},
		{Date{}.String(), "0000-00-00"},
		{d.In(time.UTC).Format(time.RFC3339), "2026-12-31T00:00:00Z"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if !(Date{}).IsZero() || d.IsZero() {
		t.Error("IsZero")
	}
	e := Date{2027, time.January, 1}
	if d.Compare(e) != -1 || e.Compare(d) != 1 || d.Compare(d) != 0 || !d.Before(e) || !e.After(d) || d.After(d) {
		t.Error("Compare, Before or After")
	}
	if (Date{2026, 2, 30}).valid() || (Date{2026, 13, 1}).valid() || !d.valid() {
		t.Error("valid")
	}
}

func TestDateOf(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	tm := time.Date(2026, 1, 14, 23, 30, 0, 0, time.UTC)
	if got := DateOf(tm).String(); got != "2026-01-14" {
		t.Errorf("DateOf(UTC) = %s", got)
	}
	if got := DateOf(tm.In(seoul)).String(); got != "2026-01-15" {
		t.Errorf("DateOf(Seoul) = %s", got)
	}
}

func TestDateJSON(t *testing.T) {
	type row struct {
		SessionDate Date `json:"session_date"`
	}
	b, err := json.Marshal(row{Date{2026, 1, 15}})
	if err != nil || string(b) != `{"session_date":"2026-01-15"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var r row
	if err := json.Unmarshal([]byte(`{"session_date":"2026-11-27"}`), &r); err != nil || r.SessionDate != (Date{2026, 11, 27}) {
		t.Errorf("Unmarshal = %v, %v", r, err)
	}
	err = json.Unmarshal([]byte(`{"session_date":"2026-11-31"}`), &r)
	if want := `calendar: invalid date "2026-11-31" (want YYYY-MM-DD)`; err == nil || err.Error() != want {
		t.Errorf("Unmarshal error %v, want %q", err, want)
	}
}
