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
	ticks, deadLetters = beam.ParDo2(s, &blocksFn{Config: cfg}, blocks)
	return ticks, deadLetters, nil
}

// blocksFn parses global-window blocks ahead on goroutines of their own and
// emits their results in the order the blocks came, from ProcessElement and,
// for the last ones, FinishBundle (whose output is in the global window:
// hence only global-window blocks go ahead).
type blocksFn struct {
	Config Config
	// Ahead is how many blocks may be in flight; 0 means GOMAXPROCS (at
	// least 2, so parsing overlaps emitting).
	Ahead int

	inflight []*blockJob // oldest first
	idle     []*blockJob
	n        counts
}

// blockJob parses one block with parsers of its own: a feedformat.Parser is
// not safe for concurrent use.
type blockJob struct {
	p     parseFn
	block []byte
	ticks []tickbeam.Tick
	dead  []tickbeam.DeadLetter
	err   error
	done  chan struct{}

	addTick func(beam.EventTime, tickbeam.Tick)
	addDead func(tickbeam.DeadLetter)
}

func (f *blocksFn) Setup() {
	if f.Ahead <= 0 {
		f.Ahead = max(2, runtime.GOMAXPROCS(0))
	}
}

func (f *blocksFn) newJob() *blockJob {
	if n := len(f.idle); n > 0 {
		j := f.idle[n-1]
		f.idle = f.idle[:n-1]
		return j
	}
	j := &blockJob{p: parseFn{Config: f.Config}}
	j.p.Setup()
	j.addTick = func(_ beam.EventTime, t tickbeam.Tick) { j.ticks = append(j.ticks, t) }
	j.addDead = func(d tickbeam.DeadLetter) { j.dead = append(j.dead, d) }
	return j
}

// run parses the block's payloads into the job.
func (j *blockJob) run() {
	defer func() {
		if r := recover(); r != nil {
			// A parser bug must fail the bundle, not the process.
			j.err = fmt.Errorf("parse.Blocks: parser panicked: %v", r)
		}
	}()
	j.ticks, j.dead = j.ticks[:0], j.dead[:0]
	for b := j.block; len(b) > 0; {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		j.p.handle(line, nil, j.addTick, j.addDead)
	}
}

func (f *blocksFn) StartBundle(context.Context, func(beam.EventTime, tickbeam.Tick), func(tickbeam.DeadLetter)) {
	// A failed bundle may have left jobs running: let them end, unused.
	for _, j := range f.inflight {
		<-j.done
	}
	f.inflight = f.inflight[:0]
	f.n = counts{}
}

func (f *blocksFn) ProcessElement(_ context.Context, w beam.Window, block []byte, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) error {
	j := f.newJob()
	j.block = block
	if _, global := w.(window.GlobalWindow); !global {
		j.done = nil
		j.run()
		return f.finish(j, emit, dead)
	}
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		j.run()
	}()
	f.inflight = append(f.inflight, j)
	if len(f.inflight) <= f.Ahead {
		return nil
	}
	return f.emitOldest(emit, dead)
}

func (f *blocksFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) error {
	for len(f.inflight) > 0 {
		if err := f.emitOldest(emit, dead); err != nil {
			return err
		}
	}
	f.n.flush(ctx)
	return nil
}

func (f *blocksFn) emitOldest(emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) error {
	j := f.inflight[0]
	f.inflight = append(f.inflight[:0], f.inflight[1:]...)
	<-j.done
	return f.finish(j, emit, dead)
}

// finish emits what j parsed and makes it idle.
func (f *blocksFn) finish(j *blockJob, emit func(beam.EventTime, tickbeam.Tick), dead func(tickbeam.DeadLetter)) error {
	if j.err != nil {
		return j.err
	}
	for i := range j.ticks {
		emit(mtime.FromTime(j.ticks[i].EventTime), j.ticks[i])
	}
	for _, d := range j.dead {
		dead(d)
	}
	f.n.add(j.p.n)
	j.p.n = counts{}
	j.block = nil
	clear(j.dead) // dead letters hold payloads: don't pin them
	f.idle = append(f.idle, j)
	return nil
}
