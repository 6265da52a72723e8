package pubsubx

import "time"

// The reader's watermark policy, as pure functions of what it has pulled.
//
// A subscription hands out a backlog roughly, not exactly, in publish order
// (a publisher's concurrent requests land out of order, redeliveries come
// back later), so one batch says little about the next: the first batch of
// a backlog may well be newer than the second. While messages come, the
// watermark moves only to the oldest event time of every batch pulled in the
// last holdFor and of the newest batch before them, minus the delay: a
// message may come up to holdFor of pulling out of order and stay on time.
// Before a run has pulled for holdFor, it does not move at all. It jumps to
// the wall clock minus the delay only when the subscription is drained (see
// drained).
//
// 2 s, not less: with 250 ms the end-to-end tests lost trades on a loaded
// 2-core machine, where the pull holding a backlog's older messages came more
// than 250 ms after a newer one. Live, it costs up to 2 s of bar latency.
var holdFor = 2 * time.Second

// hold remembers the oldest event time of the recent batches of a run.
type hold struct {
	recent []heldBatch // in pull order
}

type heldBatch struct {
	at     time.Time // when it was pulled
	oldest time.Time // its oldest event time
}

// observe records a batch pulled at now whose oldest event time is oldest,
// and returns the oldest event time of the batches of the last holdFor and
// the newest one before them; ok is false when the run has not pulled for
// holdFor yet.
func (h *hold) observe(now, oldest time.Time) (t time.Time, ok bool) {
	h.recent = append(h.recent, heldBatch{now, oldest})
	drop := 0
	for drop+1 < len(h.recent) && now.Sub(h.recent[drop+1].at) >= holdFor {
		drop++
	}
	h.recent = append(h.recent[:0], h.recent[drop:]...)
	if now.Sub(h.recent[0].at) < holdFor {
		return time.Time{}, false
	}
	for _, b := range h.recent {
		oldest = minTime(oldest, b.oldest)
	}
	return oldest, true
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
