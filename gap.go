package tickbeam

import (
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Units of Gap.Missing.
const (
	// GapTrades: trade ids skipped (Binance, Coinbase), or trades the
	// vendor's history held for an outage (Alpaca).
	GapTrades = "trades"
	// GapVolume: cumulative volume that grew by more than the trades seen
	// (KIS ACML_VOL).
	GapVolume = "volume"
	// GapBars: intervals of a polled bar series that never came (Alpha Vantage).
	GapBars = "bars"
)

// Gap is a hole a live connector saw in a feed: trades (or volume, or bars)
// between two it received that never came over the connection, after a
// reconnect or a dropped message. Every detected gap is a row, filled or not.
//
// From and To are the event times of the last data before the hole and the
// first after it; FromID and ToID the first and last missing ids when the
// feed numbers its trades. Missing counts what was missing in Unit.
// Filled says a backfill from the vendor's history endpoint recovered the
// hole (Recovered rows of it, re-sent through the pipeline, where dedupe
// drops any overlap); Detail says why it was not.
type Gap struct {
	Source     string    `json:"source"`
	Symbol     string    `json:"symbol"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	FromID     string    `json:"from_id"`
	ToID       string    `json:"to_id"`
	Missing    int64     `json:"missing"`
	Unit       string    `json:"unit"`
	Filled     bool      `json:"filled"`
	Recovered  int64     `json:"recovered"`
	Detail     string    `json:"detail"`
	DetectedAt time.Time `json:"detected_at"`
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(Gap{}), encodeGap, decodeGap)
}

func encodeGap(g Gap) ([]byte, error) {
	b := make([]byte, 0, 96)
	for _, s := range [...]string{g.Source, g.Symbol} {
		b = wire.AppendString(b, s)
	}
	b = wire.AppendTime(b, g.From)
	b = wire.AppendTime(b, g.To)
	for _, s := range [...]string{g.FromID, g.ToID} {
		b = wire.AppendString(b, s)
	}
	b = wire.AppendInt(b, g.Missing)
	b = wire.AppendString(b, g.Unit)
	filled := int64(0)
	if g.Filled {
		filled = 1
	}
	b = wire.AppendInt(b, filled)
	b = wire.AppendInt(b, g.Recovered)
	b = wire.AppendString(b, g.Detail)
	return wire.AppendTime(b, g.DetectedAt), nil
}

func decodeGap(b []byte) (Gap, error) {
	r := wire.NewReader(b)
	g := Gap{Source: r.String(), Symbol: r.String(), From: r.Time(), To: r.Time(), FromID: r.String(), ToID: r.String(),
		Missing: r.Int(), Unit: r.String(), Filled: r.Int() != 0, Recovered: r.Int(), Detail: r.String(), DetectedAt: r.Time()}
	if err := r.Err(); err != nil {
		return Gap{}, fmt.Errorf("decode Gap: %w", err)
	}
	return g, nil
}
