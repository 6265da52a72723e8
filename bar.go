package tickbeam

import "time"

// Timing says which firing of a window produced a row, as Beam's pane timing.
type Timing string

// Pane timings.
const (
	Early  Timing = "EARLY"
	OnTime Timing = "ON_TIME"
	Late   Timing = "LATE"
)

// Bar is an OHLCV bar of trades over the event-time window [WindowStart, WindowEnd).
//
// Trades order by (event_time, trade_id — numerically when both ids are
// numeric); Open is the first and Close the last. Notional is Σ price×size and
// VWAP is Notional/Volume. BuyVolume and SellVolume come from the aggressor
// side; trades of unknown side count in Volume only. A window that fires more
// than once (early or late panes) emits one row per pane, numbered by PaneIndex;
// the row with the highest PaneIndex is the whole truth for its window.
type Bar struct {
	Symbol      string    `json:"symbol"`
	Resolution  string    `json:"resolution"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Open        float64   `json:"open"`
	High        float64   `json:"high"`
	Low         float64   `json:"low"`
	Close       float64   `json:"close"`
	Volume      float64   `json:"volume"`
	Notional    float64   `json:"notional"`
	VWAP        float64   `json:"vwap"`
	Trades      int64     `json:"trades"`
	BuyVolume   float64   `json:"buy_volume"`
	SellVolume  float64   `json:"sell_volume"`
	Timing      Timing    `json:"timing"`
	PaneIndex   int64     `json:"pane_index"`
}
