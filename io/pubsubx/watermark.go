package pubsubx

import "time"

// The reader's watermark policy, as pure functions of what it has pulled.
//
// While messages come, the watermark moves to the oldest event time of the
// batches pulled in the last holdFor (and at least the last holdBatches),
// minus the delay: never to the newest, and never past an older message a
// batch just brought. A backlog is handed out roughly in publish order, so
// its replay keeps a margin of several batches, while a live stream is held
// back only holdFor. It jumps to the wall clock minus the delay only when
// the subscription is drained (see drained).
var (
	holdFor     = 250 * time.Millisecond
	holdBatches = 2
)

// hold remembers the oldest event time of the recent batches of a run.
type hold struct {
	recent []heldBatch // in pull order
}

type heldBatch struct {
	at     time.Time // when it was pulled
	oldest time.Time // its oldest event time
}

// observe records a batch pulled at now whose oldest event time is oldest,
// and returns the oldest event time of the recent batches, this one
// included.
func (h *hold) observe(now, oldest time.Time) time.Time {
	h.recent = append(h.recent, heldBatch{now, oldest})
	drop := 0
	for drop < len(h.recent)-holdBatches && now.Sub(h.recent[drop].at) > holdFor {
		drop++
	}
	h.recent = append(h.recent[:0], h.recent[drop:]...)
	for _, b := range h.recent {
		oldest = minTime(oldest, b.oldest)
	}
	return oldest
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
