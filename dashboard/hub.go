package dashboard

import (
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Bounds on what a Hub keeps for pages that connect later.
const (
	maxBarsPerSymbol = 500
	maxAlerts        = 200
	maxSymbols       = 200
)

// Event is one server-sent event: a bar pane, an indicator value, an
// alert, or the run's stats.
type Event struct {
	Type      string                   `json:"type"`
	Bar       *tickbeam.Bar            `json:"bar,omitempty"`
	Indicator *tickbeam.IndicatorValue `json:"indicator,omitempty"`
	Alert     *tickbeam.Alert          `json:"alert,omitempty"`
	Stats     *Stats                   `json:"stats,omitempty"`
}

// Stats are the run's counters and lags as the page shows them.
type Stats struct {
	Counters    map[string]int64   `json:"counters"`
	DeadLetters map[string]int64   `json:"dead_letters"`
	Freshness   map[string]float64 `json:"freshness_s"`     // clock minus the latest event time, per source
	Lag         map[string]float64 `json:"watermark_lag_s"` // clock minus the watermark, per bars stage
	AsOf        time.Time          `json:"as_of"`
}

type barKey struct {
	symbol string
	start  int64
}

type indicatorKey struct {
	symbol, indicator string
	start             int64
}

// Hub keeps the latest rows of a run, bounded, and fans events out to the
// connected pages.
type Hub struct {
	mu         sync.Mutex
	bars       map[barKey]tickbeam.Bar
	perSymbol  map[string]int // bar windows held per symbol
	indicators map[indicatorKey]tickbeam.IndicatorValue
	alerts     []tickbeam.Alert
	stats      *Stats
	subs       map[chan []byte]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{bars: map[barKey]tickbeam.Bar{}, perSymbol: map[string]int{}, indicators: map[indicatorKey]tickbeam.IndicatorValue{}, subs: map[chan []byte]struct{}{}}
}

// Bar records a bar pane: a window's newest pane replaces its older ones.
func (h *Hub) Bar(b tickbeam.Bar) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := barKey{b.Symbol, b.WindowStart.UnixMilli()}
	if old, ok := h.bars[k]; ok && old.PaneIndex > b.PaneIndex {
		return
	}
	if _, ok := h.bars[k]; !ok {
		if h.perSymbol[b.Symbol] == 0 && len(h.perSymbol) >= maxSymbols {
			return
		}
		h.perSymbol[b.Symbol]++
	}
	h.bars[k] = b
	if h.perSymbol[b.Symbol] > maxBarsPerSymbol+maxBarsPerSymbol/4 {
		h.trim(b.Symbol)
	}
	h.broadcast(Event{Type: "bar", Bar: &b})
}

// trim drops a symbol's oldest bars and indicator values past the bound;
// Bar calls it only once a quarter more have come, so it costs O(1) a bar.
func (h *Hub) trim(symbol string) {
	var starts []int64
	for k := range h.bars {
		if k.symbol == symbol {
			starts = append(starts, k.start)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	cut := starts[len(starts)-maxBarsPerSymbol]
	for k := range h.bars {
		if k.symbol == symbol && k.start < cut {
			delete(h.bars, k)
			h.perSymbol[symbol]--
		}
	}
	for k := range h.indicators {
		if k.symbol == symbol && k.start < cut {
			delete(h.indicators, k)
		}
	}
}

// Indicator records an indicator value.
func (h *Hub) Indicator(v tickbeam.IndicatorValue) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perSymbol[v.Symbol] == 0 && len(h.perSymbol) >= maxSymbols {
		return // a symbol the hub has no room for (its bars are not kept either)
	}
	h.indicators[indicatorKey{v.Symbol, v.Indicator, v.WindowStart.UnixMilli()}] = v
	h.broadcast(Event{Type: "indicator", Indicator: &v})
}

// Alert records an alert.
func (h *Hub) Alert(a tickbeam.Alert) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.alerts = append(h.alerts, a)
	if len(h.alerts) > maxAlerts {
		h.alerts = h.alerts[len(h.alerts)-maxAlerts:]
	}
	h.broadcast(Event{Type: "alert", Alert: &a})
}

// SetStats records the run's stats.
func (h *Hub) SetStats(s Stats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats = &s
	h.broadcast(Event{Type: "stats", Stats: &s})
}

// Windows is the number of distinct bar windows the hub holds: what a page
// that saw every event draws as candles.
func (h *Hub) Windows() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bars)
}

// broadcast sends e to every page; a page too slow to keep up is dropped
// (it reconnects and gets a snapshot) rather than holding the pipeline.
func (h *Hub) broadcast(e Event) {
	if len(h.subs) == 0 {
		return
	}
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	for ch := range h.subs {
		select {
		case ch <- data:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// subscribe returns the current state as events and a channel of the
// events after it.
func (h *Hub) subscribe() (snapshot [][]byte, ch chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var events []Event
	keys := make([]barKey, 0, len(h.bars))
	for k := range h.bars {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].start != keys[j].start {
			return keys[i].start < keys[j].start
		}
		return keys[i].symbol < keys[j].symbol
	})
	for _, k := range keys {
		b := h.bars[k]
		events = append(events, Event{Type: "bar", Bar: &b})
	}
	for _, v := range h.indicators {
		v := v
		events = append(events, Event{Type: "indicator", Indicator: &v})
	}
	for i := range h.alerts {
		events = append(events, Event{Type: "alert", Alert: &h.alerts[i]})
	}
	if h.stats != nil {
		events = append(events, Event{Type: "stats", Stats: h.stats})
	}
	for _, e := range events {
		if data, err := json.Marshal(e); err == nil {
			snapshot = append(snapshot, data)
		}
	}
	ch = make(chan []byte, 4096)
	h.subs[ch] = struct{}{}
	return snapshot, ch
}

func (h *Hub) unsubscribe(ch chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}
