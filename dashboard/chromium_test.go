package dashboard_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/chromedp/chromedp"
	"github.com/tickbeam/tickbeam/dashboard"
	"github.com/tickbeam/tickbeam/metrics"
	"github.com/tickbeam/tickbeam/pipelines/monitor"
	"github.com/tickbeam/tickbeam/runners"
	"github.com/tickbeam/tickbeam/transforms/bars"
)

// chromium starts headless Chromium (the Debian package, installed by
// scripts/testtools.sh) with a fresh profile, offline but for loopback.
func chromium(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed (make test installs it: bash scripts/testtools.sh): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("mute-audio", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// pageState is window.tickbeam: what the page drew.
type pageState struct {
	Windows, Drawn, Markers, Symbols, Events, Stats int
	Synced                                          bool
}

func state(t *testing.T, ctx context.Context) pageState {
	t.Helper()
	st, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](`window.tickbeam`))
	if err != nil {
		t.Fatalf("read window.tickbeam: %v", err)
	}
	return st
}

// countColor counts the pixels of exactly c.
func countColor(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bb>>8) == c.B {
				n++
			}
		}
	}
	return n
}

var (
	upColor   = color.RGBA{0x26, 0xa6, 0x9a, 0xff}
	downColor = color.RGBA{0xef, 0x53, 0x50, 0xff}
)

// checkScreenshot takes a screenshot and counts the candle colors in it:
// each candle's body is at least 4 px wide and 1 px high in its color. With
// $TICKBEAM_SCREENSHOT_DIR set, the screenshot is saved there as name.
func checkScreenshot(t *testing.T, ctx context.Context, candles int, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	up, down := countColor(img, upColor), countColor(img, downColor)
	if up+down < 4*candles || up == 0 || down == 0 {
		t.Errorf("screenshot: %d rising and %d falling candle pixels for %d candles", up, down, candles)
	}
	if dir := os.Getenv("TICKBEAM_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The page, open before the run, draws the candles of a streaming run as
// their panes fire (server-sent events), with indicators, the alert marker
// and the run's counters; a screenshot shows the candles; on a phone's
// width nothing overflows.
func TestDashboardInChromium(t *testing.T) {
	hub := dashboard.NewHub()
	defer dashboard.Register("chromium-test", hub)()
	srv, err := dashboard.Serve("127.0.0.1:0", hub, dashboard.Options{Stats: runners.LiveMetrics, StatsEvery: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := chromium(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate("http://"+srv.Addr()+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	for !state(t, ctx).Synced {
		time.Sleep(50 * time.Millisecond)
	}

	cfg := monitor.Config{Input: "synthetic:?symbols=BTCUSDT,ETHUSDT,SOLUSDT&rate=40&seed=3&paced=true&vol=5",
		Bars: []bars.Resolution{bars.Resolution(time.Second)}, BarsOut: t.TempDir(), Shards: 1, KeepDuplicates: true,
		Indicators: "sma:3,bb:5:2,rsi:4", IndicatorsOut: t.TempDir(),
		Rules: "../examples/rules/below-level.yaml", AlertsOut: t.TempDir()}
	cfg.Taps = []monitor.Tap{func(s beam.Scope, c monitor.Collections) {
		dashboard.Tap(s, "chromium-test", dashboard.Inputs{Bars: c.Bars[0], Indicators: c.Indicators, Alerts: c.Alerts})
		metrics.Observe(s, metrics.Inputs{Ticks: c.Ticks, Bars: c.Bars[0], Resolution: cfg.Bars[0], DeadLetters: c.DeadLetters})
	}}
	plan, err := cfg.Resolve(runners.Local)
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	if err := monitor.Build(s, plan); err != nil {
		t.Fatal(err)
	}
	var during []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3; i++ {
			time.Sleep(2500 * time.Millisecond)
			during = append(during, state(t, ctx).Drawn)
		}
	}()
	res, err := runners.Run(context.Background(), p, runners.Options{Duration: 9 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	// Candles appeared while the job ran, more as it went on.
	if during[0] == 0 || during[2] <= during[0] {
		t.Errorf("candles drawn at 2.5 s, 5 s, 7.5 s into the run: %v, want a growing count from the start", during)
	}
	want := hub.Windows()
	deadline := time.Now().Add(10 * time.Second)
	st := state(t, ctx)
	for (st.Windows != want || st.Drawn != want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		st = state(t, ctx)
	}
	if want < 3*5 || st.Windows != want || st.Drawn != want || st.Symbols != 3 {
		t.Errorf("page: %+v, want %d bar windows (the hub's), all drawn, 3 symbols", st, want)
	}
	if alerts := runners.Counter(res, "tickbeam/alerts", "alerts"); alerts == 0 || st.Markers != int(alerts) {
		t.Errorf("alert markers drawn %d, alerts fired %d (want equal and > 0)", st.Markers, alerts)
	}
	statsText, err := chromedp.Run(ctx, chromedp.Text("#stats"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"synthetic.ticks", "watermark lag bars_1s", "freshness synthetic"} {
		if !bytes.Contains([]byte(statsText), []byte(w)) {
			t.Errorf("stats bar %q lacks %q", statsText, w)
		}
	}

	checkScreenshot(t, ctx, want, "dashboard-live.png")

	// A phone: one column, nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	scrollW, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	cardW, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector(".card").getBoundingClientRect().width`))
	if err != nil {
		t.Fatal(err)
	}
	if scrollW > 390 || cardW < 300 || cardW > 390 {
		t.Errorf("on a 390 px phone: page %v px wide, a card %v px, want no overflow and full-width cards", scrollW, cardW)
	}
	if dir := os.Getenv("TICKBEAM_SCREENSHOT_DIR"); dir != "" {
		phone, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dashboard-phone.png"), phone, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A page opened after a run gets the hub's snapshot: 60 one-minute bars per
// symbol with indicators and alerts (the README's screenshot).
func TestDashboardSnapshotInChromium(t *testing.T) {
	hub := dashboard.NewHub()
	defer dashboard.Register("snapshot-test", hub)()
	cfg := monitor.Config{Input: "synthetic:?symbols=BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT&count=3600&rate=1&seed=7&paced=false&start=2026-01-15T13:30:00Z&vol=3",
		Bars: []bars.Resolution{bars.Resolution(time.Minute)}, BarsOut: t.TempDir(), Shards: 1,
		Indicators: "sma:20,bb:20:2,rsi:14", IndicatorsOut: t.TempDir(),
		Rules: "../examples/rules/below-level.yaml", AlertsOut: t.TempDir()}
	cfg.Taps = []monitor.Tap{func(s beam.Scope, c monitor.Collections) {
		dashboard.Tap(s, "snapshot-test", dashboard.Inputs{Bars: c.Bars[0], Indicators: c.Indicators, Alerts: c.Alerts})
	}}
	plan, err := cfg.Resolve(runners.Local)
	if err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	if err := monitor.Build(s, plan); err != nil {
		t.Fatal(err)
	}
	res, err := runners.Run(context.Background(), p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dashboard.Serve("127.0.0.1:0", hub, dashboard.Options{Stats: runners.LiveMetrics, StatsEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := chromium(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000), chromedp.Navigate("http://"+srv.Addr()+"/")); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}
	// An hour of ticks at 1/s per symbol: 60 one-minute windows each, which
	// all fit a card 1280/2 px wide.
	want := hub.Windows()
	deadline := time.Now().Add(20 * time.Second)
	st := state(t, ctx)
	for (!st.Synced || st.Drawn != want || st.Stats == 0) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		st = state(t, ctx)
	}
	if want != 4*60 || st.Windows != want || st.Drawn != want || st.Symbols != 4 {
		t.Errorf("page: %+v, want %d bar windows (the hub's), all drawn, 4 symbols", st, want)
	}
	if alerts := runners.Counter(res, "tickbeam/alerts", "alerts"); alerts == 0 || st.Markers != int(alerts) {
		t.Errorf("alert markers drawn %d, alerts fired %d (want equal and > 0)", st.Markers, alerts)
	}
	checkScreenshot(t, ctx, want, "dashboard.png")
}
