package dedupe

import (
	"context"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

func init() {
	register.DoFn5x1[context.Context, beam.Window, []byte, func(beam.EventTime, string, Batch), func(tickbeam.DeadLetter), error](&blocksFn{})
}

// Blocks is Batches of the ticks parse.Blocks would parse from a
// PCollection<[]byte> of blocks of payloads (io/lines.ReadBlocks' output):
// it returns the PCollection<Batch> Batches would and parse's dead letters,
// with the same counters. Each block's ticks are packed into batches on the
// goroutine that parsed them (parse.BlockQueue), so no tick is handed from
// step to step alone, and on prism, which runs a stage on one goroutine, the
// packing runs on every core.
//
// A block's batches are a bundle's batches in Batches: copies within a block
// are dropped as it is packed, copies across blocks when the batches are
// grouped, where batches whose trade ids ascend in ranges apart are passed on
// without being decoded. Blocks panics on invalid options or Config;
// TryBlocks returns the error instead.
func Blocks(s beam.Scope, blocks beam.PCollection, cfg parse.Config, opts Options) (batches, deadLetters beam.PCollection) {
	batches, deadLetters, err := TryBlocks(s, blocks, cfg, opts)
	if err != nil {
		panic(err)
	}
	return batches, deadLetters
}

// TryBlocks is Blocks returning invalid options or Config as an error.
func TryBlocks(s beam.Scope, blocks beam.PCollection, cfg parse.Config, opts Options) (batches, deadLetters beam.PCollection, err error) {
	if err := opts.Validate(); err != nil {
		return batches, deadLetters, err
	}
	q := parse.BlockQueue{Config: cfg}
	if err := q.Validate(); err != nil {
		return batches, deadLetters, err
	}
	s = s.Scope("dedupe.Blocks")
	opts = opts.withDefaults()
	packed, deadLetters := beam.ParDo2(s, &blocksFn{BlockQueue: q, Window: opts.Window}, blocks)
	batches, err = unique(s, packed, opts)
	return batches, deadLetters, err
}

// blocksFn parses blocks and packs each one's ticks, on its parsing
// goroutine, with a packer of the block's own.
type blocksFn struct {
	parse.BlockQueue
	Window time.Duration

	pack func(*parse.Block)
}

func (f *blocksFn) Setup() {
	f.BlockQueue.Setup()
	f.pack = func(b *parse.Block) {
		pk, _ := b.State.(*packer)
		if pk == nil {
			pk = &packer{open: make(map[batchKey]*pending)}
			b.State = pk
		}
		for i := range b.Ticks {
			pk.add(&b.Ticks[i], f.Window)
		}
	}
}

func (f *blocksFn) StartBundle(context.Context, func(beam.EventTime, string, Batch), func(tickbeam.DeadLetter)) {
	f.BlockQueue.StartBundle()
}

func (f *blocksFn) ProcessElement(ctx context.Context, w beam.Window, block []byte, emit func(beam.EventTime, string, Batch), dead func(tickbeam.DeadLetter)) error {
	return f.Add(w, block, f.pack, emitter(ctx, emit, dead))
}

func (f *blocksFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, string, Batch), dead func(tickbeam.DeadLetter)) error {
	return f.Finish(ctx, emitter(ctx, emit, dead))
}

// emitter emits a packed block's batches and dead letters.
func emitter(ctx context.Context, emit func(beam.EventTime, string, Batch), dead func(tickbeam.DeadLetter)) func(*parse.Block) error {
	return func(b *parse.Block) error {
		if pk, _ := b.State.(*packer); pk != nil {
			pk.flush(ctx, emit)
		}
		for _, d := range b.Dead {
			dead(d)
		}
		return nil
	}
}
