// Package parse turns raw feed payloads into tickbeam.Ticks in a pipeline:
// Lines for text files (one payload per line), Blocks for the blocks of
// lines of io/lines.ReadBlocks (the same result, parsed ahead on every
// core), Messages for messages that carry their format and source as
// attributes (Pub/Sub, io/live), and Late for messages the reader found
// behind the watermark.
//
// The parsers themselves are package feedformat (New, Formats, Options,
// Validate): see its documentation for every format and vendor note. This
// package adds what a pipeline needs around them: a bound on payload size,
// validation of every tick (feedformat.Validate with Config.Limits), dead
// letters (stage parse) for what does not parse or validate, counters in the
// tickbeam/parse namespace (messages = ticks-bearing + control + blank +
// dead_letters), and control messages (feedformat.ErrControl) counted, not
// dead-lettered.
//
// Each takes the scope, the input collection, then the Config:
//
//	ticks, dead := parse.Lines(s, lines, parse.Config{Format: "binance"})
//
// Lines, Blocks, Messages and Late panic on an invalid Config
// (Config.Validate; Lines and Blocks also need a Format), as Beam transforms
// do at construction; TryLines, TryBlocks, TryMessages and TryLate return the
// error instead.
package parse
