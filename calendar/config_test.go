package calendar

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigValidate(t *testing.T) {
	xnys, err := Lookup("XNYS")
	if err != nil {
		t.Fatal(err)
	}
	ok := xnys.Config()
	noLoc := ok
	noLoc.Location = nil
	noHours := ok
	noHours.Hours = nil
	allWeek := ok
	allWeek.Weekend = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", ok, ""},
		{"zero", Config{}, "calendar: config has no name"},
		{"location", noLoc, "calendar: XNYS: no location"},
		{"hours", noHours, "calendar: XNYS: no trading sessions"},
		{"weekend", allWeek, "calendar: XNYS: every day of the week is a weekend day"},
	} {
		var got string
		if err := c.cfg.Validate(); err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Validate (-want +got):\n%s", c.name, diff)
		}
	}
}
