package lines

import (
	"bufio"
	"compress/gzip"
	"io"
)

// gzipReader decompresses a .gz file (all of its members, as gzip(1) does)
// and closes the file with it.
type gzipReader struct {
	*gzip.Reader
	file io.Closer
}

func newGzipReader(rc io.ReadCloser) (*gzipReader, error) {
	// A bufio.Reader is an io.ByteReader, so flate reads from it directly
	// instead of through its own small buffer.
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 256<<10))
	if err != nil {
		return nil, err
	}
	return &gzipReader{Reader: zr, file: rc}, nil
}

func (r *gzipReader) Close() error {
	err := r.Reader.Close()
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	return err
}
