package pubsubx

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestWatermarkWhileData replays sequences of batches (pulled at, oldest
// event time) through the hold (holdFor 250ms) and dataWatermark, as
// ProcessElement does, and checks the watermark after each batch.
func TestWatermarkWhileData(t *testing.T) {
	defer func(d time.Duration) { holdFor = d }(holdFor)
	holdFor = 250 * time.Millisecond
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) // the wall clock at the first pull
	ev := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)  // event times of a backlog
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	type pullAt struct {
		at     time.Duration // after t0
		oldest time.Time
	}
	tests := []struct {
		name  string
		delay time.Duration
		pulls []pullAt
		want  []time.Time // watermark after each pull
	}{
		{
			name:  "backlog: nothing moves for the first 250ms, then the oldest of the last 250ms and the batch before",
			delay: s(1),
			pulls: []pullAt{{ms(0), ev}, {ms(10), ev.Add(s(60))}, {ms(20), ev.Add(s(120))}, {ms(300), ev.Add(s(180))}, {ms(310), ev.Add(s(240))}},
			want:  []time.Time{{}, {}, {}, ev.Add(s(119)), ev.Add(s(119))},
		},
		{
			name:  "backlog whose first batch is newer than the second: the second is on time",
			delay: s(1),
			pulls: []pullAt{{ms(0), ev.Add(s(5))}, {ms(10), ev}, {ms(300), ev.Add(s(60))}},
			want:  []time.Time{{}, {}, ev.Add(-s(1))},
		},
		{
			name:  "an older batch holds the watermark while it is recent",
			delay: s(1),
			pulls: []pullAt{{ms(0), ev.Add(s(60))}, {ms(300), ev.Add(s(120))}, {ms(310), ev.Add(s(90))}, {ms(600), ev.Add(s(180))}, {ms(900), ev.Add(s(240))}},
			want:  []time.Time{{}, ev.Add(s(59)), ev.Add(s(59)), ev.Add(s(89)), ev.Add(s(179))},
		},
		{
			name:  "slow live feed: held back by the batch before",
			delay: ms(500),
			pulls: []pullAt{{s(0), t0.Add(-ms(20))}, {s(1), t0.Add(s(1) - ms(20))}, {s(2), t0.Add(s(2) - ms(20))}},
			want:  []time.Time{{}, t0.Add(-ms(520)), t0.Add(s(1) - ms(520))},
		},
		{
			name:  "event times ahead of the wall clock do not move it past the wall clock",
			delay: s(1),
			pulls: []pullAt{{s(0), t0.Add(time.Hour)}, {s(1), t0.Add(time.Hour)}, {s(2), t0.Add(time.Hour)}},
			want:  []time.Time{{}, t0, t0.Add(s(1))},
		},
		{
			name:  "never back",
			delay: 0,
			pulls: []pullAt{{s(0), ev.Add(s(10))}, {s(1), ev.Add(s(20))}, {s(2), ev.Add(s(30))}, {s(3), ev}, {s(4), ev}, {s(5), ev}},
			want:  []time.Time{{}, ev.Add(s(10)), ev.Add(s(20)), ev.Add(s(20)), ev.Add(s(20)), ev.Add(s(20))},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h hold
			var wm time.Time
			var got []time.Time
			for _, p := range tc.pulls {
				now := t0.Add(p.at)
				if held, ok := h.observe(now, p.oldest); ok {
					wm = dataWatermark(wm, held, now, tc.delay)
				}
				got = append(got, wm)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("watermarks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDrained(t *testing.T) {
	idle := time.Second
	tests := []struct {
		name string
		s    subState
		want bool
	}{
		{"a pull waiting longer than the idle timeout", subState{quiet: 2 * time.Second}, true},
		{"exactly the idle timeout", subState{quiet: time.Second}, true},
		{"not waiting long enough", subState{quiet: 900 * time.Millisecond}, false},
		{"not waiting at all: flow control, an error, data just came", subState{}, false},
		{"messages buffered", subState{quiet: 2 * time.Second, buffered: 1}, false},
		{"messages put back not pulled again yet", subState{quiet: 2 * time.Second, back: time.Millisecond}, false},
		{"what was put back is long due", subState{quiet: 2 * time.Second, back: -time.Minute}, true},
	}
	for _, tc := range tests {
		if got := drained(tc.s, idle); got != tc.want {
			t.Errorf("%s: drained(%+v) = %v, want %v", tc.name, tc.s, got, tc.want)
		}
	}
}

func TestIdleWatermark(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		cur, want time.Time
		delay     time.Duration
	}{
		{time.Time{}, now.Add(-time.Second), time.Second},
		{now.Add(-time.Hour), now, 0},
		{now.Add(time.Minute), now.Add(time.Minute), time.Second}, // never back
	}
	for _, tc := range tests {
		if got := idleWatermark(tc.cur, now, tc.delay); !got.Equal(tc.want) {
			t.Errorf("idleWatermark(%v, now, %v) = %v, want %v", tc.cur, tc.delay, got, tc.want)
		}
	}
}

// TestHoldAdapts feeds a live feed pulled every 100 ms in order, then one
// batch out of order, and checks the span the hold settles on and the
// oldest event time it returns.
func TestHoldAdapts(t *testing.T) {
	defer func(h, m, c time.Duration) { holdFor, minHold, calmFor = h, m, c }(holdFor, minHold, calmFor)
	holdFor, minHold, calmFor = 2*time.Second, 250*time.Millisecond, 5*time.Second
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var h hold
	type check struct {
		span time.Duration
		held time.Time
	}
	got := map[string]check{}
	pull := func(name string, at time.Duration, oldest time.Time) {
		held, _ := h.observe(t0.Add(at), oldest)
		if name != "" {
			got[name] = check{h.span, held}
		}
	}
	live := func(from, to int, names map[int]string) { // pulls every 100 ms, each 20 ms old
		for at := from; at <= to; at += 100 {
			pull(names[at], ms(at), t0.Add(ms(at-20)))
		}
	}
	live(0, 7000, map[int]string{3000: "before calmFor", 7000: "in order after calmFor"})
	// 550 ms back to the newest batch as old (pulled at 6.5 s): past the span.
	pull("out of order", ms(7050), t0.Add(ms(6500)))
	live(7100, 13000, map[int]string{7100: "right after", 12000: "not calm for calmFor yet", 13000: "calm again"})

	want := map[string]check{
		// the newest batch pulled 2 s or more before: at 1.0 s
		"before calmFor": {holdFor, t0.Add(ms(980))},
		// no batch needed any span: minHold, so the batch pulled at 6.7 s
		"in order after calmFor": {minHold, t0.Add(ms(6680))},
		// holdFor at once: the batch pulled at 5.0 s
		"out of order": {holdFor, t0.Add(ms(4980))},
		"right after":  {holdFor, t0.Add(ms(5080))},
		// 4.95 s after it, still holdFor: the batch pulled at 10.0 s
		"not calm for calmFor yet": {holdFor, t0.Add(ms(9980))},
		// its need forgotten with it
		"calm again": {minHold, t0.Add(ms(12680))},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(check{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Only the out-of-order batch put the span back (counter hold_resets).
	if n := h.takeResets(); n != 1 {
		t.Errorf("resets = %d, want 1", n)
	}
	if n := h.takeResets(); n != 0 {
		t.Errorf("resets after taking them = %d, want 0", n)
	}
}
