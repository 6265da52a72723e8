package tickbeamtest

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickbeam/tickbeam/io/bigqueryx"
)

// FileRows reads every row tickbeam's file output name wrote under dir (a
// local directory: files name-<window>-...jsonl, .gz decompressed, in
// dt=/hour= partitions too) into T by JSON field names, failing the test on
// error or when there is no such file, to compare with Diff:
//
//	bars := tickbeamtest.FileRows[tickbeam.Bar](t, out, "bars")
func FileRows[T any](t testing.TB, dir, name string) []T {
	t.Helper()
	var rows []T
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), name+"-") ||
			!(strings.HasSuffix(path, ".jsonl") || strings.HasSuffix(path, ".jsonl.gz")) {
			return err
		}
		files++
		rows, err = appendFileRows(rows, path)
		return err
	})
	if err == nil && files == 0 {
		err = fmt.Errorf("no %s-*.jsonl file under %s", name, dir)
	}
	if err != nil {
		t.Fatalf("tickbeamtest.FileRows: %v", err)
	}
	return rows
}

func appendFileRows[T any](rows []T, file string) ([]T, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		var row T
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return rows, nil
}

// BigQueryRows reads every row of table ("PROJECT.DATASET.TABLE") from the
// test's BigQuery emulator into T by JSON field names, failing the test on
// error, to compare with Diff.
func BigQueryRows[T any](t testing.TB, env *Env, table string) []T {
	t.Helper()
	tb, err := bigqueryx.ParseTable(table)
	if err != nil {
		t.Fatalf("tickbeamtest.BigQueryRows: %v", err)
	}
	rows, err := bigqueryx.ReadRows[T](context.Background(), tb, env.BigQueryOptions())
	if err != nil {
		t.Fatalf("tickbeamtest.BigQueryRows: %v", err)
	}
	return rows
}
