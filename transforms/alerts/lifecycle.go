package alerts

import "time"

// limitSide says which limit of a limitState a value reached.
type limitSide int8

// Sides of a limitState.
const (
	noSide   limitSide = 0
	highSide limitSide = 1  // the value reached the high limit (at or above it)
	lowSide  limitSide = -1 // the value reached the low limit (at or below it)
)

// limitState is the lifecycle shared by the threshold rules: hysteresis and a
// cooldown, for one rule and one symbol. It is a pure state machine: feed it a
// symbol's values in event-time order.
//
// A limit fires when the value reaches it (value >= High, value <= Low) while
// the limit is armed. Firing disarms the limit; it re-arms once the value is
// back past the limit by Band (value < High-Band, value > Low+Band), so a
// value hovering around a limit fires once, not on every wiggle. With Cross a
// limit starts disarmed: it fires only on a crossing from the other side,
// never on the first value seen. Without Cross it starts armed: a value
// already beyond the limit fires at once (seed 002's "below a level").
//
// Cooldown is per rule and symbol, in event time, shared by both limits:
// after a firing at t nothing fires before t+Cooldown. A value that would
// fire during the cooldown is suppressed but does not use up the arm, so the
// first value still beyond the limit after the cooldown fires.
type limitState struct {
	HasHigh, HasLow bool
	High, Low       float64
	Band            float64
	Cross           bool
	Cooldown        time.Duration

	// State.
	Started           bool
	HighArmed         bool
	LowArmed          bool
	Fired             bool
	LastFired         time.Time
	SuppressedFirings int64
}

// Evaluate takes the value at event time t and reports the limit that fires,
// noSide when none does.
func (th *limitState) Evaluate(v float64, t time.Time) limitSide {
	if !th.Started {
		th.Started = true
		th.HighArmed, th.LowArmed = !th.Cross, !th.Cross
	}
	if th.HasHigh && th.step(&th.HighArmed, v >= th.High, v < th.High-th.Band, t) {
		return highSide
	}
	if th.HasLow && th.step(&th.LowArmed, v <= th.Low, v > th.Low+th.Band, t) {
		return lowSide
	}
	return noSide
}

func (th *limitState) step(armed *bool, beyond, back bool, t time.Time) bool {
	switch {
	case beyond && *armed:
		if !th.Ready(t) {
			th.SuppressedFirings++
			return false
		}
		*armed = false
		th.Fire(t)
		return true
	case back:
		*armed = true
	}
	return false
}

// Ready reports whether the cooldown allows a firing at t.
func (th *limitState) Ready(t time.Time) bool {
	return !th.Fired || !t.Before(th.LastFired.Add(th.Cooldown))
}

// Fire records a firing at t, starting the cooldown.
func (th *limitState) Fire(t time.Time) {
	th.Fired = true
	th.LastFired = t
}

// eventCooldown is the lifecycle of event rules (crossovers), which have no
// threshold to hysterese: a per rule and symbol cooldown in event time.
type eventCooldown struct {
	Period    time.Duration
	Fired     bool
	LastFired time.Time
}

// Allow reports whether an event at t may fire and, if so, records it.
func (c *eventCooldown) Allow(t time.Time) bool {
	if c.Fired && t.Before(c.LastFired.Add(c.Period)) {
		return false
	}
	c.Fired, c.LastFired = true, t
	return true
}
