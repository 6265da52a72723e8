package tickbeam

import (
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// Where a PriceChange's previous close came from (column prev_close_source).
const (
	// PrevCloseFeed: the tick carried it (KIS PRDY_VRSS, TradingView ch,
	// Alpha Vantage GLOBAL_QUOTE).
	PrevCloseFeed = "FEED"
	// PrevCloseReference: reference data, e.g. an exchange's daily closes.
	PrevCloseReference = "REFERENCE"
	// PrevCloseLastClose: the last regular-session trade of the previous
	// trading day that the pipeline itself saw.
	PrevCloseLastClose = "LAST_CLOSE"
	// PrevCloseNone: no previous close was known; PrevClose, Change and
	// ChangePct are 0 and Flag is NEUTRAL.
	PrevCloseNone = "NONE"
)

// Flags of a PriceChange: the ±X% indicator of the MSK/Flink enrichment.
const (
	FlagPositive = "POSITIVE"
	FlagNegative = "NEGATIVE"
	FlagNeutral  = "NEUTRAL"
)

// PriceChange is one tick's price against the previous close of its
// exchange trading day: the enriched stream of transforms/enrich.
//
// SessionDate is the exchange-local trading day of the tick
// ("2026-01-15"). Change is Price − PrevClose and ChangePct is
// Change × 100 / PrevClose. SplitFactor is what a previous close from before
// a split's ex-date was divided by (the product of the ratios of the splits
// in between; 1 when none applied), so PrevClose is always in the tick's own
// share terms. Flag is POSITIVE when ChangePct is above the threshold,
// NEGATIVE when below its negative, else NEUTRAL. Kind, Source and TradeID
// are the tick's, to join back to it.
type PriceChange struct {
	Symbol          string    `json:"symbol"`
	Kind            Kind      `json:"kind"`
	Source          string    `json:"source"`
	TradeID         string    `json:"trade_id"`
	EventTime       time.Time `json:"event_time"`
	SessionDate     string    `json:"session_date"`
	Price           float64   `json:"price"`
	PrevClose       float64   `json:"prev_close"`
	PrevCloseSource string    `json:"prev_close_source"`
	SplitFactor     float64   `json:"split_factor"`
	Change          float64   `json:"change"`
	ChangePct       float64   `json:"change_pct"`
	Flag            string    `json:"flag"`
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(PriceChange{}), encodePriceChange, decodePriceChange)
}

// appendPriceChange appends the binary form of c to b, the Beam coder
// registered for PriceChange.
func appendPriceChange(b []byte, c PriceChange) []byte {
	for _, s := range [...]string{c.Symbol, string(c.Kind), c.Source, c.TradeID} {
		b = wire.AppendString(b, s)
	}
	b = wire.AppendTime(b, c.EventTime)
	b = wire.AppendString(b, c.SessionDate)
	b = wire.AppendString(b, c.PrevCloseSource)
	b = wire.AppendFloats(b, c.Price, c.PrevClose, c.SplitFactor, c.Change, c.ChangePct)
	return wire.AppendString(b, c.Flag)
}

// readPriceChange reads a PriceChange written by appendPriceChange.
func readPriceChange(r *wire.Reader) PriceChange {
	var c PriceChange
	c.Symbol = r.Shared()
	c.Kind = Kind(r.Shared())
	c.Source = r.Shared()
	c.TradeID = r.String()
	c.EventTime = r.Time()
	c.SessionDate = r.Shared()
	c.PrevCloseSource = r.Shared()
	r.Floats(&c.Price, &c.PrevClose, &c.SplitFactor, &c.Change, &c.ChangePct)
	c.Flag = r.Shared()
	return c
}

func encodePriceChange(c PriceChange) ([]byte, error) {
	return appendPriceChange(make([]byte, 0, 112), c), nil
}

func decodePriceChange(b []byte) (PriceChange, error) {
	r := wire.NewReader(b)
	c := readPriceChange(r)
	if err := r.Err(); err != nil {
		return PriceChange{}, fmt.Errorf("decode PriceChange: %w", err)
	}
	return c, nil
}
