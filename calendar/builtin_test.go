package calendar

import (
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name, want, zone string
	}{
		{"XKRX", "XKRX", "Asia/Seoul"},
		{"krx", "XKRX", "Asia/Seoul"},
		{"XNYS", "XNYS", "America/New_York"},
		{" nyse ", "XNYS", "America/New_York"},
		{"xnas", "XNAS", "America/New_York"},
		{"Nasdaq", "XNAS", "America/New_York"},
		{"CRYPTO", "CRYPTO", "UTC"},
		{"24/7", "CRYPTO", "UTC"},
		{"24x7", "CRYPTO", "UTC"},
	} {
		c, err := Lookup(tc.name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tc.name, err)
			continue
		}
		if c.Name() != tc.want || c.String() != tc.want || c.Location().String() != tc.zone {
			t.Errorf("Lookup(%q) = %v in %v, want %s in %s", tc.name, c, c.Location(), tc.want, tc.zone)
		}
		if again, _ := Lookup(tc.want); again != c {
			t.Errorf("Lookup(%q) and Lookup(%q) differ", tc.name, tc.want)
		}
	}
	_, err := Lookup("XLON")
	if want := `calendar: unknown calendar "XLON" (known: XKRX, XNYS, XNAS, CRYPTO)`; err == nil || err.Error() != want {
		t.Errorf("Lookup(XLON) error %v, want %q", err, want)
	}
	for _, name := range Names() {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
}

func TestBuiltinWeekends(t *testing.T) {
	for name, want := range map[string][]time.Weekday{
		"XKRX":   {time.Sunday, time.Saturday},
		"XNYS":   {time.Sunday, time.Saturday},
		"XNAS":   {time.Sunday, time.Saturday},
		"CRYPTO": nil,
	} {
		got := lookup(t, name).Config().Weekend
		if len(got) != len(want) || (len(got) == 2 && (got[0] != want[0] || got[1] != want[1])) {
			t.Errorf("%s weekend %v, want %v", name, got, want)
		}
	}
}
