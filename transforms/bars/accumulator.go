package bars

import (
	"fmt"
	"math"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/reorder"
)

// Accumulator folds trades into a bar. It is the combiner's accumulator, so
// the runner can pre-aggregate trades before the shuffle (combiner lifting)
// and keeps a constant size per window however many trades it sees.
type Accumulator struct {
	Trades     int64
	Volume     Sum
	Notional   Sum
	BuyVolume  Sum
	SellVolume Sum
	High, Low  float64
	First      Edge
	Last       Edge
}

// Edge is the first or last trade of a bar, with what orders it.
type Edge struct {
	Time  int64 // Unix nanoseconds
	ID    string
	Price float64
}

// before orders trades by (event time, trade id), ids numerically when both
// are decimal numbers.
func (e Edge) before(o Edge) bool {
	if e.Time != o.Time {
		return e.Time < o.Time
	}
	return reorder.CompareIDs(e.ID, o.ID) < 0
}

// Sum is a Neumaier-compensated sum: money totals then do not depend, beyond
// the last bit, on how the runner split trades into bundles.
type Sum struct{ S, C float64 }

// Add adds x.
func (s *Sum) Add(x float64) {
	t := s.S + x
	if math.Abs(s.S) >= math.Abs(x) {
		s.C += (s.S - t) + x
	} else {
		s.C += (x - t) + s.S
	}
	s.S = t
}

// AddSum adds another sum.
func (s *Sum) AddSum(o Sum) {
	s.Add(o.S)
	s.Add(o.C)
}

// Value is the total.
func (s Sum) Value() float64 { return s.S + s.C }

// Add folds a trade in. Quotes are ignored by the caller.
func (a *Accumulator) Add(t *tickbeam.Tick) {
	e := Edge{Time: t.EventTime.UnixNano(), ID: t.TradeID, Price: t.Price}
	if a.Trades == 0 {
		a.First, a.Last, a.High, a.Low = e, e, t.Price, t.Price
	} else {
		if e.before(a.First) {
			a.First = e
		}
		if a.Last.before(e) {
			a.Last = e
		}
		a.High = math.Max(a.High, t.Price)
		a.Low = math.Min(a.Low, t.Price)
	}
	a.Trades++
	a.Volume.Add(t.Size)
	a.Notional.Add(t.Price * t.Size)
	switch t.Side {
	case tickbeam.Buy:
		a.BuyVolume.Add(t.Size)
	case tickbeam.Sell:
		a.SellVolume.Add(t.Size)
	}
}

// Merge folds another accumulator in.
func (a *Accumulator) Merge(o *Accumulator) {
	if o.Trades == 0 {
		return
	}
	if a.Trades == 0 {
		*a = *o
		return
	}
	if o.First.before(a.First) {
		a.First = o.First
	}
	if a.Last.before(o.Last) {
		a.Last = o.Last
	}
	a.High = math.Max(a.High, o.High)
	a.Low = math.Min(a.Low, o.Low)
	a.Trades += o.Trades
	a.Volume.AddSum(o.Volume)
	a.Notional.AddSum(o.Notional)
	a.BuyVolume.AddSum(o.BuyVolume)
	a.SellVolume.AddSum(o.SellVolume)
}

// Bar renders the accumulator as the bar of symbol over [start, end).
// VWAP is Notional/Volume, and the close price when no volume traded.
func (a *Accumulator) Bar(symbol string, res Resolution, start, end time.Time) tickbeam.Bar {
	b := tickbeam.Bar{
		Symbol:      symbol,
		Resolution:  res.String(),
		WindowStart: start.UTC(),
		WindowEnd:   end.UTC(),
		Open:        a.First.Price,
		High:        a.High,
		Low:         a.Low,
		Close:       a.Last.Price,
		Volume:      a.Volume.Value(),
		Notional:    a.Notional.Value(),
		Trades:      a.Trades,
		BuyVolume:   a.BuyVolume.Value(),
		SellVolume:  a.SellVolume.Value(),
	}
	b.VWAP = b.Close
	if b.Volume != 0 {
		b.VWAP = b.Notional / b.Volume
	}
	return b
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

func (a Accumulator) String() string {
	return fmt.Sprintf("bars.Accumulator{trades=%d open=%g high=%g low=%g close=%g volume=%g}",
		a.Trades, a.First.Price, a.High, a.Low, a.Last.Price, a.Volume.Value())
}
