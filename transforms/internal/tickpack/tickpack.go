// Package tickpack carries dedupe's batches of one symbol undecoded to a
// keyed step: the step before it packs a bundle's batches per symbol
// (reorder.Packer) and the keyed step decodes them where it reads them, so
// a tick is decoded once between dedupe and the step's state, not decoded,
// encoded and decoded again.
package tickpack

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/tickbeam/tickbeam/internal/reorder"
	"github.com/tickbeam/tickbeam/transforms/dedupe"
)

// Add packs b under its symbol when all its ticks are of one source and
// symbol, and reports whether it took b: a batch mixing symbols (false) is
// the caller's to read tick by tick. A batch of a symbol keep rejects is
// taken and dropped; a nil keep keeps every symbol.
func Add(p *reorder.Packer, b dedupe.Batch, keep func(symbol string) bool, emit func(mtime.Time, string, []byte)) (bool, error) {
	sp, ok := b.Span()
	if !ok {
		return false, nil
	}
	if keep != nil && !keep(sp.Symbol) {
		return true, nil
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		return true, err
	}
	p.Add(sp.Symbol, enc, sp.Ticks, sp.First, sp.Last, emit)
	return true, nil
}

// Each calls f with each dedupe batch packed in element, in the order Add
// took them; packed is false, and f not called, when element is not a
// packed batch.
func Each(element []byte, f func(dedupe.Batch) error) (packed bool, err error) {
	return reorder.EachPart(element, func(part []byte) error {
		b, err := dedupe.DecodeBatch(part)
		if err != nil {
			return err
		}
		return f(b)
	})
}
