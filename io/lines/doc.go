// Package lines is tickbeam's bounded line source: every line of every file
// matching a glob, local or gs://, as a PCollection<string>.
//
// It reads like textio.Read, with the differences a market-data archive
// needs:
//
//   - A glob that matches nothing fails the pipeline, naming the glob, instead
//     of running an empty pipeline.
//   - Files ending in .gz are decompressed and read whole. (textio bounds a
//     .gz file by its compressed size and so silently reads only its first
//     lines.)
//   - "\r\n" line ends are stripped as well as "\n"; blank lines are dropped.
//   - A line longer than MaxLineBytes neither fails the read nor exhausts
//     memory: it goes, cut to its first 4 KiB, to a second output of
//     tickbeam.DeadLetter with stage "read".
//   - Uncompressed files split by byte offset into 32 MiB restrictions, and a
//     split starts reading at its offset: a seek for local files, a range
//     read for gs:// objects.
//
// Counters, namespace "tickbeam/lines": "lines" (every line read, blank and
// oversized included), "blank" and "oversized".
//
// ReadBlocks reads the same lines in blocks of about 1 MiB, one element a
// block, for consumers that take many lines per call (parse.Blocks).
//
// On prism all restrictions of a stage run in one bundle, one after the
// other (tickbeam turns prism's splitting of a running bundle off: see
// internal/nosplit). Reading is cheap (~130 ns a line); what costs is Beam's
// per-element work in the DoFns fused after Read, and the parsing, which
// ReadBlocks with parse.Blocks moves to other cores.
package lines
