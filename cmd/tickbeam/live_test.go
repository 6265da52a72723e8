package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/live/livetest"
)

const binanceFrames = "../../io/live/testdata/binance/stream.jsonl"

// binanceOutage is a fake Binance: the first connection sends 20 recorded
// frames and closes; the second replays 3 frames of overlap, skips BTCUSDT
// trades 1019 and 1020, sends the rest and stays open. The history endpoint
// has every trade.
func binanceOutage(t *testing.T) (*livetest.Server, []string, *atomic.Int64) {
	frames := livetest.Lines(t, binanceFrames)
	srv := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		if n == 1 {
			livetest.Send(ctx, c, frames[:20]...)
			c.Close(websocket.StatusGoingAway, "server restarting")
			return
		}
		for _, fr := range frames[17:] {
			if strings.Contains(fr, `"t":1019,`) || strings.Contains(fr, `"t":1020,`) {
				continue
			}
			if !livetest.Send(ctx, c, fr) {
				return
			}
		}
		<-ctx.Done()
	})
	var calls atomic.Int64
	srv.Mux.Handle("/api/v3/historicalTrades", livetest.BinanceHistory(frames, &calls))
	return srv, frames, &calls
}

func sortBars(b []tickbeam.Bar) {
	sort.Slice(b, func(i, j int) bool {
		if b[i].Symbol != b[j].Symbol {
			return b[i].Symbol < b[j].Symbol
		}
		return b[i].WindowStart.Before(b[j].WindowStart)
	})
}

// `tickbeam monitor` on a live Binance connection, on prism: the
// connection drops mid-stream, comes back with an overlap and a hole; the
// hole is backfilled from the history endpoint and the overlap dropped by
// dedupe, so the 1s bars equal those of a batch replay of the whole
// capture: no trade lost, none counted twice. The gap is a row on
// --gaps_out and the counters add up.
func TestMonitorLiveBinance(t *testing.T) {
	srv, frames, calls := binanceOutage(t)
	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.jsonl")
	if err := os.WriteFile(capture, []byte(strings.Join(frames, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	batchOut, liveOut := filepath.Join(dir, "batch"), filepath.Join(dir, "live")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"monitor", "--input=" + capture, "--format=binance", "--bar=1s",
		"--bars_out=" + batchOut}, &stdout, &stderr); code != 0 {
		t.Fatalf("batch monitor: exit %d: %s", code, stderr.String())
	}
	want := readRows[tickbeam.Bar](t, batchOut, "bars-")
	if len(want) < 8 {
		t.Fatalf("batch replay made %d bars", len(want))
	}

	stdout.Reset()
	stderr.Reset()
	uri := "binance:?symbols=BTCUSDT,ETHUSDT&endpoint=" + srv.WS() + "&rest=" + srv.HTTP()
	code := run(context.Background(), []string{"monitor", "--input=" + uri, "--bar=1s", "--bars_out=" + liveOut,
		"--gaps_out=" + liveOut, "--watermark_delay=1s", "--duration=15s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("live monitor: exit %d: %s", code, stderr.String())
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	got := readRows[tickbeam.Bar](t, liveOut, "bars-")
	sortBars(want)
	sortBars(got)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(tickbeam.Bar{}, "Timing", "PaneIndex")); diff != "" {
		t.Errorf("live bars vs the batch replay of the capture (-batch +live):\n%s", diff)
	}
	gaps := readRows[tickbeam.Gap](t, liveOut, "gaps-")
	if len(gaps) != 1 || gaps[0].Symbol != "BTCUSDT" || gaps[0].FromID != "1019" || gaps[0].ToID != "1020" || !gaps[0].Filled || gaps[0].Recovered != 2 {
		t.Errorf("gaps = %+v, want one filled BTCUSDT gap 1019..1020", gaps)
	}
	if calls.Load() != 1 {
		t.Errorf("%d history calls, want 1", calls.Load())
	}
	// 50 recorded frames + 3 replayed + 2 backfilled lines - 2 skipped = 53
	// messages; the 3 replayed trades are duplicates.
	for _, c := range []string{"parse.messages  *53\n", "parse.ticks  *53\n", "dedupe.duplicates  *3\n", "live.gaps  *1\n",
		"live.missing  *2\n", "live.backfilled  *2\n", "live.reconnects  *1\n"} {
		if !matches(stdout.String(), c) {
			t.Errorf("summary lacks %q:\n%s", c, stdout.String())
		}
	}
	if !strings.Contains(stdout.String(), "BTCUSDT") || !strings.Contains(stdout.String(), "trades") {
		t.Errorf("monitor did not print bars as they closed:\n%s", stdout.String())
	}
}

// A refused connection is one line on stderr and exit 1, after one dial.
func TestMonitorLiveRefused(t *testing.T) {
	srv := livetest.NewServer(t, func(context.Context, int, *websocket.Conn) {})
	srv.Refuse = func(_ int, w http.ResponseWriter) bool { w.WriteHeader(http.StatusUnauthorized); return true }
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"monitor", "--input=binance:?symbols=BTCUSDT&endpoint=" + srv.WS(), "--bar=1s",
		"--bars_out=" + t.TempDir(), "--duration=5s"}, &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "binance refused the connection: HTTP 401") {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line naming the refusal", code, stderr.String())
	}
	if n := len(srv.Dials()); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}

// `tickbeam monitor` on prism against every other websocket vendor's fake
// (Binance: TestMonitorLiveBinance): the connection drops mid-stream and the
// next one replays an overlap. The 1s bars equal those of a batch replay of
// the same frames as a capture, so no trade is lost and none counted twice;
// TradingView's quotes make no bars, so there the ticks are counted. The
// Coinbase run is stopped by SIGINT (Ctrl-C) once its bars are written,
// the others by --duration.
func TestMonitorLiveEveryVendor(t *testing.T) {
	const n, cut = 2500, 1200
	for _, v := range livetest.Vendors() {
		if v.Name == "binance" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			overlap := 50
			if v.Name == "tradingview" {
				overlap = 0 // quotes have no id to dedupe by
			}
			frames := make([]string, n)
			for i := range frames {
				frames[i] = v.Trade(i)
			}
			srv := livetest.NewServer(t, func(ctx context.Context, k int, c *websocket.Conn) {
				switch {
				case !v.Handshake(ctx, c, k, ""):
				case k == 1:
					livetest.Send(ctx, c, frames[:cut]...)
					c.Close(websocket.StatusGoingAway, "server restarting")
					return
				default:
					livetest.Send(ctx, c, frames[cut-overlap:]...)
				}
				livetest.Drain(ctx, c)
			})
			if v.Setup != nil {
				v.Setup(srv)
			}
			for k, val := range v.Env {
				t.Setenv(k, val)
			}
			dir := t.TempDir()
			capture := filepath.Join(dir, "capture.jsonl")
			if err := os.WriteFile(capture, []byte(strings.Join(frames, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			batchOut, liveOut := filepath.Join(dir, "batch"), filepath.Join(dir, "live")
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{"monitor", "--input=" + capture, "--format=" + v.Name, "--bar=1s",
				"--bars_out=" + batchOut}, &stdout, &stderr); code != 0 {
				t.Fatalf("batch monitor: exit %d: %s", code, stderr.String())
			}
			want := readRows[tickbeam.Bar](t, batchOut, "bars-")
			if v.Name != "tradingview" && len(want) < 3 {
				t.Fatalf("batch replay made %d bars", len(want))
			}

			args := []string{"monitor", "--input=" + v.URI(srv), "--bar=1s", "--bars_out=" + liveOut, "--watermark_delay=1s"}
			if v.Name == "coinbase" {
				go func() {
					// Ctrl-C once every window the batch run closed is written.
					for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
						if files, _ := filepath.Glob(filepath.Join(liveOut, "bars-*.jsonl")); len(files) > 0 && barRows(liveOut) >= len(want) {
							break
						}
					}
					_ = syscall.Kill(syscall.Getpid(), syscall.SIGINT)
				}()
			} else {
				args = append(args, "--duration=12s")
			}
			stdout.Reset()
			stderr.Reset()
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("live monitor: exit %d: %s", code, stderr.String())
			}
			got := readRows[tickbeam.Bar](t, liveOut, "bars-")
			sortBars(want)
			sortBars(got)
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(tickbeam.Bar{}, "Timing", "PaneIndex")); diff != "" {
				t.Errorf("live bars vs the batch replay (-batch +live):\n%s", diff)
			}
			for _, c := range []string{fmt.Sprintf("parse.ticks  *%d\n", n+overlap), fmt.Sprintf("dedupe.duplicates  *%d\n", overlap),
				"live.reconnects  *1\n"} {
				if (overlap > 0 || !strings.HasPrefix(c, "dedupe")) && !matches(stdout.String(), c) {
					t.Errorf("summary lacks %q:\n%s", c, stdout.String())
				}
			}
		})
	}
}

// barRows counts the rows of the bar files in dir.
func barRows(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "bars-*.jsonl"))
	n := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}
