package live

import (
	"context"

	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
)

// logf is the connection log of Read's connections: Beam's log, at info
// (the CLI shows warnings by default; --log_level=info shows reconnects).
func logf(format string, args ...any) {
	beamlog.Infof(context.Background(), format, args...)
}
