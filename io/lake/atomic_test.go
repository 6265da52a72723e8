package lake

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/google/go-cmp/cmp"
)

// failingFS is the local filesystem with writes that fail after a few bytes.
type failingFS struct {
	filesystem.Interface
	renamed []string
}

type failingWriter struct {
	io.WriteCloser
	left int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n, _ := w.WriteCloser.Write(p[:w.left])
		w.left = 0
		return n, errors.New("disk full")
	}
	w.left -= len(p)
	return w.WriteCloser.Write(p)
}

func (f *failingFS) OpenWrite(ctx context.Context, name string) (io.WriteCloser, error) {
	w, err := f.Interface.OpenWrite(ctx, name)
	return &failingWriter{WriteCloser: w, left: 10}, err
}

func (f *failingFS) Rename(ctx context.Context, from, to string) error {
	f.renamed = append(f.renamed, to)
	return f.Interface.(filesystem.Renamer).Rename(ctx, from, to)
}

func (f *failingFS) Remove(ctx context.Context, name string) error {
	return f.Interface.(filesystem.Remover).Remove(ctx, name)
}

// TestWriteFileFailure: a write that fails leaves neither the target nor
// the temporary file behind, and an earlier complete file untouched.
func TestWriteFileFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	name := filepath.Join(dir, "part-global-ontime-0-00-of-01.jsonl")
	local, err := filesystem.New(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`)}
	if _, err := writeFile(ctx, local, name, rows, false); err != nil {
		t.Fatal(err)
	}

	fsys := &failingFS{Interface: local}
	big := [][]byte{[]byte(`{"a":"a row longer than ten bytes"}`)}
	_, err = writeFile(ctx, fsys, name, big, false)
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("writeFile = %v, want disk full", err)
	}
	if len(fsys.renamed) != 0 {
		t.Errorf("renamed %v after a failed write", fsys.renamed)
	}
	if diff := cmp.Diff(map[string]string{filepath.Base(name): "{\"a\":1}\n{\"a\":2}\n"}, readTree(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
