package live

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/io/live/livetest"
)

// binanceFrames are the recorded combined-stream frames (shapes from
// Binance's WebSocket Streams docs): BTCUSDT trades 1001..1040 and ETHUSDT
// 501..510, over four seconds of 2026-01-15.
func binanceFrames(t *testing.T) []string { return livetest.Lines(t, "testdata/binance/stream.jsonl") }

// frameID is the trade id of a recorded frame.
func frameID(t *testing.T, frame string) (string, uint64) {
	var m struct{ Data binanceEvent }
	if err := json.Unmarshal([]byte(frame), &m); err != nil {
		t.Fatal(err)
	}
	return m.Data.Symbol, m.Data.ID
}

func binanceURI(f *livetest.Server, extra string) string {
	return "binance:?symbols=BTCUSDT,ETHUSDT&endpoint=" + f.WS() + "&rest=" + f.HTTP() + extra
}

// tradeIDs lists the "SYMBOL/id" of ticks, sorted.
func tradeIDs(ticks []tickbeam.Tick) []string {
	var ids []string
	for _, k := range ticks {
		ids = append(ids, k.Symbol+"/"+k.TradeID)
	}
	sort.Strings(ids)
	return ids
}

func uniq(ids []string) []string {
	var out []string
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out
}

// The server closes the first connection after 20 frames; the second
// replays 3 frames of overlap and skips two BTCUSDT trades. The connector
// reconnects, resubscribes (the same streams in the URL), detects the two
// missing ids, backfills them from the history endpoint before the trade
// that revealed them, and reports one filled Gap: every recorded trade is
// there, only the overlap twice (dedupe's job downstream).
func TestBinanceReconnectGapBackfill(t *testing.T) {
	frames := binanceFrames(t)
	skip := map[int]bool{}
	for i, fr := range frames {
		if sym, id := frameID(t, fr); sym == "BTCUSDT" && (id == 1019 || id == 1020) {
			skip[i] = true
		}
	}
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		switch n {
		case 1:
			livetest.Send(ctx, c, frames[:20]...)
			c.Close(websocket.StatusGoingAway, "server restarting")
		default:
			for i := 17; i < len(frames); i++ {
				if !skip[i] && !livetest.Send(ctx, c, frames[i]) {
					return
				}
			}
			<-ctx.Done()
		}
	})
	var calls atomic.Int64
	f.Mux.Handle("/api/v3/historicalTrades", livetest.BinanceHistory(frames, &calls))
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= len(frames)+3 }}
	conn, err := runConnector(t, binanceURI(f, ""), Options{}, sink, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ticks, failed := sink.ticks(t, "binance")
	if failed != 0 {
		t.Errorf("%d lines did not parse", failed)
	}
	var want []string
	for _, fr := range frames {
		sym, id := frameID(t, fr)
		want = append(want, fmt.Sprintf("%s/%d", sym, id))
	}
	sort.Strings(want)
	got := tradeIDs(ticks)
	if diff := cmp.Diff(want, uniq(got)); diff != "" {
		t.Errorf("distinct trades (-want +got):\n%s", diff)
	}
	if len(got) != len(want)+3 {
		t.Errorf("%d trades, want %d + 3 of overlap", len(got), len(want))
	}
	wantGap := tickbeam.Gap{Source: "binance", Symbol: "BTCUSDT", FromID: "1019", ToID: "1020", Missing: 2, Unit: tickbeam.GapTrades,
		Filled: true, Recovered: 2, From: time.UnixMilli(1768435201800).UTC(), To: time.UnixMilli(1768435202100).UTC()}
	if diff := cmp.Diff([]tickbeam.Gap{wantGap}, sink.gaps, cmpopts.IgnoreFields(tickbeam.Gap{}, "DetectedAt")); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}
	// The backfilled lines come right before the trade that revealed them.
	var order []string
	for _, l := range sink.lines {
		if l.Backfill {
			order = append(order, "backfill")
		} else if strings.Contains(string(l.Payload), `"t":1021`) {
			order = append(order, "1021")
		}
	}
	if diff := cmp.Diff([]string{"backfill", "backfill", "1021"}, order); diff != "" {
		t.Errorf("line order (-want +got):\n%s", diff)
	}
	st := conn.Stats()
	if st.Reconnects != 1 || st.Gaps != 1 || st.Missing != 2 || st.Backfilled != 2 || calls.Load() != 1 {
		t.Errorf("stats %+v, history calls %d; want 1 reconnect, 1 gap of 2, 2 backfilled, 1 call", st, calls.Load())
	}
	if st.ResumeLatency <= 0 {
		t.Errorf("ResumeLatency %s, want the time from the reconnect to its first trade", st.ResumeLatency)
	}
	for _, u := range f.URLs() {
		if !strings.Contains(u, "streams=btcusdt@trade/ethusdt@trade") {
			t.Errorf("connection URL %s does not subscribe both trade streams", u)
		}
	}
}

// max_age reconnects before the vendor's forced disconnect (Binance: 24 h),
// without a backoff wait; the overlap is left to dedupe.
func TestBinanceMaxAge(t *testing.T) {
	frames := binanceFrames(t)
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		if n == 1 {
			livetest.Send(ctx, c, frames[:3]...)
		} else {
			livetest.Send(ctx, c, frames[3:6]...)
		}
		<-ctx.Done()
	})
	sink := &collect{until: func(c *collect) bool { return len(c.lines) >= 6 }}
	conn, err := runConnector(t, binanceURI(f, "&max_age=300ms"), Options{}, sink, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dials := f.Dials()
	if len(dials) < 2 {
		t.Fatalf("%d dials, want a reconnect at max_age", len(dials))
	}
	if gap := dials[1].Sub(dials[0]); gap > 300*time.Millisecond+250*time.Millisecond {
		t.Errorf("reconnected %s after the first dial: the max-age reconnect should not back off", gap)
	}
	if st := conn.Stats(); st.Reconnects < 1 || st.Gaps != 0 {
		t.Errorf("stats %+v", st)
	}
}
