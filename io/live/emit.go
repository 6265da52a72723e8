package live

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/feedformat"
)

// emitter passes frames on as lines: it reads their event times and watches
// them for gaps with the vendor's own parser (the pipeline parses them again:
// lines go out exactly as received), and backfills gaps before the line that
// revealed them, so the pipeline sees the hole filled in event-time order.
type emitter struct {
	spec   Spec
	opts   Options
	stats  *stats
	parser feedformat.Parser
	buf    []tickbeam.Tick
	track  gapTracker
	fill   filler // nil: the vendor has no history endpoint
	sink   Sink

	// resumeFrom is when the current connection was dialled, until its
	// first trade (ResumeLatency); zero otherwise.
	resumeFrom time.Time
}

// gapTracker watches a feed's trades for holes. check looks at one trade and
// returns the gap before it, if any.
type gapTracker interface {
	check(t *tickbeam.Tick) (tickbeam.Gap, bool)
}

// reconnectAware trackers are told of each new connection after the first.
type reconnectAware interface{ reconnected() }

// filler fetches the lines of a gap from a vendor's history endpoint, shaped
// as its stream's frames.
type filler interface {
	backfill(ctx context.Context, g tickbeam.Gap) ([][]byte, error)
}

func newEmitter(s Spec, o Options, st *stats, sink Sink) (*emitter, error) {
	p, err := feedformat.New(s.Format, feedformat.Options{Source: s.Common.Source})
	if err != nil {
		return nil, err
	}
	return &emitter{spec: s, opts: o, stats: st, parser: p, sink: sink}, nil
}

// frame passes one received frame on.
func (e *emitter) frame(ctx context.Context, payload []byte, size int, received time.Time) error {
	e.stats.frames.Add(1)
	l := Line{Payload: payload, Format: e.spec.Format, Source: e.spec.Common.Source, Received: received}
	if size > len(payload) {
		e.stats.oversize.Add(1)
		l.Oversize = size
		return e.sink.Line(ctx, l)
	}
	ticks, err := e.parser.Parse(e.buf[:0], payload)
	e.buf = ticks[:0]
	if err != nil {
		// Control frames and garbage go on as they are: the pipeline counts
		// the first and dead-letters the second.
		return e.sink.Line(ctx, l)
	}
	l.EventTime = earliest(ticks)
	if !e.resumeFrom.IsZero() && len(ticks) > 0 {
		e.stats.resumeNs.Store(int64(received.Sub(e.resumeFrom)))
		e.resumeFrom = time.Time{}
	}
	if e.track != nil {
		// The parser's buffer is reused by backfills: check copies.
		for _, t := range append([]tickbeam.Tick(nil), ticks...) {
			if g, ok := e.track.check(&t); ok {
				if err := e.gap(ctx, g); err != nil {
					return err
				}
			}
		}
	}
	return e.sink.Line(ctx, l)
}

// gap backfills g when the vendor can, then reports it.
func (e *emitter) gap(ctx context.Context, g tickbeam.Gap) error {
	g.Source = e.spec.Common.Source
	g.DetectedAt = time.Now().UTC()
	switch {
	case e.fill == nil:
		if g.Detail == "" {
			g.Detail = "the vendor has no history endpoint"
		}
	case !e.spec.Common.Backfill:
		g.Detail = "backfill=false"
	default:
		frames, err := e.fill.backfill(ctx, g)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			g.Detail = "backfill failed: " + err.Error()
			break
		}
		for _, f := range frames {
			ticks, err := e.parser.Parse(e.buf[:0], f)
			e.buf = ticks[:0]
			if err != nil {
				return fmt.Errorf("%s backfill: a history row does not parse: %w", e.spec.Vendor, err)
			}
			l := Line{Payload: f, Format: e.spec.Format, Source: e.spec.Common.Source, EventTime: earliest(ticks),
				Received: time.Now(), Backfill: true}
			if err := e.sink.Line(ctx, l); err != nil {
				return err
			}
			g.Recovered += int64(len(ticks))
		}
		e.stats.backfilled.Add(int64(len(frames)))
		if g.FromID == "" && g.Unit == tickbeam.GapTrades {
			// An outage's gap: what the history held is what was missing.
			if g.Recovered == 0 {
				return nil
			}
			g.Missing = g.Recovered
		}
		g.Filled = g.Unit != tickbeam.GapTrades || g.Recovered >= g.Missing
		if !g.Filled {
			g.Detail = fmt.Sprintf("history returned %d of %d trades", g.Recovered, g.Missing)
		}
	}
	e.stats.gaps.Add(1)
	e.stats.missing.Add(g.Missing)
	e.opts.logf("%s: gap in %s: %d %s missing between %s and %s (ids %s..%s), filled=%v %s", e.spec.Vendor, g.Symbol, g.Missing, g.Unit,
		g.From.Format(time.RFC3339Nano), g.To.Format(time.RFC3339Nano), g.FromID, g.ToID, g.Filled, g.Detail)
	return e.sink.Gap(ctx, g)
}

func earliest(ticks []tickbeam.Tick) time.Time {
	var at time.Time
	for i := range ticks {
		if at.IsZero() || ticks[i].EventTime.Before(at) {
			at = ticks[i].EventTime
		}
	}
	return at
}

// idTracker finds trade ids a feed skipped, per symbol: Binance and Coinbase
// number each symbol's trades consecutively. Ids at or below the last one
// seen (a reconnect's overlap, a backfill's) are left to dedupe.
type idTracker struct {
	last map[string]seen
	// maxGap: a jump larger than this is a new id sequence (a venue reset),
	// reported as a gap but not backfilled.
	maxGap uint64
}

type seen struct {
	id uint64
	at time.Time
}

func newIDTracker() *idTracker { return &idTracker{last: map[string]seen{}, maxGap: 1 << 32} }

func (t *idTracker) check(k *tickbeam.Tick) (tickbeam.Gap, bool) {
	if k.Kind != tickbeam.Trade {
		return tickbeam.Gap{}, false
	}
	id, err := strconv.ParseUint(k.TradeID, 10, 64)
	if err != nil {
		return tickbeam.Gap{}, false
	}
	prev, ok := t.last[k.Symbol]
	if ok && id <= prev.id {
		return tickbeam.Gap{}, false
	}
	if len(t.last) > 100_000 {
		clear(t.last) // bounded: symbols are few; a runaway feed starts over
	}
	t.last[k.Symbol] = seen{id, k.EventTime}
	if !ok || id == prev.id+1 {
		return tickbeam.Gap{}, false
	}
	g := tickbeam.Gap{Symbol: k.Symbol, From: prev.at, To: k.EventTime, FromID: strconv.FormatUint(prev.id+1, 10),
		ToID: strconv.FormatUint(id-1, 10), Missing: int64(id - prev.id - 1), Unit: tickbeam.GapTrades}
	if id-prev.id > t.maxGap {
		g.Detail = "id sequence restarted"
	}
	return g, true
}

// maxBackfill bounds the trades one gap's backfill reads (Binance and
// Coinbase hand out 1000 a call).
const maxBackfill = 10_000

// gapIDs returns a trade gap's first and last missing ids, refusing a gap
// of more than maxBackfill trades.
func gapIDs(g tickbeam.Gap) (from, to uint64, err error) {
	from, err1 := strconv.ParseUint(g.FromID, 10, 64)
	to, err2 := strconv.ParseUint(g.ToID, 10, 64)
	if err := errors.Join(err1, err2); err != nil || to < from {
		return 0, 0, fmt.Errorf("gap ids %q..%q are not a range", g.FromID, g.ToID)
	}
	if to-from+1 > maxBackfill {
		return 0, 0, fmt.Errorf("%d trades missing, more than the %d a backfill reads", to-from+1, maxBackfill)
	}
	return from, to, nil
}
