package synthetic

import (
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Tick fields every synthetic tick carries.
const (
	Source   = "synthetic"
	Venue    = "SYNTH"
	Currency = "USD"
)

const (
	secondsPerYear = 365.25 * 24 * 3600
	// Each symbol's price is held within [start/priceBand, start*priceBand]
	// by reflecting its log at the edges, so it stays finite and positive
	// however long the feed runs (a driftless GBM otherwise decays to 0).
	priceBand = 50.0
	// sidePersistence is the chance a symbol's next aggressor side repeats
	// its last one.
	sidePersistence = 0.65
	// Trade sizes: lognormal around medianSize, a share of larger trades
	// rounded to lots of 100, and rare block trades 10-100 times larger.
	medianSize  = 40.0
	sizeSigma   = 1.1
	roundLotP   = 0.5
	blockTradeP = 0.002
	maxSize     = 1e7
	unbounded   = math.MaxInt64
	golden      = 0x9e3779b97f4a7c15
)

// A Generator produces the ticks of a Config, one at a time, without Beam.
// Ticks uses one inside its splittable DoFn; it is exported for tests,
// benchmarks and tools that want the same feed outside a pipeline.
//
// Tick i (from 0) is for Symbols[i % len(Symbols)], has event time
// Start + i/Rate (nanosecond precision; exact for integral rates) and the
// symbol's trade sequence number i/len(Symbols)+1 as its TradeID. Its price
// follows a driftless geometric Brownian motion per symbol, starting from a
// price in 20..500 derived from the symbol alone; BUY trades round the
// price up to the cent and SELL trades down, as trades at the ask and the
// bid would. IngestTime equals EventTime. The random draws of tick i depend
// only on Seed and i, so the only state carried from tick to tick is each
// symbol's price and last side.
//
// A Generator is not safe for concurrent use.
type Generator struct {
	symbols  []string
	origin   time.Time // event time of tick 0
	end      int64     // index of the first tick not to generate
	seed     uint64
	intRate  int64   // Rate when it is integral, else 0
	nsPerTik float64 // 1e9 / Rate
	drift    float64 // -sigma^2/2 dt, per symbol tick
	diffuse  float64 // sigma sqrt(dt), per symbol tick
	lo, hi   []float64

	// State at tick next.
	next int64
	logp []float64
	buy  []bool
}

// NewGenerator returns a Generator positioned at the first tick of cfg. A
// zero cfg.Start is resolved to the wall clock now. Paced is ignored: a
// Generator has no clock.
func NewGenerator(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	origin := cfg.Start
	if origin.IsZero() {
		origin = time.Now()
	}
	g := newGenerator(cfg, origin)
	return g, nil
}

// newGenerator returns a Generator for a valid cfg whose tick 0 is at origin.
func newGenerator(cfg Config, origin time.Time) *Generator {
	n := len(cfg.Symbols)
	vol := cfg.Volatility
	if vol == 0 {
		vol = DefaultVolatility
	}
	dt := float64(n) / cfg.Rate / secondsPerYear
	g := &Generator{
		symbols:  append([]string(nil), cfg.Symbols...),
		origin:   origin.UTC(),
		seed:     splitmix(uint64(cfg.Seed)),
		nsPerTik: 1e9 / cfg.Rate,
		drift:    -vol * vol / 2 * dt,
		diffuse:  vol * math.Sqrt(dt),
		lo:       make([]float64, n),
		hi:       make([]float64, n),
		logp:     make([]float64, n),
		buy:      make([]bool, n),
	}
	if cfg.Rate == math.Trunc(cfg.Rate) {
		g.intRate = int64(cfg.Rate)
	}
	g.end = unbounded
	if cfg.Count > 0 {
		g.end = cfg.Count
	}
	if cfg.Duration > 0 {
		g.end = min(g.end, g.ticksBefore(cfg.Duration))
	}
	for k, sym := range g.symbols {
		p0 := StartPrice(sym)
		g.logp[k] = math.Log(p0)
		g.lo[k] = math.Log(p0 / priceBand)
		g.hi[k] = math.Log(p0 * priceBand)
		g.buy[k] = splitmix(g.seed^fnv64(sym))&1 == 1
	}
	return g
}

// StartPrice is the price a symbol's path starts from: 20..500, rounded to
// the cent, derived from the symbol alone (not the seed).
func StartPrice(symbol string) float64 {
	u := unit(splitmix(fnv64(symbol)))
	return math.Round(20*math.Pow(25, u)*100) / 100
}

// Next returns the next tick, or false once the Config's Count or Duration
// is reached.
func (g *Generator) Next() (tickbeam.Tick, bool) {
	if g.next >= g.end {
		return tickbeam.Tick{}, false
	}
	var t tickbeam.Tick
	g.apply(g.peek(&t))
	return t, true
}

// step is the state change one tick makes: symbol sym moves to logp and buy.
type step struct {
	index int64
	sym   int
	logp  float64
	buy   bool
}

// peek fills t with tick g.next and returns the state change it makes,
// leaving g unchanged.
func (g *Generator) peek(t *tickbeam.Tick) step {
	i := g.next
	n := int64(len(g.symbols))
	k := int(i % n)

	key := splitmix(g.seed + uint64(i)*golden)
	draw := func(j uint64) float64 { return unit(splitmix(key + j*golden)) }
	// Box-Muller: two independent standard normals from two uniforms.
	r := math.Sqrt(-2 * math.Log(1-draw(1))) // 1-u is in (0, 1]
	sin, cos := math.Sincos(2 * math.Pi * draw(2))
	zPrice, zSize := r*cos, r*sin

	x := mirror(g.logp[k]+g.drift+g.diffuse*zPrice, g.lo[k], g.hi[k])
	buy := g.buy[k]
	if draw(3) >= sidePersistence {
		buy = !buy
	}
	cents := math.Exp(x) * 100
	side := tickbeam.Sell
	if buy {
		side = tickbeam.Buy
		cents = math.Ceil(cents)
	} else {
		cents = math.Floor(cents)
	}

	size := medianSize * math.Exp(sizeSigma*zSize)
	u := draw(4)
	if u < blockTradeP {
		size *= 10 + 90*u/blockTradeP
	}
	if size >= 100 && draw(5) < roundLotP {
		size = math.Round(size/100) * 100
	} else {
		size = math.Round(size)
	}

	et := g.eventTime(i)
	*t = tickbeam.Tick{
		Symbol:     g.symbols[k],
		Venue:      Venue,
		Kind:       tickbeam.Trade,
		EventTime:  et,
		IngestTime: et,
		Price:      max(cents, 1) / 100,
		Size:       min(max(size, 1), maxSize),
		Side:       side,
		TradeID:    strconv.FormatInt(i/n+1, 10),
		Source:     Source,
		Currency:   Currency,
	}
	return step{index: i, sym: k, logp: x, buy: buy}
}

func (g *Generator) apply(s step) {
	g.logp[s.sym] = s.logp
	g.buy[s.sym] = s.buy
	g.next = s.index + 1
}

// offset is the event time of tick i after tick 0, in nanoseconds.
func (g *Generator) offset(i int64) time.Duration {
	if r := g.intRate; r > 0 {
		return time.Duration(i/r*1e9 + i%r*1e9/r)
	}
	return time.Duration(float64(i) * g.nsPerTik)
}

func (g *Generator) eventTime(i int64) time.Time { return g.origin.Add(g.offset(i)) }

// ticksBefore is the number of ticks with an event time before origin + d.
func (g *Generator) ticksBefore(d time.Duration) int64 {
	n := int64(math.Ceil(float64(d) / g.nsPerTik))
	for n > 0 && g.offset(n-1) >= d {
		n--
	}
	for g.offset(n) < d {
		n++
	}
	return n
}

// restore positions g at r.
func (g *Generator) restore(r restriction) error {
	if len(r.LogPrices) != len(g.symbols) || len(r.Buy) != len(g.symbols) {
		return fmt.Errorf("synthetic: restriction holds state for %d/%d symbols, the feed has %d",
			len(r.LogPrices), len(r.Buy), len(g.symbols))
	}
	g.origin = r.Origin
	g.next = r.Next
	copy(g.logp, r.LogPrices)
	copy(g.buy, r.Buy)
	return nil
}

// mirror folds x into [lo, hi] as if the edges were mirrors.
func mirror(x, lo, hi float64) float64 {
	if x >= lo && x <= hi {
		return x
	}
	w := hi - lo
	y := math.Mod(x-lo, 2*w)
	if y < 0 {
		y += 2 * w
	}
	if y > w {
		y = 2*w - y
	}
	return lo + y
}

// splitmix is the SplitMix64 finaliser: a bijective 64-bit mixer.
func splitmix(x uint64) uint64 {
	x += golden
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// unit maps x to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) * 0x1p-53 }

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
