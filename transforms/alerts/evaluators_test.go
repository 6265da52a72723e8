package alerts

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/calendar"
)

var seoul = mustLoc("Asia/Seoul")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// kst is a Seoul wall-clock time in 2026.
func kst(month time.Month, day, h, m, s int) time.Time {
	return time.Date(2026, month, day, h, m, s, 0, seoul)
}

var t0 = time.Date(2026, 1, 15, 14, 30, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func TestThreshold(t *testing.T) {
	type step struct {
		v    float64
		min  int
		want limitSide
	}
	for _, c := range []struct {
		name  string
		th    limitState
		steps []step
	}{
		{
			name:  "level below fires on the first value already below",
			th:    limitState{HasLow: true, Low: 100},
			steps: []step{{99, 0, lowSide}, {98, 1, noSide}, {100.5, 2, noSide}, {100, 3, lowSide}},
		},
		{
			name:  "crossing needs the other side first",
			th:    limitState{HasHigh: true, High: 100, Cross: true},
			steps: []step{{101, 0, noSide}, {99, 1, noSide}, {100, 2, highSide}, {102, 3, noSide}, {99.9, 4, noSide}, {100.1, 5, highSide}},
		},
		{
			name:  "band: re-arms only below threshold minus band",
			th:    limitState{HasHigh: true, High: 100, Band: 2},
			steps: []step{{100, 0, highSide}, {99, 1, noSide}, {101, 2, noSide}, {98.5, 3, noSide}, {100, 4, noSide}, {97.9, 5, noSide}, {100, 6, highSide}},
		},
		{
			name: "both sides, band, shared cooldown; a suppressed firing keeps its arm",
			th:   limitState{HasHigh: true, High: 5, HasLow: true, Low: -5, Band: 1, Cooldown: 10 * time.Minute},
			steps: []step{
				{5.2, 0, highSide},  // fires, cooldown to minute 10
				{-6, 3, noSide},     // low limit armed but in cooldown: suppressed
				{-5.5, 10, lowSide}, // cooldown over, still armed: fires
				{3.9, 11, noSide},   // high re-armed (3.9 < 5-1)
				{6, 15, noSide},     // in cooldown (until 20)
				{5.1, 20, highSide}, // fires at the end of the cooldown
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			th := c.th
			for i, s := range c.steps {
				if got := th.Evaluate(s.v, at(s.min)); got != s.want {
					t.Errorf("step %d (%g at +%dm): got %v, want %v", i, s.v, s.min, got, s.want)
				}
			}
		})
	}
}

func TestCooldown(t *testing.T) {
	c := eventCooldown{Period: 5 * time.Minute}
	var got []bool
	for _, m := range []int{0, 1, 4, 5, 6, 11} {
		got = append(got, c.Allow(at(m)))
	}
	if diff := cmp.Diff([]bool{true, false, false, true, false, true}, got); diff != "" {
		t.Errorf("Allow (-want +got):\n%s", diff)
	}
}

func TestVolumeSpike(t *testing.T) {
	type out struct {
		Fire          bool
		Metric, Level float64
	}
	t.Run("factor", func(t *testing.T) {
		v := newVolumeSpike(3, 2, 0, 0.5, 0)
		var got []out
		// Means of the previous three: -, -, -, 100, 200, 200, 466.67.
		for i, vol := range []float64{100, 100, 100, 400, 100, 900, 700} {
			f, m, l := v.Evaluate(vol, at(i))
			got = append(got, out{f, m, l})
		}
		want := []out{{}, {}, {}, {true, 4, 200}, {false, 0.5, 400}, {true, 4.5, 400}, {false, 1.5, 933.3333333333334}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("zscore", func(t *testing.T) {
		v := newVolumeSpike(4, 0, 3, 0, 0)
		var got []out
		// History 10, 20, 10, 20: mean 15, sd 5; 31 is 3.2 sd above.
		for i, vol := range []float64{10, 20, 10, 20, 31} {
			f, m, l := v.Evaluate(vol, at(i))
			got = append(got, out{f, m, l})
		}
		want := []out{{}, {}, {}, {}, {true, 3.2, 30}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestSessionVWAP(t *testing.T) {
	var s sessionVWAP
	v1, _ := s.Add("2026-01-15", 1000, 10)
	v2, _ := s.Add("2026-01-15", 2200, 20)
	v3, _ := s.Add("2026-01-16", 500, 5)
	if diff := cmp.Diff([]float64{100, 3200.0 / 30, 100}, []float64{v1, v2, v3}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOutlierDetector(t *testing.T) {
	d := outlierDetector{Window: 4, Pct: 5, Sigma: 3, MinHistory: 4, AcceptAfter: 3}
	type out struct {
		Price    float64
		Outlier  bool
		Accepted bool
	}
	var got []out
	for _, p := range []float64{
		100, 101, 99, 100, // history
		150,        // 50% and far beyond 3 sd: outlier, not in the history
		100.5,      // clean
		103,        // 2.5%: within 5%, clean although > 3 sd
		80, 81, 79, // three outliers below in a row: the third is a new level
		80.5, 79.5, 80, // warm-up of the new history (min 4): clean
		80.2, // clean against the new level
		160,  // outlier again
	} {
		v := d.Evaluate(p)
		got = append(got, out{p, v.Outlier, v.Accepted})
	}
	want := []out{
		{100, false, false}, {101, false, false}, {99, false, false}, {100, false, false},
		{150, true, false}, {100.5, false, false}, {103, false, false},
		{80, true, false}, {81, true, false}, {79, false, true},
		{80.5, false, false}, {79.5, false, false}, {80, false, false}, {80.2, false, false},
		{160, true, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Sigma alone against a flat history: any other price is beyond it.
	flat := outlierDetector{Window: 3, Sigma: 4, MinHistory: 3}
	for _, p := range []float64{10, 10, 10} {
		flat.Evaluate(p)
	}
	if v := flat.Evaluate(10.5); !v.Outlier || !math.IsInf(v.DevSigma, 1) {
		t.Errorf("flat history: %+v, want an outlier at +Inf sigma", v)
	}
}

func krxSchedule(t *testing.T) *sessionSchedule {
	t.Helper()
	sc, err := newSchedule(&Sessions{Calendar: "XKRX", Hours: "08:50-16:00"})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestScheduleStaleDue(t *testing.T) {
	sc := krxSchedule(t)
	regular, err := newSchedule(&Sessions{Calendar: "XKRX", Kinds: []calendar.SessionKind{calendar.Pre, calendar.Regular}})
	if err != nil {
		t.Fatal(err)
	}
	crypto, err := newSchedule(&Sessions{Calendar: "CRYPTO"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		sc   *sessionSchedule
		last time.Time
		want time.Time
	}{
		{"Tuesday mid-session", sc, kst(3, 3, 10, 0, 0), kst(3, 3, 10, 5, 0)},
		{"would end at the close: next open", sc, kst(3, 3, 15, 55, 0), kst(3, 4, 8, 55, 0)},
		{"just before the close", sc, kst(3, 3, 15, 54, 59), kst(3, 3, 15, 59, 59)},
		{"Friday evening: weekend and the March 2 holiday skipped", sc, kst(2, 27, 15, 59, 30), kst(3, 3, 8, 55, 0)},
		{"Saturday tick", sc, kst(2, 28, 11, 0, 0), kst(3, 3, 8, 55, 0)},
		{"before the open", sc, kst(3, 3, 7, 0, 0), kst(3, 3, 8, 55, 0)},
		{"calendar sessions: the 08:40-09:00 gap does not count", regular, kst(3, 3, 8, 38, 0), kst(3, 3, 9, 5, 0)},
		{"calendar sessions: within the pre-market", regular, kst(3, 3, 8, 30, 0), kst(3, 3, 8, 35, 0)},
		{"24/7 across midnight", crypto, time.Date(2026, 3, 1, 23, 58, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 3, 0, 0, time.UTC)},
		{"no schedule", nil, kst(2, 28, 11, 0, 0), kst(2, 28, 11, 5, 0)},
	} {
		if got := c.sc.StaleDue(c.last, 5*time.Minute); !got.Equal(c.want) {
			t.Errorf("%s: StaleDue(%v) = %v, want %v", c.name, c.last, got.In(seoul), c.want)
		}
	}
	if !sc.IsOpen(kst(3, 3, 8, 50, 0)) || sc.IsOpen(kst(3, 3, 16, 0, 0)) || sc.IsOpen(kst(2, 28, 10, 0, 0)) || sc.IsOpen(kst(3, 2, 10, 0, 0)) {
		t.Error("IsOpen: want open at 08:50 on a trading day, closed at 16:00, on Saturday and on the March 2 holiday")
	}
}

func TestStaleness(t *testing.T) {
	sc := krxSchedule(t)
	s := staleness{MaxSilence: 5 * time.Minute}
	type ev struct {
		Recovered bool
		Silence   time.Duration
		Due       time.Time
	}
	obs := func(tm time.Time) ev {
		r, sil := s.Observe(tm, sc)
		return ev{r, sil, s.Due}
	}
	if diff := cmp.Diff(ev{Due: kst(3, 3, 10, 5, 0)}, obs(kst(3, 3, 10, 0, 0))); diff != "" {
		t.Error(diff)
	}
	if s.Check(kst(3, 3, 10, 4, 59)) {
		t.Error("Check before due fired")
	}
	if !s.Check(kst(3, 3, 10, 5, 0)) || s.Check(kst(3, 3, 10, 10, 0)) {
		t.Error("want exactly one outage at 10:05")
	}
	if diff := cmp.Diff(ev{Due: kst(3, 3, 10, 5, 0)}, obs(kst(3, 3, 9, 59, 0))); diff != "" {
		t.Errorf("an older tick changed the state: %s", diff)
	}
	if diff := cmp.Diff(ev{true, 20 * time.Minute, kst(3, 3, 10, 25, 0)}, obs(kst(3, 3, 10, 20, 0))); diff != "" {
		t.Errorf("recovery (-want +got):\n%s", diff)
	}
}
