package wire

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
)

// Prism copies every byte of a crossing several times, so large batches
// cross deflated; BestSpeed costs a fraction of those copies.
var (
	deflaters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed) // BestSpeed is a valid level
		return w
	}}
	inflaters sync.Pool // flate readers, reset for each input
)

// AppendDeflated appends b deflated at BestSpeed to dst. Writes to a
// bytes.Buffer do not fail.
func AppendDeflated(dst, b []byte) []byte {
	buf := bytes.NewBuffer(dst)
	buf.Grow(len(b)/2 + 16)
	w := deflaters.Get().(*flate.Writer)
	w.Reset(buf)
	w.Write(b)
	w.Close()
	deflaters.Put(w)
	return buf.Bytes()
}

// Inflate is the bytes AppendDeflated deflated into b.
func Inflate(b []byte) ([]byte, error) {
	var zr io.ReadCloser
	if v := inflaters.Get(); v != nil {
		zr = v.(io.ReadCloser)
		zr.(flate.Resetter).Reset(bytes.NewReader(b), nil)
	} else {
		zr = flate.NewReader(bytes.NewReader(b))
	}
	out, err := io.ReadAll(zr)
	inflaters.Put(zr)
	return out, err
}
