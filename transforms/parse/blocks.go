package parse

import (
	"bytes"
	"context"
	"fmt"
	"runtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
)

func init() {
	register.DoFn5x1[context.Context, beam.Window, []byte, func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter), error](&blocksFn{})
}

// Blocks is Lines for a PCollection<[]byte> of blocks of payloads, each
// payload followed by "\n", as io/lines.ReadBlocks reads a file. It emits
// the same ticks, dead letters and counters as Lines given the blocks' lines
// one by one.
//
// Blocks in the global window (a bounded read's) are parsed on other
// goroutines, up to GOMAXPROCS blocks ahead, while the ticks of the blocks
// before them are emitted in order. On prism, which runs a stage in one
// bundle on one goroutine, that puts the read of a file on every core. Blocks
// in any other window are parsed one after the other.
//
// Blocks panics on an invalid Config, as Lines does; TryBlocks returns the
// error instead.
func Blocks(s beam.Scope, blocks beam.PCollection, cfg Config) (ticks, deadLetters beam.PCollection) {
	ticks, deadLetters, err := TryBlocks(s, blocks, cfg)
	if err != nil {
		panic(err)
	}
	return ticks, deadLetters
}

// TryBlocks is Blocks returning invalid configuration as an error instead of panicking.
func TryBlocks(s beam.Scope, blocks beam.PCollection, cfg Config) (ticks, deadLetters beam.PCollection, err error) {
	if err := validWithFormat(cfg, "Blocks"); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("parse.Blocks")
	ticks, deadLetters = beam.ParDo2(s, &blocksFn{BlockQueue{Config: cfg}}, blocks)
	return ticks, deadLetters, nil
}

// blocksFn emits the ticks and dead letters of each block, parsed by its
// BlockQueue.
type blocksFn struct {
	BlockQueue
}

func (f *blocksFn) StartBundle(context.Context, func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter)) {
	f.BlockQueue.StartBundle()
}

func (f *blocksFn) ProcessElement(_ context.Context, w beam.Window, block []byte, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) error {
	return f.Add(w, block, nil, emitter(emit, dead))
}

func (f *blocksFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) error {
	return f.Finish(ctx, emitter(emit, dead))
}

func emitter(emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) func(*Block) error {
	return func(b *Block) error {
		for i := range b.Ticks {
			emit(mtime.FromTime(b.Ticks[i].EventTime), b.Ticks[i])
		}
		for _, d := range b.Dead {
			dead(d)
		}
		return nil
	}
}

// BlockQueue is the engine of Blocks, for a DoFn that takes a block's ticks
// further on the goroutine that parsed them (dedupe.Blocks packs them into
// batches there, so no tick is handed from DoFn to DoFn alone). The DoFn
// embeds it, so Config and Ahead travel with the DoFn, and calls Setup
// (promoted), StartBundle, Add for each block and Finish from FinishBundle.
//
// Blocks in the global window (a bounded read's) are parsed on goroutines of
// their own, up to Ahead at once, and handed back in the order they came,
// from Add and, for the last ones, Finish, whose output is in the global
// window: hence only global-window blocks go ahead. Blocks in any other window
// are parsed in turn.
type BlockQueue struct {
	Config Config
	// Ahead is how many blocks may be in flight; 0 means GOMAXPROCS (at
	// least 2, so parsing overlaps emitting).
	Ahead int

	inflight []*blockJob // oldest first
	idle     []*blockJob
	n        counts
}

// Block is one parsed block: its ticks and dead letters in payload order.
// A Block is reused for a later block once handed back: keep nothing of it.
type Block struct {
	Ticks []tickbeam.Tick
	Dead  []tickbeam.DeadLetter
	// State is the then function's own (BlockQueue.Add), kept with the
	// Block from block to block (e.g. a packer to reuse).
	State any
}

// blockJob parses one block with parsers of its own: a feedformat.Parser is
// not safe for concurrent use.
type blockJob struct {
	Block
	p     parseFn
	block []byte
	then  func(*Block)
	err   error
	done  chan struct{}

	addTick func(beam.EventTime, tickbeam.Tick)
	addDead func(tickbeam.DeadLetter)
}

// Validate reports what Blocks would refuse of the Config: an invalid one or
// one naming no Format.
func (q *BlockQueue) Validate() error { return validWithFormat(q.Config, "Blocks") }

// Setup sets the default Ahead.
func (q *BlockQueue) Setup() {
	if q.Ahead <= 0 {
		q.Ahead = max(2, runtime.GOMAXPROCS(0))
	}
}

func (q *BlockQueue) newJob() *blockJob {
	if n := len(q.idle); n > 0 {
		j := q.idle[n-1]
		q.idle = q.idle[:n-1]
		return j
	}
	j := &blockJob{p: parseFn{Config: q.Config}}
	j.p.Setup()
	j.addTick = func(_ beam.EventTime, t tickbeam.Tick) { j.Ticks = append(j.Ticks, t) }
	j.addDead = func(d tickbeam.DeadLetter) { j.Dead = append(j.Dead, d) }
	return j
}

// run parses the block's payloads into the job, then runs then on them.
func (j *blockJob) run() {
	defer func() {
		if r := recover(); r != nil {
			// A parser (or then) bug must fail the bundle, not the process.
			j.err = fmt.Errorf("parse.Blocks: parsing a block panicked: %v", r)
		}
	}()
	j.Ticks, j.Dead = j.Ticks[:0], j.Dead[:0]
	for b := j.block; len(b) > 0; {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		j.p.handle(line, nil, j.addTick, j.addDead)
	}
	if j.then != nil {
		j.then(&j.Block)
	}
}

// StartBundle forgets what a failed bundle left.
func (q *BlockQueue) StartBundle() {
	// A failed bundle may have left jobs running: let them end, unused.
	for _, j := range q.inflight {
		<-j.done
	}
	q.inflight = q.inflight[:0]
	q.n = counts{}
}

// Add parses block (a run of payloads, each followed by "\n"), in window w,
// and runs then (if not nil) on its Block on the same goroutine. It hands
// this or earlier blocks, in order, to done once they are parsed.
func (q *BlockQueue) Add(w beam.Window, block []byte, then func(*Block), done func(*Block) error) error {
	j := q.newJob()
	j.block, j.then = block, then
	if _, global := w.(window.GlobalWindow); !global {
		j.done = nil
		j.run()
		return q.finish(j, done)
	}
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		j.run()
	}()
	q.inflight = append(q.inflight, j)
	if len(q.inflight) <= q.Ahead {
		return nil
	}
	return q.handOldest(done)
}

// Finish hands the blocks still in flight to done, in order, and adds the
// bundle's counters.
func (q *BlockQueue) Finish(ctx context.Context, done func(*Block) error) error {
	for len(q.inflight) > 0 {
		if err := q.handOldest(done); err != nil {
			return err
		}
	}
	q.n.flush(ctx)
	return nil
}

func (q *BlockQueue) handOldest(done func(*Block) error) error {
	j := q.inflight[0]
	q.inflight = append(q.inflight[:0], q.inflight[1:]...)
	<-j.done
	return q.finish(j, done)
}

// finish hands j's Block to done and makes j idle.
func (q *BlockQueue) finish(j *blockJob, done func(*Block) error) error {
	if j.err != nil {
		return j.err
	}
	if err := done(&j.Block); err != nil {
		return err
	}
	q.n.add(j.p.n)
	j.p.n = counts{}
	j.block, j.then = nil, nil
	clear(j.Dead) // dead letters hold payloads: don't pin them
	q.idle = append(q.idle, j)
	return nil
}
