package indicators

import "math"

// Value is one indicator's output for one bar, matching the value columns of
// an IndicatorValue row. Value is the line (SMA, EMA, RSI, MACD line,
// Bollinger middle, VWAP distance in percent); Signal and Histogram are set
// for MACD only, Upper and Lower for Bollinger bands only; unused fields are 0.
type Value struct {
	Value     float64
	Signal    float64
	Histogram float64
	Upper     float64
	Lower     float64
}

// Indicator is an incremental indicator over the bars of one symbol, fed in
// event-time order. Update takes the bar's close and VWAP (only VWAPDistance
// reads the VWAP) and returns the indicator's value for that bar, with false
// while the indicator is warming up. A non-finite close is ignored: no state
// changes and Update returns false.
//
// State is bounded: at most one float64 per unit of the period is retained.
type Indicator interface {
	Spec() Spec
	Name() string
	Update(close, vwap float64) (Value, bool)
}

// indicator is what every implementation provides; Set relies on it to
// serialize state.
type indicator interface {
	Indicator
	encode(e *encoder)
	decode(d *decoder)
}

// New returns a fresh indicator for spec.
func New(spec Spec) (Indicator, error) { return newIndicator(spec) }

func newIndicator(spec Spec) (indicator, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.clone()
	switch spec.Kind {
	case KindSMA:
		return &smaInd{spec: spec, w: newWindow(spec.period(0))}, nil
	case KindEMA:
		return &emaInd{spec: spec, e: newEMA(spec.period(0))}, nil
	case KindRSI:
		return &rsiInd{spec: spec, n: spec.period(0)}, nil
	case KindMACD:
		return &macdInd{spec: spec,
			fast:   newEMA(spec.period(0)),
			slow:   newEMA(spec.period(1)),
			signal: newEMA(spec.period(2)),
		}, nil
	case KindBollinger:
		return &bbInd{spec: spec, w: newWindow(spec.period(0)), k: spec.Params[1]}, nil
	case KindVWAPDistance:
		return &vwapDistInd{spec: spec}, nil
	}
	panic("indicators: unreachable kind " + spec.Kind)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// window holds the last n inputs in a ring buffer with their mean and sum of
// squared deviations (m2), updated in O(1) per input with Welford's sliding
// formulas. Rounding cannot accumulate: the window recomputes mean and m2
// exactly (compensated two-pass over the buffer) when it first fills, after
// every n further inputs, and sooner whenever a running bound on the rounding
// error of the sliding updates exceeds 1e-12 of the mean's scale
// (|mean| + sd) or 1e-10 of m2, as when an outlier leaves the window and its
// removal cancels most digits. Amortized cost stays O(1) per input for
// ordinary data.
type window struct {
	n       int
	buf     []float64 // len ≤ n == cap; a ring once full
	next    int       // once full: index of the oldest value, overwritten next
	mean    float64
	m2      float64
	stale   int     // sliding steps since the last exact recompute
	errMean float64 // bound on the rounding error of mean since then
	errM2   float64 // likewise for m2
}

const (
	unitRoundoff = 0x1p-53
	meanTol      = 1e-12 // relative error of mean that forces a recompute
	m2Tol        = 1e-10 // relative error of m2 (half that of the deviation)
)

func newWindow(n int) window { return window{n: n, buf: make([]float64, 0, n)} }

func (w *window) full() bool { return len(w.buf) == w.n }

func (w *window) push(x float64) {
	if len(w.buf) < w.n {
		w.buf = append(w.buf, x)
		d := x - w.mean
		w.mean += d / float64(len(w.buf))
		w.m2 += d * (x - w.mean)
		if w.full() {
			w.recompute()
		}
		return
	}
	old := w.buf[w.next]
	w.buf[w.next] = x
	w.next++
	if w.next == w.n {
		w.next = 0
	}
	n := float64(w.n)
	oldMean := w.mean
	dx := x - old
	w.mean += dx / n
	t := dx * (x - w.mean + old - oldMean)
	w.m2 += t
	if w.m2 < 0 {
		w.m2 = 0
	}
	const u = unitRoundoff
	w.errM2 += u*(math.Abs(w.m2)+4*math.Abs(t)) + 2*math.Abs(dx)*w.errMean
	w.errMean += u * (math.Abs(w.mean) + 3*math.Abs(dx)/n)
	w.stale++
	if w.stale >= w.n || w.errMean > meanTol*(math.Abs(w.mean)+math.Sqrt(w.m2/n)) || w.errM2 > m2Tol*w.m2 {
		w.recompute()
	}
}

// recompute sets mean and m2 from the buffer: a Neumaier-compensated sum for
// the mean, then the corrected two-pass sum of squared deviations.
func (w *window) recompute() {
	w.stale, w.errMean, w.errM2 = 0, 0, 0
	if len(w.buf) == 0 {
		w.mean, w.m2 = 0, 0
		return
	}
	k := float64(len(w.buf))
	w.mean = neumaierSum(w.buf) / k
	var ss, s float64
	for _, v := range w.buf {
		d := v - w.mean
		ss += d * d
		s += d
	}
	w.m2 = ss - s*s/k
	if w.m2 < 0 {
		w.m2 = 0
	}
}

func neumaierSum(xs []float64) float64 {
	var sum, c float64
	for _, x := range xs {
		t := sum + x
		if math.Abs(sum) >= math.Abs(x) {
			c += (sum - t) + x
		} else {
			c += (x - t) + sum
		}
		sum = t
	}
	return sum + c
}

// popSD is the population standard deviation of a full window.
func (w *window) popSD() float64 { return math.Sqrt(w.m2 / float64(w.n)) }

func (w *window) encode(e *encoder) {
	e.uint(uint64(len(w.buf)))
	for _, v := range w.buf {
		e.float(v)
	}
	e.uint(uint64(w.next))
	e.uint(uint64(w.stale))
	e.float(w.mean)
	e.float(w.m2)
	e.float(w.errMean)
	e.float(w.errM2)
}

func (w *window) decode(d *decoder) {
	n := d.count(w.n, 8, "window length")
	w.buf = w.buf[:0]
	for range n {
		w.buf = append(w.buf, d.float())
	}
	w.next = d.count(w.n-1, 0, "window position")
	w.stale = d.count(w.n-1, 0, "window staleness")
	w.mean = d.float()
	w.m2 = d.float()
	w.errMean = d.float()
	w.errM2 = d.float()
	if d.err == nil && !w.full() && (w.next != 0 || w.stale != 0) {
		d.fail("window of %d/%d values has position %d, staleness %d", len(w.buf), w.n, w.next, w.stale)
	}
}

// ema is an exponential moving average seeded with the simple mean of its
// first n inputs; it holds a running sum until then, no buffer.
type ema struct {
	n     int
	alpha float64
	count int     // inputs seen, capped at n
	acc   float64 // sum of inputs while count < n, then the average
}

func newEMA(n int) ema { return ema{n: n, alpha: 2 / float64(n+1)} }

func (e *ema) add(x float64) (float64, bool) {
	if e.count < e.n {
		e.acc += x
		e.count++
		if e.count < e.n {
			return 0, false
		}
		e.acc /= float64(e.n)
		return e.acc, true
	}
	e.acc += e.alpha * (x - e.acc)
	return e.acc, true
}

func (e *ema) encode(enc *encoder) {
	enc.uint(uint64(e.count))
	enc.float(e.acc)
}

func (e *ema) decode(d *decoder) {
	e.count = d.count(e.n, 0, "EMA count")
	e.acc = d.float()
}

type smaInd struct {
	spec Spec
	w    window
}

func (s *smaInd) Spec() Spec   { return s.spec.clone() }
func (s *smaInd) Name() string { return s.spec.Name() }
func (s *smaInd) Update(close, _ float64) (Value, bool) {
	if !finite(close) {
		return Value{}, false
	}
	s.w.push(close)
	if !s.w.full() {
		return Value{}, false
	}
	return Value{Value: s.w.mean}, true
}
func (s *smaInd) encode(e *encoder) { s.w.encode(e) }
func (s *smaInd) decode(d *decoder) { s.w.decode(d) }

type emaInd struct {
	spec Spec
	e    ema
}

func (m *emaInd) Spec() Spec   { return m.spec.clone() }
func (m *emaInd) Name() string { return m.spec.Name() }
func (m *emaInd) Update(close, _ float64) (Value, bool) {
	if !finite(close) {
		return Value{}, false
	}
	v, ok := m.e.add(close)
	return Value{Value: v}, ok
}
func (m *emaInd) encode(e *encoder) { m.e.encode(e) }
func (m *emaInd) decode(d *decoder) { m.e.decode(d) }

// rsiInd is Wilder's RSI: the first average gain and loss are the simple
// means of the first n changes, then avg = (avg·(n−1) + x)/n.
type rsiInd struct {
	spec     Spec
	n        int
	havePrev bool
	prev     float64
	count    int     // changes seen, capped at n
	gain     float64 // sum of gains while count < n, then the average gain
	loss     float64 // likewise for losses (positive)
}

func (r *rsiInd) Spec() Spec   { return r.spec.clone() }
func (r *rsiInd) Name() string { return r.spec.Name() }
func (r *rsiInd) Update(close, _ float64) (Value, bool) {
	if !finite(close) {
		return Value{}, false
	}
	if !r.havePrev {
		r.prev, r.havePrev = close, true
		return Value{}, false
	}
	change := close - r.prev
	r.prev = close
	gain, loss := max(change, 0), max(-change, 0)
	n := float64(r.n)
	if r.count < r.n {
		r.gain += gain
		r.loss += loss
		r.count++
		if r.count < r.n {
			return Value{}, false
		}
		r.gain /= n
		r.loss /= n
	} else {
		r.gain = (r.gain*(n-1) + gain) / n
		r.loss = (r.loss*(n-1) + loss) / n
	}
	return Value{Value: rsiOf(r.gain, r.loss)}, true
}

// rsiOf is 100·gain/(gain+loss), which equals 100 − 100/(1+gain/loss): 100
// when there are gains and no losses, 0 for losses and no gains, and 50 when
// both averages are zero (see the package documentation).
func rsiOf(gain, loss float64) float64 {
	if gain+loss == 0 {
		return 50
	}
	return 100 * gain / (gain + loss)
}

func (r *rsiInd) encode(e *encoder) {
	e.bool(r.havePrev)
	e.float(r.prev)
	e.uint(uint64(r.count))
	e.float(r.gain)
	e.float(r.loss)
}

func (r *rsiInd) decode(d *decoder) {
	r.havePrev = d.bool()
	r.prev = d.float()
	r.count = d.count(r.n, 0, "RSI count")
	r.gain = d.float()
	r.loss = d.float()
	if d.err == nil && !r.havePrev && r.count != 0 {
		d.fail("RSI has %d changes but no previous close", r.count)
	}
}

// macdInd: line = EMA(fast) − EMA(slow), defined from the slow EMA's first
// value; signal = EMA(signal) of the line; values are reported once the
// signal is defined.
type macdInd struct {
	spec               Spec
	fast, slow, signal ema
}

func (m *macdInd) Spec() Spec   { return m.spec.clone() }
func (m *macdInd) Name() string { return m.spec.Name() }
func (m *macdInd) Update(close, _ float64) (Value, bool) {
	if !finite(close) {
		return Value{}, false
	}
	f, _ := m.fast.add(close)
	s, ok := m.slow.add(close)
	if !ok {
		return Value{}, false
	}
	line := f - s
	sig, ok := m.signal.add(line)
	if !ok {
		return Value{}, false
	}
	return Value{Value: line, Signal: sig, Histogram: line - sig}, true
}

func (m *macdInd) encode(e *encoder) {
	m.fast.encode(e)
	m.slow.encode(e)
	m.signal.encode(e)
}

func (m *macdInd) decode(d *decoder) {
	m.fast.decode(d)
	m.slow.decode(d)
	m.signal.decode(d)
	if d.err != nil {
		return
	}
	if m.slow.count > 0 && m.fast.count != min(m.slow.count, m.fast.n) ||
		m.signal.count > 0 && m.slow.count != m.slow.n {
		d.fail("MACD averages out of step (fast %d, slow %d, signal %d inputs)", m.fast.count, m.slow.count, m.signal.count)
	}
}

type bbInd struct {
	spec Spec
	w    window
	k    float64
}

func (b *bbInd) Spec() Spec   { return b.spec.clone() }
func (b *bbInd) Name() string { return b.spec.Name() }
func (b *bbInd) Update(close, _ float64) (Value, bool) {
	if !finite(close) {
		return Value{}, false
	}
	b.w.push(close)
	if !b.w.full() {
		return Value{}, false
	}
	mid, width := b.w.mean, b.k*b.w.popSD()
	return Value{Value: mid, Upper: mid + width, Lower: mid - width}, true
}
func (b *bbInd) encode(e *encoder) { b.w.encode(e) }
func (b *bbInd) decode(d *decoder) { b.w.decode(d) }

// vwapDistInd is (close − vwap)/vwap × 100 of each bar; it has no state. A
// bar whose VWAP is zero or not finite has no value.
type vwapDistInd struct{ spec Spec }

func (v *vwapDistInd) Spec() Spec   { return v.spec.clone() }
func (v *vwapDistInd) Name() string { return v.spec.Name() }
func (v *vwapDistInd) Update(close, vwap float64) (Value, bool) {
	if !finite(close) || !finite(vwap) || vwap == 0 {
		return Value{}, false
	}
	return Value{Value: (close - vwap) / vwap * 100}, true
}
func (v *vwapDistInd) encode(*encoder) {}
func (v *vwapDistInd) decode(*decoder) {}
