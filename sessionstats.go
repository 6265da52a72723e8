package tickbeam

import (
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/tickbeam/tickbeam/internal/wire"
)

// SessionStats is a running total of one symbol's trades over one exchange
// trading day, as of the end of a period: the figures of a KIS-style daily
// report (누적 거래량, 누적 거래대금, VWAP, 체결강도, 매수/매도 압력).
//
// SessionDate is the exchange-local trading day ("2026-01-15"), from the
// calendar's SessionDay, so an XKRX day starts at 08:30 KST (23:30Z the UTC
// day before) and an XNYS day follows New York across daylight saving. AsOf is
// the end of the period the row covers: the row holds every trade of the day
// with event time before AsOf.
//
// CumVolume and CumNotional (Σ price×size) count every trade; BuyVolume and
// SellVolume only trades whose aggressor side is known, so UNKNOWN-side
// volume is in CumVolume alone. SessionVWAP is CumNotional/CumVolume.
// TradeStrength is KIS's 체결강도 (CTTR), BuyVolume/SellVolume × 100: above
// 100 buyers took more liquidity than sellers. It has no finite value while
// SellVolume is 0; it is then 0, and BuyPressure (BuyVolume/CumVolume) tells
// one-sided buying (1 when every trade's side is known) from no classified
// volume (0). Ratios of an empty day are 0.
//
// Calendar names the exchange calendar that defined the day. Revision is 0
// for the first row at an AsOf and counts restatements of it: a trade that
// arrives after the row for its period was emitted (late) is added to the
// day's totals and re-emits the latest row with Revision+1. Per (symbol,
// session_date) the row with the latest AsOf and, within it, the highest
// Revision is the whole truth for the day so far.
type SessionStats struct {
	Symbol        string    `json:"symbol"`
	SessionDate   string    `json:"session_date"`
	AsOf          time.Time `json:"as_of"`
	CumVolume     float64   `json:"cum_volume"`
	CumNotional   float64   `json:"cum_notional"`
	SessionVWAP   float64   `json:"session_vwap"`
	Trades        int64     `json:"trades"`
	BuyVolume     float64   `json:"buy_volume"`
	SellVolume    float64   `json:"sell_volume"`
	TradeStrength float64   `json:"trade_strength"`
	BuyPressure   float64   `json:"buy_pressure"`
	Calendar      string    `json:"calendar"`
	Revision      int64     `json:"revision"`
}

// Derive sets SessionVWAP, TradeStrength and BuyPressure from the totals, as
// the type's documentation defines them.
func (s *SessionStats) Derive() {
	s.SessionVWAP, s.TradeStrength, s.BuyPressure = 0, 0, 0
	if s.CumVolume != 0 {
		s.SessionVWAP = s.CumNotional / s.CumVolume
		s.BuyPressure = s.BuyVolume / s.CumVolume
	}
	if s.SellVolume != 0 {
		s.TradeStrength = s.BuyVolume / s.SellVolume * 100
	}
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(SessionStats{}), encodeSessionStats, decodeSessionStats)
}

func encodeSessionStats(s SessionStats) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = wire.AppendString(b, s.Symbol)
	b = wire.AppendString(b, s.SessionDate)
	b = wire.AppendTime(b, s.AsOf)
	for _, f := range [...]float64{s.CumVolume, s.CumNotional, s.SessionVWAP, s.BuyVolume, s.SellVolume, s.TradeStrength, s.BuyPressure} {
		b = wire.AppendFloat(b, f)
	}
	b = wire.AppendInt(b, s.Trades)
	b = wire.AppendString(b, s.Calendar)
	return wire.AppendInt(b, s.Revision), nil
}

func decodeSessionStats(b []byte) (SessionStats, error) {
	r := wire.NewReader(b)
	var s SessionStats
	s.Symbol = r.String()
	s.SessionDate = r.String()
	s.AsOf = r.Time()
	for _, f := range [...]*float64{&s.CumVolume, &s.CumNotional, &s.SessionVWAP, &s.BuyVolume, &s.SellVolume, &s.TradeStrength, &s.BuyPressure} {
		*f = r.Float()
	}
	s.Trades = r.Int()
	s.Calendar = r.String()
	s.Revision = r.Int()
	if err := r.Err(); err != nil {
		return SessionStats{}, fmt.Errorf("decode SessionStats: %w", err)
	}
	return s, nil
}
