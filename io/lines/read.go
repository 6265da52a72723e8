package lines

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// globs
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"

	"github.com/tickbeam/tickbeam"
)

// Stage is the DeadLetter stage of lines Read could not deliver.
const Stage = "read"

// DefaultMaxLineBytes is the longest line Read emits unless told otherwise.
const DefaultMaxLineBytes = 1 << 20

const (
	// blockSize is the size of the initial splits of an uncompressed file.
	// Like textio's, but smaller, so a typical daily file of a few hundred
	// MB yields several independent restrictions.
	blockSize int64 = 32 << 20
	// tooSmall merges a last block below this size into the one before.
	tooSmall = blockSize / 4
	// bufSize is the read buffer. Lines up to this size are returned
	// without copying.
	bufSize = 1 << 20
	// flushEvery bounds how stale the counters get during a long read.
	flushEvery = 1 << 16
)

var (
	linesRead      = beam.NewCounter("tickbeam/lines", "lines")
	blankLines     = beam.NewCounter("tickbeam/lines", "blank")
	oversizedLines = beam.NewCounter("tickbeam/lines", "oversized")
)

func init() {
	beam.RegisterType(reflect.TypeOf((*file)(nil)).Elem())
	register.DoFn3x1[context.Context, []byte, func(file), error](&matchFn{})
	register.Emitter1[file]()
	register.DoFn5x1[context.Context, *sdf.LockRTracker, file, func(string), func(tickbeam.DeadLetter), error](&readFn{})
	register.DoFn5x1[context.Context, *sdf.LockRTracker, file, func([]byte), func(tickbeam.DeadLetter), error](&readBlocksFn{})
	register.Emitter1[string]()
	register.Emitter1[[]byte]()
	register.Emitter1[tickbeam.DeadLetter]()
}

// Option configures Read.
type Option func(*options)

type options struct {
	maxLineBytes int
}

// MaxLineBytes sets the longest line, without its terminator, that Read
// emits; longer lines go to the oversized output. n <= 0 means
// DefaultMaxLineBytes.
func MaxLineBytes(n int) Option {
	return func(o *options) { o.maxLineBytes = n }
}

// Read reads every file matching glob, a local path or a gs:// object
// pattern, and returns its lines as a PCollection<string> without their "\n"
// or "\r\n". Files ending in .gz are decompressed. Blank lines are dropped
// (and counted). Lines longer than MaxLineBytes go to oversized, a
// PCollection<tickbeam.DeadLetter> holding their first 4 KiB.
//
// A glob that matches no file fails the pipeline when it runs. Elements keep
// the default timestamp: parsers assign event times.
func Read(s beam.Scope, glob string, opts ...Option) (lines, oversized beam.PCollection) {
	s = s.Scope("lines.Read")
	o := resolve(opts)
	// Panics on an empty glob or an unregistered scheme, like textio.Read.
	filesystem.ValidateScheme(glob)

	files := beam.ParDo(s, &matchFn{Glob: glob}, beam.Impulse(s))
	return beam.ParDo2(s, &readFn{reader{MaxLineBytes: o.maxLineBytes}}, files)
}

// DefaultBlockBytes is the size ReadBlocks fills a block to.
const DefaultBlockBytes = 1 << 20

// ReadBlocks is Read that returns the lines in blocks: a PCollection<[]byte>
// whose elements each hold consecutive lines of one file, each followed by
// "\n", up to about DefaultBlockBytes (a block holds at least one line, so
// one line over that size is a block of its own). Blank lines are dropped
// and oversized ones go to oversized, as Read does; a line is in exactly one
// block.
//
// It is for consumers that handle many lines per call, such as
// parse.Blocks: one element per line costs Beam's per-element work on
// every line, which on prism is as much as parsing it.
func ReadBlocks(s beam.Scope, glob string, opts ...Option) (blocks, oversized beam.PCollection) {
	s = s.Scope("lines.ReadBlocks")
	o := resolve(opts)
	filesystem.ValidateScheme(glob)
	files := beam.ParDo(s, &matchFn{Glob: glob}, beam.Impulse(s))
	return beam.ParDo2(s, &readBlocksFn{reader: reader{MaxLineBytes: o.maxLineBytes}, BlockBytes: DefaultBlockBytes}, files)
}

func resolve(opts []Option) options {
	o := options{maxLineBytes: DefaultMaxLineBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxLineBytes <= 0 {
		o.maxLineBytes = DefaultMaxLineBytes
	}
	return o
}

// file is one file to read.
type file struct {
	Path string
	Size int64
	Gzip bool
}

// matchFn expands the glob; unlike fileio.MatchFiles with its default, an
// empty match is an error, so a mistyped path doesn't run an empty pipeline.
type matchFn struct {
	Glob string
}

func (fn *matchFn) ProcessElement(ctx context.Context, _ []byte, emit func(file)) error {
	fsys, err := filesystem.New(ctx, fn.Glob)
	if err != nil {
		return fmt.Errorf("lines.Read %q: %w", fn.Glob, err)
	}
	defer fsys.Close()
	paths, err := fsys.List(ctx, fn.Glob)
	if err != nil {
		return fmt.Errorf("lines.Read: list %q: %w", fn.Glob, err)
	}
	if len(paths) == 0 {
		return fmt.Errorf("lines.Read: no files match %q", fn.Glob)
	}
	sort.Strings(paths)
	n := 0
	for _, p := range paths {
		if !strings.Contains(p, "://") {
			// A local glob also matches directories, which have no lines.
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				continue
			}
		}
		size, err := fsys.Size(ctx, p)
		if err != nil {
			return fmt.Errorf("lines.Read: size of %q: %w", p, err)
		}
		emit(file{Path: p, Size: size, Gzip: strings.HasSuffix(p, ".gz")})
		n++
	}
	if n == 0 {
		return fmt.Errorf("lines.Read: no files match %q (only directories)", fn.Glob)
	}
	return nil
}

// reader is what the splittable DoFns readFn and readBlocksFn share: the
// restriction of a file's bytes and the reading of its lines. Like
// textio's, a line belongs to the restriction that holds its first byte. A
// gzip stream cannot be entered in the middle, so a .gz file gets the
// restriction [0, 1) and is read whole by whoever claims 0.
type reader struct {
	MaxLineBytes int

	gcs *storage.Client
	fs  map[string]filesystem.Interface
	sc  *scanner // reused: its buffer is 1 MiB
}

func (fn *reader) CreateInitialRestriction(f file) offsetrange.Restriction {
	if f.Gzip {
		return offsetrange.Restriction{Start: 0, End: 1}
	}
	return offsetrange.Restriction{Start: 0, End: f.Size}
}

func (fn *reader) SplitRestriction(f file, rest offsetrange.Restriction) []offsetrange.Restriction {
	if f.Gzip {
		return []offsetrange.Restriction{rest}
	}
	splits := rest.SizedSplits(blockSize)
	if n := len(splits); n > 1 && splits[n-1].End-splits[n-1].Start <= tooSmall {
		splits[n-2].End = splits[n-1].End
		splits = splits[:n-1]
	}
	return splits
}

func (fn *reader) RestrictionSize(f file, rest offsetrange.Restriction) float64 {
	if f.Gzip {
		// Bytes, like the uncompressed restrictions, so runners weigh work alike.
		return float64(f.Size) * rest.Size()
	}
	return rest.Size()
}

func (fn *reader) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(rest))
}

func (fn *reader) Teardown() error {
	for _, f := range fn.fs {
		f.Close()
	}
	fn.fs = nil
	if fn.gcs != nil {
		fn.gcs.Close()
		fn.gcs = nil
	}
	return nil
}

// readFn emits each line as a string.
type readFn struct{ reader }

func (fn *readFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, f file, emit func(string), dead func(tickbeam.DeadLetter)) error {
	return fn.read(ctx, rt, f, dead, func(text []byte) { emit(string(text)) })
}

// readBlocksFn emits the lines in blocks of about BlockBytes.
type readBlocksFn struct {
	reader
	BlockBytes int
}

func (fn *readBlocksFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, f file, emit func([]byte), dead func(tickbeam.DeadLetter)) error {
	var blk []byte
	err := fn.read(ctx, rt, f, dead, func(text []byte) {
		if len(blk) > 0 && len(blk)+len(text) >= fn.BlockBytes {
			emit(blk)
			blk = nil
		}
		if blk == nil {
			// A fresh block each time: the consumer may hold it.
			blk = make([]byte, 0, max(fn.BlockBytes, len(text)+1))
		}
		blk = append(append(blk, text...), '\n')
	})
	if err == nil && len(blk) > 0 {
		emit(blk)
	}
	return err
}

// read claims and reads each line of f in rt's restriction, calls line with
// each one that is neither blank nor oversized (its bytes are valid only
// during the call) and sends the oversized ones to dead.
func (fn *reader) read(ctx context.Context, rt *sdf.LockRTracker, f file, dead func(tickbeam.DeadLetter), line func([]byte)) error {
	rest := rt.GetRestriction().(offsetrange.Restriction)
	if rest.Start >= rest.End {
		return nil
	}
	if f.Size == 0 {
		// Also an empty .gz, which is not valid gzip but holds no lines.
		rt.TryClaim(rest.End)
		return nil
	}
	var c counts
	defer func() { c.flush(ctx) }()

	start := rest.Start
	if f.Gzip {
		// Positions in a .gz file are in the decompressed stream; only
		// the claim of 0 matters for splitting.
		if !rt.TryClaim(int64(0)) {
			return nil
		}
	} else if start > 0 {
		// The line holding byte start-1 belongs to the previous
		// restriction: begin after it.
		start--
	}
	rc, err := fn.open(ctx, f, start)
	if err != nil {
		return err
	}
	defer rc.Close()
	if fn.sc == nil {
		fn.sc = newScanner(rc, bufSize, fn.MaxLineBytes)
	} else {
		fn.sc.reset(rc)
	}
	sc := fn.sc

	pos := start
	if !f.Gzip && rest.Start > 0 {
		n, err := skipLine(sc.r)
		if err == io.EOF {
			rt.TryClaim(rest.End) // no line starts here; finish the restriction
			return nil
		}
		if err != nil {
			return fmt.Errorf("lines.Read: %s at %d: %w", f.Path, start, err)
		}
		pos += n
	}

	for f.Gzip || rt.TryClaim(pos) {
		l, err := sc.next()
		if err == io.EOF {
			if !f.Gzip {
				rt.TryClaim(rest.End)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("lines.Read: %s at %d: %w", f.Path, pos, err)
		}
		c.lines++
		switch {
		case l.oversized:
			c.oversized++
			dead(oversizedLine(f.Path, pos, l, fn.MaxLineBytes))
		case blank(l.text):
			c.blank++
		default:
			line(l.text)
		}
		pos += l.raw
		if c.lines == flushEvery {
			c.flush(ctx)
		}
	}
	return nil
}

// open opens f at byte offset off. gs:// objects are opened with a range
// read: Beam's filesystem would stream (and discard) every byte before off.
func (fn *reader) open(ctx context.Context, f file, off int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	if strings.HasPrefix(f.Path, "gs://") {
		r, err := fn.openGCS(ctx, f, off)
		if err != nil {
			return nil, fmt.Errorf("lines.Read: open %s: %w", f.Path, err)
		}
		rc = r
	} else {
		scheme := f.Path[:max(strings.Index(f.Path, "://"), 0)]
		fsys, ok := fn.fs[scheme]
		if !ok {
			var err error
			if fsys, err = filesystem.New(ctx, f.Path); err != nil {
				return nil, fmt.Errorf("lines.Read: %w", err)
			}
			if fn.fs == nil {
				fn.fs = map[string]filesystem.Interface{}
			}
			fn.fs[scheme] = fsys
		}
		r, err := fsys.OpenRead(ctx, f.Path)
		if err != nil {
			return nil, fmt.Errorf("lines.Read: open %s: %w", f.Path, err)
		}
		if off > 0 {
			if sk, ok := r.(io.Seeker); ok {
				_, err = sk.Seek(off, io.SeekStart)
			} else {
				_, err = io.CopyN(io.Discard, r, off)
			}
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("lines.Read: seek %s to %d: %w", f.Path, off, err)
			}
		}
		rc = r
	}
	if !f.Gzip {
		return rc, nil
	}
	zr, err := newGzipReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("lines.Read: %s: %w", f.Path, err)
	}
	return zr, nil
}

func (fn *reader) openGCS(ctx context.Context, f file, off int64) (io.ReadCloser, error) {
	if fn.gcs == nil {
		c, err := gcsx.NewClient(ctx, storage.ScopeReadOnly)
		if err != nil {
			// Public buckets and emulators need no credentials.
			if c, err = gcsx.NewUnauthenticatedClient(ctx); err != nil {
				return nil, fmt.Errorf("GCS client: %w", err)
			}
		}
		fn.gcs = c
	}
	bucket, object, err := gcsx.ParseObject(f.Path)
	if err != nil {
		return nil, err
	}
	// ReadCompressed: a .gz object stored with Content-Encoding gzip would
	// otherwise arrive decompressed and fail to gunzip.
	return fn.gcs.Bucket(bucket).Object(object).ReadCompressed(f.Gzip).NewRangeReader(ctx, off, -1)
}

// oversizedLine is the dead letter for a line over the limit at offset off.
func oversizedLine(path string, off int64, l line, limit int) tickbeam.DeadLetter {
	err := fmt.Errorf("line at byte offset %d of %s is %d bytes, over the limit of %d (MaxLineBytes); payload holds its first %d bytes",
		off, path, l.size, limit, len(l.text))
	d := tickbeam.NewDeadLetter(time.Now(), l.text,
		map[string]string{"file": path, "offset": strconv.FormatInt(off, 10), "bytes": strconv.FormatInt(l.size, 10)},
		Stage, path, err)
	if d.PayloadString == "" && len(l.text) > 0 {
		// The cut may split a UTF-8 sequence; keep the readable part.
		t := l.text
		for len(t) > 0 && !utf8.Valid(t) && len(l.text)-len(t) < utf8.UTFMax {
			t = t[:len(t)-1]
		}
		if utf8.Valid(t) {
			d.PayloadString = string(t)
		}
	}
	return d
}

// counts batches counter updates: a metric update per line costs more than
// reading the line.
type counts struct{ lines, blank, oversized int64 }

func (c *counts) flush(ctx context.Context) {
	if c.lines != 0 {
		linesRead.Inc(ctx, c.lines)
	}
	if c.blank != 0 {
		blankLines.Inc(ctx, c.blank)
	}
	if c.oversized != 0 {
		oversizedLines.Inc(ctx, c.oversized)
	}
	*c = counts{}
}
