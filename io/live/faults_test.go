package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam/io/live/livetest"
	"github.com/tickbeam/tickbeam/transforms/parse"
)

// fakeVendor is one websocket vendor's side of the fault tests: how to
// point a URI at a fake server, the handshake its connector expects, the
// recorded frames of trades (quotes for TradingView), and the frames with
// which it refuses us or asks us to slow down.
type fakeVendor struct {
	name   string
	format string
	uri    func(f *livetest.Server) string
	env    func(string) string
	// secrets are the credential values in env: no error may show them.
	secrets []string
	// rest installs the vendor's REST handlers (KIS's approval key).
	rest func(f *livetest.Server)
	// handshake plays the server's side of connecting and subscribing on
	// connection n; refuse, when set, is sent instead of accepting the
	// credentials or subscription.
	handshake func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool
	// subscribed reports whether connection n subscribed (resubscribe
	// after a reconnect).
	subscribed func(f *livetest.Server, n int) bool
	frames     func(t *testing.T) []string
	// refusal and rateLimit are vendor frames; "" when the vendor refuses
	// or limits only at the HTTP handshake.
	refusal, rateLimit string
}

// handshakes counts handshakes per fake server, by connection number.
type handshakes struct {
	mu   sync.Mutex
	done map[int]bool
}

func (h *handshakes) mark(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = map[int]bool{}
	}
	h.done[n] = true
}

func (h *handshakes) has(n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.done[n]
}

// fakeVendors are the websocket vendors (Alpha Vantage polls: see
// TestAlphaVantage*). Each call makes fresh handshake counters: parallel
// subtests each take their own.
func fakeVendors() []fakeVendor {
	cbSubs, alpacaSubs, kisSubs, tvSubs := &handshakes{}, &handshakes{}, &handshakes{}, &handshakes{}
	var kisKeys atomic.Int64
	return []fakeVendor{{
		name: "binance", format: "binance",
		uri: func(f *livetest.Server) string {
			return "binance:?symbols=BTCUSDT,ETHUSDT&endpoint=" + f.WS() + "&rest=" + f.HTTP()
		},
		handshake: func(ctx context.Context, c *websocket.Conn, _ int, refuse string) bool {
			return refuse == "" || livetest.Send(ctx, c, refuse) // the URL subscribes
		},
		subscribed: func(f *livetest.Server, n int) bool {
			u := f.URLs()
			return len(u) >= n && strings.Contains(u[n-1], "streams=btcusdt@trade/ethusdt@trade")
		},
		frames:    func(t *testing.T) []string { return binanceFrames(t)[:8] },
		rateLimit: `{"error":{"code":-1003,"msg":"Too many requests; current limit is 5 requests per second."},"id":null}`,
	}, {
		name: "coinbase", format: "coinbase",
		uri: func(f *livetest.Server) string {
			return "coinbase:?products=BTC-USD&endpoint=" + f.WS() + "&rest=" + f.HTTP()
		},
		handshake: func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool {
			for range 2 {
				if b, ok := livetest.Read(ctx, c); !ok || !strings.Contains(string(b), `"type":"subscribe"`) {
					return false
				}
			}
			if refuse != "" {
				return livetest.Send(ctx, c, refuse)
			}
			cbSubs.mark(n)
			return true
		},
		subscribed: func(_ *livetest.Server, n int) bool { return cbSubs.has(n) },
		frames:     func(t *testing.T) []string { return livetest.Lines(t, "testdata/coinbase/stream.jsonl")[1:9] },
		refusal:    `{"type":"error","message":"Failed to subscribe","reason":"BTC-XYZ is not a valid product"}`,
		rateLimit:  `{"type":"error","message":"rate limit exceeded"}`,
	}, {
		name: "alpaca", format: "alpaca",
		uri:     func(f *livetest.Server) string { return "alpaca:?symbols=AAPL&backfill=false&endpoint=" + f.WS() },
		env:     env("ALPACA_API_KEY_ID", "AKFAULT", "ALPACA_API_SECRET_KEY", "alpaca-s3cret"),
		secrets: []string{"AKFAULT", "alpaca-s3cret"},
		handshake: func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool {
			livetest.Send(ctx, c, `[{"T":"success","msg":"connected"}]`)
			if b, ok := livetest.Read(ctx, c); !ok || !strings.Contains(string(b), `"secret":"alpaca-s3cret"`) {
				return false
			}
			if refuse != "" {
				return livetest.Send(ctx, c, refuse)
			}
			livetest.Send(ctx, c, `[{"T":"success","msg":"authenticated"}]`)
			if b, ok := livetest.Read(ctx, c); !ok || !strings.Contains(string(b), `"trades":["AAPL"]`) {
				return false
			}
			alpacaSubs.mark(n)
			return livetest.Send(ctx, c, `[{"T":"subscription","trades":["AAPL"],"quotes":[],"bars":[]}]`)
		},
		subscribed: func(_ *livetest.Server, n int) bool { return alpacaSubs.has(n) },
		frames:     func(t *testing.T) []string { return livetest.Lines(t, "testdata/alpaca/stream.jsonl")[:8] },
		refusal:    `[{"T":"error","code":402,"msg":"auth failed"}]`,
		rateLimit:  `[{"T":"error","code":406,"msg":"connection limit exceeded"}]`,
	}, {
		name: "kis", format: "kis",
		uri:     func(f *livetest.Server) string { return "kis:?symbols=005930&endpoint=" + f.WS() + "&rest=" + f.HTTP() },
		env:     env("KIS_APP_KEY", "PSFAULT", "KIS_APP_SECRET", "kis-s3cret"),
		secrets: []string{"PSFAULT", "kis-s3cret"},
		rest: func(f *livetest.Server) {
			f.Mux.HandleFunc("/oauth2/Approval", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"approval_key":"APPROVAL-%d"}`, kisKeys.Add(1))
			})
		},
		handshake: func(ctx context.Context, c *websocket.Conn, n int, refuse string) bool {
			// A fresh approval key on every connection.
			b, ok := livetest.Read(ctx, c)
			if !ok || !strings.Contains(string(b), fmt.Sprintf(`"approval_key":"APPROVAL-%d"`, kisKeys.Load())) ||
				!strings.Contains(string(b), `"tr_id":"H0STCNT0"`) {
				return false
			}
			if refuse != "" {
				return livetest.Send(ctx, c, refuse)
			}
			kisSubs.mark(n)
			return livetest.Send(ctx, c, `{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS"}}`)
		},
		subscribed: func(_ *livetest.Server, n int) bool { return kisSubs.has(n) },
		frames:     func(t *testing.T) []string { return livetest.Lines(t, "testdata/kis/stream.jsonl") },
		refusal:    `{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"1","msg_cd":"OPSP0011","msg1":"invalid approval : NOT FOUND"}}`,
	}, {
		name: "tradingview", format: "tradingview",
		uri:     func(f *livetest.Server) string { return "tradingview:?symbols=BINANCE:SOLUSDT&endpoint=" + f.WS() },
		env:     env("TRADINGVIEW_AUTH_TOKEN", "tv-s3cret-token"),
		secrets: []string{"tv-s3cret-token"},
		handshake: func(ctx context.Context, c *websocket.Conn, n int, _ string) bool { // refuses by HTTP only
			livetest.Send(ctx, c, `~m~51~m~{"session_id":"<0.1.2>_abc","timestamp":1700000000}`)
			for range 4 {
				if _, ok := livetest.Read(ctx, c); !ok {
					return false
				}
			}
			tvSubs.mark(n)
			return true
		},
		subscribed: func(_ *livetest.Server, n int) bool { return tvSubs.has(n) },
		frames: func(*testing.T) []string {
			var out []string
			for i := range 8 {
				body := fmt.Sprintf(`{"m":"qsd","p":["qs_abc",{"n":"BINANCE:SOLUSDT","s":"ok","v":{"lp":101.%d,"volume":12345.6,"lp_time":%d}}]}`,
					i, 1700000000+i)
				out = append(out, string(tvFrame(body)))
			}
			return out
		},
	}}
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
func runFault(t *testing.T, v fakeVendor, fc faultCase) faultRun {
	t.Helper()
	frames := v.frames(t)
	f := livetest.NewServer(t, func(ctx context.Context, n int, c *websocket.Conn) {
		refuse := ""
		if fc.refuse != nil {
			refuse = fc.refuse(n)
		}
		if v.handshake(ctx, c, n, refuse) && refuse == "" && fc.serve != nil {
			fc.serve(ctx, n, c, frames)
		}
		livetest.Drain(ctx, c)
	})
	if v.rest != nil {
		v.rest(f)
	}
	if fc.setup != nil {
		fc.setup(f)
	}
	r := faultRun{f: f, sink: &collect{}, frames: frames}
	if fc.want > 0 {
		r.sink.until = func(*collect) bool { return len(r.receivedLocked()) >= fc.want }
	}
	o := Options{Getenv: v.env}
	if o.Getenv == nil {
		o.Getenv = env()
	}
	r.conn, r.err = runConnector(t, v.uri(f)+fc.extra, o, r.sink, 20*time.Second)
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
	for i, v := range fakeVendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			v := fakeVendors()[i] // its own handshake counters
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
			if !v.subscribed(r.f, 1) || !v.subscribed(r.f, 2) {
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
	for i, v := range fakeVendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			v := fakeVendors()[i] // its own handshake counters
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
	for i, v := range fakeVendors() {
		cases := map[string]faultCase{"http401": {setup: func(f *livetest.Server) {
			f.Refuse = func(_ int, w http.ResponseWriter) bool { w.WriteHeader(http.StatusUnauthorized); return true }
		}}}
		if v.refusal != "" {
			cases["frame"] = faultCase{refuse: func(int) string { return v.refusal }}
		}
		for how, fc := range cases {
			t.Run(v.name+"/"+how, func(t *testing.T) {
				t.Parallel()
				v := fakeVendors()[i] // its own handshake counters
				r := runFault(t, v, fc)
				if r.err == nil || !errors.As(r.err, new(*AuthError)) || strings.Contains(r.err.Error(), "\n") ||
					!strings.HasPrefix(r.err.Error(), v.name+" refused the connection: ") {
					t.Fatalf("err = %v, want one line: %s refused the connection: ...", r.err, v.name)
				}
				for _, s := range v.secrets {
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
	for i, v := range fakeVendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			v := fakeVendors()[i] // its own handshake counters
			r := runFault(t, v, faultCase{extra: "&max_frame=2048", want: 2, serve: func(ctx context.Context, n int, c *websocket.Conn, frames []string) {
				livetest.Send(ctx, c, frames[0], "not json at all", big)
				_ = c.Write(ctx, websocket.MessageBinary, []byte{0xff, 0x00, 0x17})
				livetest.Send(ctx, c, frames[1])
			}})
			if r.err != nil {
				t.Fatal(r.err)
			}
			p, err := parse.New(v.format, parse.Options{})
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
				if _, err := p.Parse(nil, l.Payload); err != nil && !errors.Is(err, parse.ErrControl) {
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
	for i, v := range fakeVendors() {
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
		if v.rateLimit != "" {
			cases["frame"] = faultCase{want: 3, serve: sendThree, refuse: func(n int) string {
				if n == 1 {
					return v.rateLimit
				}
				return ""
			}}
		}
		for how, fc := range cases {
			t.Run(v.name+"/"+how, func(t *testing.T) {
				t.Parallel()
				v := fakeVendors()[i] // its own handshake counters
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
