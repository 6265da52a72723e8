package pubsubx

import "time"

// The reader's watermark policy, as pure functions of what it has pulled.
//
// A subscription hands out a backlog roughly, not exactly, in publish order
// (a publisher's concurrent requests land out of order, redeliveries come
// back later), so one batch says little about the next: the first batch of
// a backlog may well be newer than the second. While messages come, the
// watermark moves only to the oldest event time of every batch pulled in the
// last span and of the newest batch before them, minus the delay: a message
// may come up to span of pulling out of order and stay on time. Before a run
// has pulled for holdFor, it does not move at all. It jumps to the wall clock
// minus the delay only when the subscription is drained (see drained).
//
// The span adapts to the disorder the run has seen. It starts at holdFor:
// 2 s, because with 250 ms the end-to-end tests lost trades on a loaded 2-core
// machine, where the pull holding a backlog's older messages came more than
// 250 ms after a newer one. Each batch older than the batch pulled just before
// it needed the span to reach back to the newest earlier batch at least as
// old (its need). A need at or past the span puts it back to holdFor at once
// (that batch may have come late) and for calmFor after; calmFor after the
// run's first pull or such a need, the span is twice the largest need of the
// last calmFor, at least minHold and at most holdFor. A live feed pulled in
// order so holds its watermark about minHold instead of 2 s.
var (
	holdFor = 2 * time.Second
	minHold = 250 * time.Millisecond
	calmFor = time.Minute
)

// hold remembers the oldest event time of the recent batches of a run and
// the disorder it has seen.
type hold struct {
	recent []heldBatch // in pull order, the batches of the last holdFor and the one before
	first  time.Time   // the run's first pull
	needs  []heldNeed  // the needs of the last calmFor, each larger than the later ones
	span   time.Duration
	calm   time.Time // the first pull, or the last need at or past the span
	resets int64     // needs at or past the span since takeResets
}

// takeResets returns how many batches came out of order by the span or
// more (each putting the span back to holdFor) since it was last called.
func (h *hold) takeResets() int64 {
	n := h.resets
	h.resets = 0
	return n
}

type heldBatch struct {
	at     time.Time // when it was pulled
	oldest time.Time // its oldest event time
}

// heldNeed is the pull-time span a batch pulled at at needed.
type heldNeed struct {
	at   time.Time
	need time.Duration
}

// observe records a batch pulled at now whose oldest event time is oldest,
// and returns the oldest event time of the batches of the last span and the
// newest one before them; ok is false when the run has not pulled for
// holdFor yet.
func (h *hold) observe(now, oldest time.Time) (t time.Time, ok bool) {
	if h.first.IsZero() {
		h.first, h.span, h.calm = now, holdFor, now
	}
	h.adapt(now, h.need(now, oldest))
	h.recent = append(h.recent, heldBatch{now, oldest})
	// Keep holdFor of batches whatever the span: a need is measured
	// against them, and a span back at holdFor needs them at once.
	drop := 0
	for drop+1 < len(h.recent) && now.Sub(h.recent[drop+1].at) >= holdFor {
		drop++
	}
	h.recent = append(h.recent[:0], h.recent[drop:]...)
	if now.Sub(h.first) < holdFor {
		return time.Time{}, false
	}
	// The batches of the last span and the newest one before them.
	from := 0
	for from+1 < len(h.recent) && now.Sub(h.recent[from+1].at) >= h.span {
		from++
	}
	for _, b := range h.recent[from:] {
		oldest = minTime(oldest, b.oldest)
	}
	return oldest, true
}

// need is the span a batch pulled at now with this oldest event time needs:
// none when it is not older than the batch before it; else back to the
// newest earlier batch at least as old; holdFor when no batch held is.
func (h *hold) need(now, oldest time.Time) time.Duration {
	n := len(h.recent)
	if n == 0 || !oldest.Before(h.recent[n-1].oldest) {
		return 0
	}
	for i := n - 2; i >= 0; i-- {
		if !h.recent[i].oldest.After(oldest) {
			return now.Sub(h.recent[i].at)
		}
	}
	return holdFor
}

// adapt records a need and sets the span from the needs of the last calmFor.
func (h *hold) adapt(now time.Time, need time.Duration) {
	drop := 0
	for drop < len(h.needs) && now.Sub(h.needs[drop].at) >= calmFor {
		drop++
	}
	h.needs = h.needs[drop:]
	if need > 0 {
		// Only the needs larger than every later one can be the largest.
		n := len(h.needs)
		for n > 0 && h.needs[n-1].need <= need {
			n--
		}
		h.needs = append(h.needs[:n], heldNeed{now, need})
	}
	switch {
	case need >= h.span:
		h.span, h.calm = holdFor, now
		h.resets++
	case now.Sub(h.calm) >= calmFor:
		largest := time.Duration(0)
		if len(h.needs) > 0 {
			largest = h.needs[0].need
		}
		h.span = min(max(2*largest, minHold), holdFor)
	}
}

// dataWatermark is the watermark after a batch: oldest (of the recent
// batches) minus delay, never past the wall clock minus delay, never back
// from cur.
func dataWatermark(cur, oldest, now time.Time, delay time.Duration) time.Time {
	return maxTime(cur, minTime(oldest, now).Add(-delay))
}

// idleWatermark is the watermark of a drained subscription: the wall clock
// minus delay, never back from cur.
func idleWatermark(cur, now time.Time, delay time.Duration) time.Time {
	return maxTime(cur, now.Add(-delay))
}
