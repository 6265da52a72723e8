package lines

import (
	"bufio"
	"bytes"
	"io"
)

// headBytes is how much of an oversized line a dead letter keeps.
const headBytes = 4 << 10

// scanner splits a stream into lines without allocating per line: a line
// that fits the buffer is returned as a slice of it, valid until the next
// call. Unlike bufio.Scanner it has no token limit that fails the read: lines
// over max are measured, not kept, and reported as oversized.
type scanner struct {
	r   *bufio.Reader
	max int
	// long accumulates a line that spans more than one buffer fill.
	long []byte
}

func newScanner(r io.Reader, bufSize, max int) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// reset makes s read from r, keeping its buffers.
func (s *scanner) reset(r io.Reader) {
	s.r.Reset(r)
}

// line is one line read by scanner.next.
type line struct {
	// text is the line without its "\n" or "\r\n", or, when the line is
	// oversized, its first headBytes bytes. Valid until the next call.
	text []byte
	// raw is the number of bytes consumed, terminator included, so callers
	// can track offsets.
	raw int64
	// size is the length of the line without its terminator.
	size int64
	// oversized says size > max; text then holds only the head.
	oversized bool
}

// next returns the next line, or io.EOF when there is none. A last line
// without a terminator is still a line.
func (s *scanner) next() (line, error) {
	b, err := s.r.ReadSlice('\n')
	if err == nil || (err == io.EOF && len(b) > 0) {
		// Fast path: the whole line is in the buffer.
		return s.finish(b, int64(len(b))), nil
	}
	if err != bufio.ErrBufferFull {
		return line{}, err
	}
	// The line is longer than the buffer: keep enough of it to tell an
	// oversized line from one that ends in "\r\n", and a dead letter's
	// head, and count the rest.
	keep := max(s.max+2, headBytes)
	s.long = append(s.long[:0], b[:min(keep, len(b))]...)
	raw := int64(len(b))
	tail := lastTwo(nil, b)
	for {
		b, err = s.r.ReadSlice('\n')
		raw += int64(len(b))
		tail = lastTwo(tail, b)
		if room := keep - len(s.long); room > 0 {
			s.long = append(s.long, b[:min(room, len(b))]...)
		}
		if err == nil || err == io.EOF {
			break
		}
		if err != bufio.ErrBufferFull {
			return line{}, err
		}
	}
	l := s.finish(s.long, raw)
	if raw > int64(len(s.long)) {
		// Bytes were dropped, so finish could not see the terminator:
		// size the line from the raw count and the last bytes read.
		l.size = raw - int64(terminatorLen(tail))
		l.oversized = true
		l.text = s.long[:min(headBytes, len(s.long))]
	}
	if cap(s.long) > 8<<20 {
		// Don't pin a huge buffer after one huge line.
		s.long = nil
	}
	return l, nil
}

// lastTwo returns the last two bytes of tail followed by b.
func lastTwo(tail, b []byte) []byte {
	if len(b) >= 2 {
		return append(tail[:0], b[len(b)-2:]...)
	}
	t := append(tail, b...)
	if len(t) > 2 {
		t = append(t[:0], t[len(t)-2:]...)
	}
	return t
}

// finish builds the line for b, which holds the whole line.
func (s *scanner) finish(b []byte, raw int64) line {
	text := b[:len(b)-terminatorLen(b)]
	l := line{text: text, raw: raw, size: int64(len(text))}
	if len(text) > s.max {
		l.oversized = true
		if len(text) > headBytes {
			l.text = text[:headBytes]
		}
	}
	return l
}

// terminatorLen is the length of the "\n" or "\r\n" b ends with, if any.
func terminatorLen(b []byte) int {
	n := len(b)
	switch {
	case n >= 2 && b[n-2] == '\r' && b[n-1] == '\n':
		return 2
	case n >= 1 && b[n-1] == '\n':
		return 1
	}
	return 0
}

// skipLine consumes the rest of the current line, terminator included, and
// returns how many bytes that was. It returns io.EOF if the stream ends
// first.
func skipLine(r *bufio.Reader) (int64, error) {
	var n int64
	for {
		b, err := r.ReadSlice('\n')
		n += int64(len(b))
		switch err {
		case nil:
			return n, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return n, err
		}
	}
}

// blank reports whether b is empty or only whitespace.
func blank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}
