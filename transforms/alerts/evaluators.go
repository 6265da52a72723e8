package alerts

import (
	"math"
	"time"
)

// volumeSpike detects a bar volume far above the trailing mean of the
// previous Window bars. It is a pure state machine over one symbol's bars in
// event-time order; its hysteresis and cooldown are its limitState's, in the
// unit of the metric (the ratio volume/mean with Factor, the z-score with
// ZScore).
type volumeSpike struct {
	Window int
	Factor float64 // fire when volume >= Factor × mean (0: use ZScore)
	ZScore float64 // fire when (volume − mean)/sd >= ZScore

	Th      limitState
	Volumes []float64 // ring buffer of the last Window volumes
	Next    int
}

// newVolumeSpike returns a volumeSpike with the threshold set from factor or z.
func newVolumeSpike(window int, factor, z, band float64, cooldown time.Duration) *volumeSpike {
	v := &volumeSpike{Window: window, Factor: factor, ZScore: z}
	v.Th = limitState{HasHigh: true, High: factor, Band: band, Cooldown: cooldown}
	if factor == 0 {
		v.Th.High = z
	}
	return v
}

// Evaluate takes a bar's volume at t. It reports whether the spike fires,
// the metric (ratio or z-score) and the volume level the threshold meant
// (Factor × mean, or mean + ZScore × sd). Nothing fires before Window bars
// have been seen, nor against a zero mean (ratio) or zero deviation (z).
func (v *volumeSpike) Evaluate(volume float64, t time.Time) (fire bool, metric, level float64) {
	defer v.push(volume)
	if len(v.Volumes) < v.Window {
		return false, 0, 0
	}
	mean, sd := meanSD(v.Volumes)
	if v.Factor > 0 {
		if mean <= 0 {
			return false, 0, 0
		}
		metric, level = volume/mean, v.Factor*mean
	} else {
		if sd <= 0 {
			return false, 0, 0
		}
		metric, level = (volume-mean)/sd, mean+v.ZScore*sd
	}
	return v.Th.Evaluate(metric, t) == highSide, metric, level
}

func (v *volumeSpike) push(x float64) {
	if len(v.Volumes) < v.Window {
		v.Volumes = append(v.Volumes, x)
		return
	}
	v.Volumes[v.Next] = x
	v.Next = (v.Next + 1) % v.Window
}

// meanSD is the mean and population standard deviation of xs (two-pass).
func meanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)))
}

// sessionVWAP is a running VWAP over a trading day: it restarts when the day
// changes.
type sessionVWAP struct {
	Day      string
	Notional float64
	Volume   float64
}

// Add folds a bar of the trading day day into the VWAP and returns it; ok is
// false while the day has no volume.
func (s *sessionVWAP) Add(day string, notional, volume float64) (vwap float64, ok bool) {
	if day != s.Day {
		*s = sessionVWAP{Day: day}
	}
	s.Notional += notional
	s.Volume += volume
	if s.Volume <= 0 {
		return 0, false
	}
	return s.Notional / s.Volume, true
}

// outlierDetector judges one symbol's trade prices, in event-time order,
// against its recent clean prices. A price is an outlier when it is beyond
// every limit set: more than Sigma population standard deviations from the
// mean of the last Window clean prices (with a zero deviation, any other
// price is beyond it), and more than Pct percent from the last clean price.
// Outliers do not enter the history, so a bad print cannot drag the
// reference along. AcceptAfter consecutive outliers on the same side of the
// last clean price are a new level: the last of them is accepted (not an
// outlier) and the history restarts from it. Nothing is judged before
// MinHistory clean prices.
type outlierDetector struct {
	Window      int
	Sigma, Pct  float64
	MinHistory  int
	AcceptAfter int // <= 0: never

	Prices      []float64 // ring buffer of the last Window clean prices
	Next        int
	Last        float64 // the last clean price
	Suspects    int     // consecutive outliers so far
	SuspectSide int8
}

// outlierVerdict is what outlierDetector.Evaluate found.
type outlierVerdict struct {
	Outlier  bool
	Accepted bool    // a new level was accepted: this price restarted the history
	Last     float64 // the last clean price before this one
	Mean, SD float64 // of the history before this price
	N        int     // prices in that history
	DevPct   float64 // |price − Last| / Last × 100
	DevSigma float64 // |price − Mean| / SD (+Inf when SD is 0 and price ≠ Mean)
}

// Evaluate judges price.
func (d *outlierDetector) Evaluate(price float64) outlierVerdict {
	if len(d.Prices) < d.MinHistory {
		d.accept(price)
		return outlierVerdict{}
	}
	v := outlierVerdict{Last: d.Last, N: len(d.Prices)}
	v.Mean, v.SD = meanSD(d.Prices)
	if d.Last != 0 {
		v.DevPct = math.Abs(price-d.Last) / math.Abs(d.Last) * 100
	}
	switch dev := math.Abs(price - v.Mean); {
	case v.SD > 0:
		v.DevSigma = dev / v.SD
	case dev > 0:
		v.DevSigma = math.Inf(1)
	}
	out := (d.Sigma > 0 || d.Pct > 0) &&
		(d.Sigma == 0 || v.DevSigma > d.Sigma) &&
		(d.Pct == 0 || v.DevPct > d.Pct)
	if !out {
		d.Suspects = 0
		d.accept(price)
		return v
	}
	side := int8(1)
	if price < d.Last {
		side = -1
	}
	if d.Suspects > 0 && side == d.SuspectSide {
		d.Suspects++
	} else {
		d.Suspects, d.SuspectSide = 1, side
	}
	if d.AcceptAfter > 0 && d.Suspects >= d.AcceptAfter {
		d.Prices, d.Next, d.Suspects = d.Prices[:0], 0, 0
		d.accept(price)
		v.Accepted = true
		return v
	}
	v.Outlier = true
	return v
}

func (d *outlierDetector) accept(price float64) {
	d.Last = price
	if len(d.Prices) < d.Window {
		d.Prices = append(d.Prices, price)
		return
	}
	d.Prices[d.Next] = price
	d.Next = (d.Next + 1) % d.Window
}

// staleness is the stale-feed state machine of one symbol: the last tick,
// when silence becomes an outage under a sessionSchedule, and whether an outage is
// under way (one alert per outage, a recovery when data returns).
type staleness struct {
	MaxSilence time.Duration

	Last   time.Time // event time of the latest tick
	Due    time.Time // when the silence since Last becomes an outage; zero: never
	Down   bool      // an outage was reported and data has not returned
	DownAt time.Time // when the outage was reported (its Due)
}

// Observe records a tick at t. recovered is true when it ends an outage;
// silence is then the event time since the previous tick. A tick not after
// Last changes nothing.
func (s *staleness) Observe(t time.Time, sc *sessionSchedule) (recovered bool, silence time.Duration) {
	if !s.Last.IsZero() && !t.After(s.Last) {
		return false, 0
	}
	if s.Down {
		recovered, silence = true, t.Sub(s.Last)
		s.Down, s.DownAt = false, time.Time{}
	}
	s.Last = t
	s.Due = sc.StaleDue(t, s.MaxSilence)
	return recovered, silence
}

// Check is called when event time reaches now. It reports whether an
// outage begins: the silence since Last has lasted MaxSilence of open
// schedule by now and was not reported yet.
func (s *staleness) Check(now time.Time) bool {
	if s.Down || s.Due.IsZero() || now.Before(s.Due) {
		return false
	}
	s.Down, s.DownAt = true, s.Due
	return true
}
