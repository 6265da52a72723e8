package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/feedformat"
	"github.com/tickbeam/tickbeam/io/live/livetest"
)

// recorded are v's frames of trades for the fault tests: recorded from the
// vendors' docs (testdata/), generated for TradingView's quotes.
func recorded(t *testing.T, v livetest.Vendor) []string {
	switch v.Name {
	case "binance":
		return binanceFrames(t)[:8]
	case "coinbase":
		return livetest.Lines(t, "testdata/coinbase/stream.jsonl")[1:9]
	case "alpaca":
		return livetest.Lines(t, "testdata/alpaca/stream.jsonl")[:8]
	case "kis":
		return livetest.Lines(t, "testdata/kis/stream.jsonl")
	}
	var out []string
	for i := range 8 {
		out = append(out, v.Trade(i))
	}
	return out
}

// faultCase is how a fake server treats the connections of one test.
type faultCase struct {
	extra string // URI keys added
	// want is how many lines of recorded frames end the run.
	want int
	// refuse, when set, names the frame connection n's handshake answers
	// with instead of accepting ("" accepts).
	refuse func(n int) string
	// serve runs connection n once its handshake accepted it.
	serve func(ctx context.Context, n int, c *websocket.Conn, frames []string)
	// setup adjusts the server (handshake refusals by HTTP status).
	setup func(*livetest.Server)
}

// faultRun is the outcome of a faultCase.
type faultRun struct {
	f      *livetest.Server
	conn   Connector
	err    error
	sink   *collect
	frames []string
}

// runFault serves v as fc says and runs v's connector until the sink holds
// fc.want lines of v's frames, Run returns, or 20 s pass.
func runFault(t *testing.T, v livetest.Vendor, fc faultCase) faultRun {
	t.Helper()
	frames := recorded(t, v)
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		refuse := ""
		if fc.refuse != nil {
			refuse = fc.refuse(n)
		}
		if v.Handshake(ctx, c, n, refuse) && refuse == "" && fc.serve != nil {
			fc.serve(ctx, n, c, frames)
		}
		livetest.Drain(ctx, c)
	})
	if v.Setup != nil {
		v.Setup(f)
	}
	if fc.setup != nil {
		fc.setup(f)
	}
	r := faultRun{f: f, sink: &collect{}, frames: frames}
	if fc.want > 0 {
		r.sink.until = func(*collect) bool { return len(r.receivedLocked()) >= fc.want }
	}
	r.conn, r.err = runConnector(t, v.URI(f)+fc.extra, Options{Getenv: v.Getenv}, r.sink, 20*time.Second)
	return r
}

// received lists the lines that are recorded frames, in arrival order.
func (r faultRun) received() []string {
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	return r.receivedLocked()
}

func (r faultRun) receivedLocked() []string {
	var out []string
	for _, l := range r.sink.lines {
		if slices.Contains(r.frames, string(l.Payload)) {
			out = append(out, string(l.Payload))
		}
	}
	return out
}

// The server closes the connection mid-stream; the second connection
// subscribes again and replays one frame of overlap. Every frame arrives,
// the overlap twice (dedupe drops it downstream), nothing else twice, and
// the time from the reconnect to its first trade is measured.
func TestFaultReconnectResubscribe(t *testing.T) {
	for i, v := range livetest.Vendors() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			v := livetest.Vendors()[i] // its own handshake counters
			r := runFault(t, v, faultCase{want: 9, serve: func(ctx context.Context, n int, c *websocket.Conn, frames []string) {
				if n == 1 {
					livetest.Send(ctx, c, frames[:4]...)
					c.Close(websocket.StatusGoingAway, "server restarting")
					return
				}
				livetest.Send(ctx, c, frames[3:]...)
			}})
			if r.err != nil {
				t.Fatal(r.err)
			}
			want := append(slices.Clone(r.frames[:4]), r.frames[3:]...)
			if diff := cmp.Diff(want, r.received()); diff != "" {
				t.Errorf("frames received (-want +got):\n%s", diff)
			}
			if !v.Subscribed(r.f, 1) || !v.Subscribed(r.f, 2) {
				t.Error("the connector did not subscribe on both connections")
			}
			st := r.conn.Stats()
			if st.Reconnects != 1 || st.Silences != 0 || st.ResumeLatency <= 0 {
				t.Errorf("stats %+v, want 1 reconnect, no silence, a resume latency", st)
			}
		})
	}
}

// A socket that stays open but sends nothing (no frame, no ping) is
// dropped by the watchdog after silence= and reconnected; nothing is lost.
func TestFaultStalledSocketWatchdog(t *testing.T) {
	for i, v := range livetest.Vendors() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			v := livetest.Vendors()[i] // its own handshake counters
			start := time.Now()
			r := runFault(t, v, faultCase{extra: "&silence=400ms", want: 8, serve: func(ctx context.Context, n int, c *websocket.Conn, frames []string) {
				if n == 1 {
					livetest.Send(ctx, c, frames[:3]...) // then stalled: open, reading, silent
				} else {
					livetest.Send(ctx, c, frames[3:]...)
				}
			}})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if diff := cmp.Diff(r.frames, r.received()); diff != "" {
				t.Errorf("frames received (-want +got):\n%s", diff)
			}
			if st := r.conn.Stats(); st.Silences != 1 || st.Reconnects != 1 {
				t.Errorf("stats %+v, want 1 silence and 1 reconnect", st)
			}
			if took := time.Since(start); took < 400*time.Millisecond {
				t.Errorf("took %s, less than the silence bound", took)
			}
		})
	}
}

// A refusal (HTTP 401 at the handshake, or the vendor's own refusal frame)
// stops the connector after one dial with one line naming the vendor and
// no credential.
func TestFaultAuthRefused(t *testing.T) {
	for i, v := range livetest.Vendors() {
		cases := map[string]faultCase{"http401": {setup: func(f *livetest.Server) {
			f.Refuse = func(_ int, w http.ResponseWriter) bool { w.WriteHeader(http.StatusUnauthorized); return true }
		}}}
		if v.Refusal != "" {
			cases["frame"] = faultCase{refuse: func(int) string { return v.Refusal }}
		}
		for how, fc := range cases {
			t.Run(v.Name+"/"+how, func(t *testing.T) {
				t.Parallel()
				v := livetest.Vendors()[i] // its own handshake counters
				r := runFault(t, v, fc)
				if r.err == nil || !errors.As(r.err, new(*AuthError)) || strings.Contains(r.err.Error(), "\n") ||
					!strings.HasPrefix(r.err.Error(), v.Name+" refused the connection: ") {
					t.Fatalf("err = %v, want one line: %s refused the connection: ...", r.err, v.Name)
				}
				for _, s := range v.Env {
					if strings.Contains(r.err.Error(), s) {
						t.Errorf("err %q shows a credential", r.err)
					}
				}
				if n := len(r.f.Dials()); n != 1 {
					t.Errorf("%d dials, want 1 (no retry)", n)
				}
			})
		}
	}
}

// Garbage and binary frames go on as lines the parser dead-letters; a frame
// over max_frame is a line marked Oversize (a dead letter of stage read);
// the connection stays up.
func TestFaultGarbageAndOversize(t *testing.T) {
	big := `{"pad":"` + strings.Repeat("x", 3000) + `"}`
	for i, v := range livetest.Vendors() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			v := livetest.Vendors()[i] // its own handshake counters
			r := runFault(t, v, faultCase{extra: "&max_frame=2048", want: 2, serve: func(ctx context.Context, n int, c *websocket.Conn, frames []string) {
				livetest.Send(ctx, c, frames[0], "not json at all", big)
				_ = c.Write(ctx, websocket.MessageBinary, []byte{0xff, 0x00, 0x17})
				livetest.Send(ctx, c, frames[1])
			}})
			if r.err != nil {
				t.Fatal(r.err)
			}
			p, err := feedformat.New(v.Name, feedformat.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var bad []string
			var oversize []Line
			for _, l := range r.sink.lines {
				if l.Oversize > 0 {
					oversize = append(oversize, l)
					continue
				}
				if _, err := p.Parse(nil, l.Payload); err != nil && !errors.Is(err, feedformat.ErrControl) {
					bad = append(bad, string(l.Payload))
				}
			}
			if diff := cmp.Diff([]string{"not json at all", "\xff\x00\x17"}, bad); diff != "" {
				t.Errorf("lines the parser dead-letters (-want +got):\n%s", diff)
			}
			if len(oversize) != 1 || oversize[0].Oversize != len(big) || len(oversize[0].Payload) > deadLetterKeep ||
				oversize[0].DeadLetter().Stage != StageRead || !strings.Contains(oversize[0].DeadLetter().ErrorMessage, fmt.Sprintf("frame of %d bytes", len(big))) {
				t.Errorf("%d oversize lines, want 1 of %d bytes as a read dead letter", len(oversize), len(big))
			}
			if diff := cmp.Diff(r.frames[:2], r.received()); diff != "" {
				t.Errorf("frames received (-want +got):\n%s", diff)
			}
			if st := r.conn.Stats(); st.Oversize != 1 || st.Reconnects != 0 {
				t.Errorf("stats %+v, want 1 oversize, no reconnect", st)
			}
		})
	}
}

// A rate-limit reply, HTTP 429 with Retry-After at the handshake (every
// vendor) or the vendor's own frame, makes the next dial wait: at least
// Retry-After, or the backoff's first interval (0.25 s at the least).
func TestFaultRateLimited(t *testing.T) {
	sendThree := func(ctx context.Context, _ int, c *websocket.Conn, frames []string) {
		livetest.Send(ctx, c, frames[:3]...)
	}
	for i, v := range livetest.Vendors() {
		cases := map[string]faultCase{"http429": {want: 3, serve: sendThree, setup: func(f *livetest.Server) {
			f.Refuse = func(n int, w http.ResponseWriter) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
		}}}
		if v.RateLimit != "" {
			cases["frame"] = faultCase{want: 3, serve: sendThree, refuse: func(n int) string {
				if n == 1 {
					return v.RateLimit
				}
				return ""
			}}
		}
		for how, fc := range cases {
			t.Run(v.Name+"/"+how, func(t *testing.T) {
				t.Parallel()
				v := livetest.Vendors()[i] // its own handshake counters
				minWait := 250 * time.Millisecond
				if how == "http429" {
					minWait = time.Second
				}
				r := runFault(t, v, fc)
				if r.err != nil {
					t.Fatal(r.err)
				}
				dials := r.f.Dials()
				if len(dials) != 2 || dials[1].Sub(dials[0]) < minWait {
					t.Errorf("dials %v: want a second one at least %s after the first", dials, minWait)
				}
				if st := r.conn.Stats(); st.RateLimited != 1 {
					t.Errorf("stats %+v, want 1 rate-limited", st)
				}
				if diff := cmp.Diff(r.frames[:3], r.received()); diff != "" {
					t.Errorf("frames received (-want +got):\n%s", diff)
				}
			})
		}
	}
}
