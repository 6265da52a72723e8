package bigqueryx

import (
	"flag"
	"os"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/tickbeam/tickbeam/internal/testenv"
)

var update = flag.Bool("update-golden", false, "rewrite testdata/*.golden.*")

// TestMain does what ptest.MainRetWithDefault(m, "prism") does (flags,
// beam.Init, prism unless --runner says otherwise) but lets testenv.Main run
// the tests: only it can stop the emulators they started, and both would
// call m.Run.
func TestMain(m *testing.M) {
	flag.Parse()
	if *ptest.Runner == "" {
		*ptest.Runner = "prism"
	}
	beam.Init()
	os.Exit(testenv.Main(m))
}
