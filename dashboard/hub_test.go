package dashboard

import (
	"testing"
	"time"

	"github.com/tickbeam/tickbeam"
)

// The hub keeps each window's newest pane and a bounded history per symbol.
func TestHubBounds(t *testing.T) {
	h := NewHub()
	start := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	for i := range 2 * maxBarsPerSymbol {
		ws := start.Add(time.Duration(i) * time.Minute)
		h.Bar(tickbeam.Bar{Symbol: "A", WindowStart: ws, PaneIndex: 1, Close: 2})
		h.Bar(tickbeam.Bar{Symbol: "A", WindowStart: ws, PaneIndex: 0, Close: 1}) // an older pane, late: ignored
		h.Indicator(tickbeam.IndicatorValue{Symbol: "A", Indicator: "sma_3", WindowStart: ws})
	}
	if n := h.Windows(); n < maxBarsPerSymbol || n > maxBarsPerSymbol+maxBarsPerSymbol/4 {
		t.Errorf("%d windows held, want %d..%d", n, maxBarsPerSymbol, maxBarsPerSymbol+maxBarsPerSymbol/4)
	}
	if len(h.indicators) != h.Windows() {
		t.Errorf("%d indicator values for %d windows", len(h.indicators), h.Windows())
	}
	for k, b := range h.bars {
		if b.Close != 2 {
			t.Fatalf("window %v holds pane %d, want the newest", k, b.PaneIndex)
		}
	}
	for i := range maxSymbols + 10 {
		h.Bar(tickbeam.Bar{Symbol: string(rune('a'+i%26)) + string(rune('0'+i/26)), WindowStart: start})
	}
	if len(h.perSymbol) != maxSymbols {
		t.Errorf("%d symbols held, want at most %d", len(h.perSymbol), maxSymbols)
	}
}
