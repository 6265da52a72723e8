package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/coder/websocket"
)

// wsVendor is what a websocket vendor tells the shared connection loop.
type wsVendor interface {
	// dial returns the URL and headers of a new connection; KIS fetches its
	// approval key here, on every connect.
	dial(ctx context.Context) (url string, h http.Header, err error)
	// subscribe authenticates and subscribes on a new connection.
	subscribe(ctx context.Context, c *wsConn) error
	// inspect looks at each frame: a reply to send back (heartbeat echoes)
	// and an error that ends the connection (a vendor error frame; an
	// *AuthError ends the connector).
	inspect(frame []byte) (reply []byte, err error)
}

// AuthError is a vendor's refusal of the credentials or the subscription:
// retrying cannot help, so the connector stops with it. Its text never holds
// a secret.
type AuthError struct {
	Vendor string
	Reason string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s refused the connection: %s", e.Vendor, e.Reason)
}

// rateLimitError is a vendor's "slow down": the next connection waits at
// least After (Retry-After), else the backoff's next interval.
type rateLimitError struct {
	After  time.Duration
	Reason string
}

func (e *rateLimitError) Error() string { return "rate limited: " + e.Reason }

var (
	errSilent = errors.New("no frame within the silence bound (watchdog)")
	errAged   = errors.New("connection reached its maximum age")
)

// Timing of connection attempts.
const (
	dialTimeout      = 15 * time.Second
	subscribeTimeout = 15 * time.Second
	// healthyAfter: a connection that lived this long resets the backoff,
	// so a drop after hours of data reconnects at once, while a server that
	// accepts and drops at once is retried ever more slowly.
	healthyAfter = 5 * time.Second
	// deadLetterKeep is how much of an oversized frame its dead letter keeps.
	deadLetterKeep = 4 << 10
)

// hardFrameLimit is the largest frame read at all (past it the library
// drops the connection); frames between MaxFrame and it are dead letters.
const hardFrameLimit = 64 << 20

// wsConn is a connection during a session.
type wsConn struct {
	c        *websocket.Conn
	maxFrame int
	activity *atomic.Int64 // unix ns of the last frame or ping
}

// read returns the next frame, cut to maxFrame+deadLetterKeep semantics:
// size is its real size, payload its first deadLetterKeep bytes when larger
// than maxFrame.
func (w *wsConn) read(ctx context.Context) (payload []byte, size int, err error) {
	_, r, err := w.c.Reader(ctx)
	if err != nil {
		return nil, 0, err
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(w.maxFrame)+1))
	if err != nil {
		return nil, 0, err
	}
	w.activity.Store(time.Now().UnixNano())
	if len(b) <= w.maxFrame {
		return b, len(b), nil
	}
	rest, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, 0, err
	}
	return b[:min(len(b), deadLetterKeep)], len(b) + int(rest), nil
}

func (w *wsConn) write(ctx context.Context, p []byte) error {
	return w.c.Write(ctx, websocket.MessageText, p)
}

// wsRunner keeps a websocket vendor connected.
type wsRunner struct {
	spec   Spec
	opts   Options
	vendor wsVendor
	st     stats
	// track and fill are the vendor's gap gapTracker and history, if any.
	track gapTracker
	fill  filler
	// backoff overrides the reconnect backoff (tests).
	backoff *backoff.ExponentialBackOff
}

func (r *wsRunner) Stats() Stats { return r.st.snapshot() }

func (r *wsRunner) newBackoff() *backoff.ExponentialBackOff {
	if r.backoff != nil {
		return r.backoff
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 500 * time.Millisecond
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxInterval = r.spec.Common.MaxBackoff
	return b
}

// Run keeps the vendor connected until ctx ends or it refuses us.
func (r *wsRunner) Run(ctx context.Context, sink Sink) error {
	em, err := newEmitter(r.spec, r.opts, &r.st, sink)
	if err != nil {
		return err
	}
	em.track, em.fill = r.track, r.fill
	bo := r.newBackoff()
	attempt := 0
	op := func() (struct{}, error) {
		attempt++
		start := time.Now()
		err := r.session(ctx, em, attempt)
		switch {
		case ctx.Err() != nil:
			return struct{}{}, backoff.Permanent(ctx.Err())
		case errors.As(err, new(*AuthError)):
			return struct{}{}, backoff.Permanent(err)
		}
		if time.Since(start) >= healthyAfter {
			bo.Reset()
		}
		var rl *rateLimitError
		switch {
		case errors.Is(err, errAged):
			r.opts.logf("%s: %v; reconnecting now", r.spec.Vendor, err)
			return struct{}{}, &backoff.RetryAfterError{}
		case errors.As(err, &rl):
			r.st.rateLimited.Add(1)
			wait := max(rl.After, bo.NextBackOff())
			r.opts.logf("%s: %v; reconnecting in %s", r.spec.Vendor, err, wait.Round(time.Millisecond))
			return struct{}{}, &backoff.RetryAfterError{Duration: wait}
		case errors.Is(err, errSilent):
			r.st.silences.Add(1)
		}
		return struct{}{}, err
	}
	notify := func(err error, next time.Duration) {
		if !errors.As(err, new(*backoff.RetryAfterError)) {
			r.opts.logf("%s: %v; reconnecting in %s", r.spec.Vendor, err, next.Round(time.Millisecond))
		}
	}
	_, err = backoff.Retry(ctx, op, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(0), backoff.WithNotify(notify))
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// session runs one connection: dial, subscribe, read until it ends.
func (r *wsRunner) session(ctx context.Context, em *emitter, attempt int) error {
	if s, ok := em.sink.(stateSink); ok {
		s.state(false)
	}
	dialed := time.Now()
	u, h, err := r.vendor.dial(ctx)
	if err != nil {
		return err
	}
	var activity atomic.Int64
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{
		HTTPHeader: h,
		OnPingReceived: func(context.Context, []byte) bool {
			activity.Store(time.Now().UnixNano())
			return true
		},
	})
	cancel()
	if err != nil {
		return dialError(r.spec.Vendor, resp, err)
	}
	defer c.CloseNow()
	c.SetReadLimit(hardFrameLimit)
	conn := &wsConn{c: c, maxFrame: r.spec.Common.MaxFrame, activity: &activity}
	activity.Store(time.Now().UnixNano())

	sctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	err = r.vendor.subscribe(sctx, conn)
	cancel()
	if err != nil {
		return err
	}
	r.st.connects.Add(1)
	if attempt > 1 {
		r.st.reconnects.Add(1)
		em.resumeFrom = dialed
		if t, ok := em.track.(reconnectAware); ok {
			t.reconnected()
		}
	}
	r.opts.logf("%s: connected (attempt %d)", r.spec.Vendor, attempt)
	if s, ok := em.sink.(stateSink); ok {
		s.state(true)
	}

	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go watch(rctx, stop, &activity, r.spec.Common.Silence, dialed, r.spec.Common.MaxAge)
	for {
		p, size, err := conn.read(rctx)
		if err != nil {
			if cause := context.Cause(rctx); cause != nil && ctx.Err() == nil {
				_ = c.Close(websocket.StatusNormalClosure, "")
				return cause
			}
			if ce := (websocket.CloseError{}); errors.As(err, &ce) {
				return fmt.Errorf("server closed the connection: %d %s", ce.Code, ce.Reason)
			}
			return fmt.Errorf("read: %w", err)
		}
		reply, verr := r.vendor.inspect(p)
		if reply != nil {
			if err := conn.write(rctx, reply); err != nil {
				return fmt.Errorf("reply: %w", err)
			}
		}
		// A vendor error frame is still a line: the pipeline dead-letters
		// or counts it, so it shows in the run's output.
		if err := em.frame(rctx, p, size, time.Now()); err != nil {
			return err
		}
		if verr != nil {
			return verr
		}
	}
}

// stateSink is told when a connection is up (subscribed) and down, so a
// reader can hold its watermark while an outage may still be backfilled.
type stateSink interface{ state(up bool) }

// watch ends a session (stop) when no frame or ping came within silence,
// or when the connection reaches maxAge.
func watch(ctx context.Context, stop context.CancelCauseFunc, activity *atomic.Int64, silence time.Duration, born time.Time, maxAge time.Duration) {
	every := min(silence/4, time.Second)
	if maxAge > 0 {
		every = min(every, maxAge/4)
	}
	every = max(every, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, activity.Load())) > silence {
				stop(errSilent)
				return
			}
			if maxAge > 0 && now.Sub(born) >= maxAge {
				stop(errAged)
				return
			}
		}
	}
}

// dialError classifies a failed handshake: 401/403 refuse us, 429/418
// (Binance's ban) ask us to wait Retry-After.
func dialError(vendor string, resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("dial: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &AuthError{Vendor: vendor, Reason: fmt.Sprintf("HTTP %d at the websocket handshake", resp.StatusCode)}
	case http.StatusTooManyRequests, 418:
		return &rateLimitError{After: retryAfter(resp.Header), Reason: fmt.Sprintf("HTTP %d at the websocket handshake", resp.StatusCode)}
	}
	return fmt.Errorf("dial: HTTP %d: %w", resp.StatusCode, err)
}

// retryAfter reads a Retry-After header in seconds (0 when absent), capped
// at a day.
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(min(s, 86400)) * time.Second
}

// nopInspect is inspect for vendors whose frames need no reply.
func nopInspect([]byte) ([]byte, error) { return nil, nil }
