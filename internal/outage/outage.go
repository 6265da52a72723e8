// Package outage is what tickbeam's sinks share to ride out a destination
// that fails for a while (BigQuery, GCS): jittered exponential backoff, the
// rows waiting for a sink in this process, one log line when an outage
// starts and one when it ends, and the bounds past which a sink gives up
// with an *Error instead of waiting, and holding rows, any longer.
//
// A sink registers under an id made when its transform is built (NewID):
// every DoFn instance of that sink in the process then shares one Sink.
// Rows are counted in by the step before the sink's shuffle (Enter) and out
// once written or dead-lettered (Settle), so Held counts the rows a
// runner that keeps everything in this process's memory (prism) holds for
// the sink. On a runner that shuffles between processes (Dataflow) the two
// counts happen on different machines: leave MaxHeldRows at 0 there.
package outage

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"google.golang.org/api/googleapi"
)

// Bounds say when a sink stops retrying. Zero fields set no bound.
type Bounds struct {
	// MaxOutage is how long a destination may keep failing, counted from
	// the first failure after the last success.
	MaxOutage time.Duration
	// MaxHeldRows is how many rows may wait for the sink while its
	// destination fails, once that number grows during the outage: a batch
	// job whose rows all wait from the start is bounded by MaxOutage only.
	MaxHeldRows int64
}

// Sink is the process-wide state of one sink. Safe for concurrent use.
type Sink struct {
	name string // "bigqueryx: table P.D.T", for logs and errors

	held atomic.Int64

	mu          sync.Mutex
	since       time.Time // first failure of the current outage; zero when healthy
	heldAtStart int64
	failures    int64
}

var sinks sync.Map // id → *Sink

// NewID returns a fresh sink id.
func NewID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// For returns the sink registered under id, registering it as name first.
func For(id, name string) *Sink {
	s, _ := sinks.LoadOrStore(id, &Sink{name: name})
	return s.(*Sink)
}

// Lookup returns a sink registered as name, or nil: for tests and
// diagnostics, which know a sink by its table or prefix, not its id.
func Lookup(name string) *Sink {
	var found *Sink
	sinks.Range(func(_, v any) bool {
		if s := v.(*Sink); s.name == name {
			found = s
		}
		return found == nil
	})
	return found
}

// Enter counts n rows handed to the sink.
func (s *Sink) Enter(n int64) { s.held.Add(n) }

// Settle counts n rows written or dead-lettered.
func (s *Sink) Settle(n int64) { s.held.Add(-n) }

// Held is the number of rows entered and not yet settled.
func (s *Sink) Held() int64 { return s.held.Load() }

// Error is a sink giving up on a destination that kept failing.
type Error struct {
	Sink  string        // "bigqueryx: table P.D.T"
	For   time.Duration // how long it had been failing
	Held  int64         // rows waiting for it in this process
	Bound string        // the bound passed, e.g. "max outage 10m0s"
	Err   error         // the last failure
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: giving up after %v of failures with %d rows waiting (bound: %s): %v",
		e.Sink, e.For.Round(time.Millisecond), e.Held, e.Bound, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Failed records a failed attempt that will be retried unless a bound has
// passed, in which case it returns an *Error. The first failure of an
// outage logs one line.
func (s *Sink) Failed(ctx context.Context, err error, b Bounds) error {
	now := time.Now()
	held := s.Held()
	s.mu.Lock()
	first := s.since.IsZero()
	if first {
		s.since, s.heldAtStart = now, held
	}
	s.failures++
	since, atStart := s.since, s.heldAtStart
	s.mu.Unlock()
	if first {
		log.Warnf(ctx, "%s: destination failing (%v): retrying with backoff, %d rows waiting", s.name, err, held)
	}
	elapsed := now.Sub(since)
	switch {
	case b.MaxOutage > 0 && elapsed > b.MaxOutage:
		return &Error{Sink: s.name, For: elapsed, Held: held, Bound: fmt.Sprintf("max outage %v", b.MaxOutage), Err: err}
	case b.MaxHeldRows > 0 && held > b.MaxHeldRows && held > atStart:
		return &Error{Sink: s.name, For: elapsed, Held: held, Bound: fmt.Sprintf("max held rows %d", b.MaxHeldRows), Err: err}
	}
	return nil
}

// Succeeded ends an outage, if one is running, with one log line.
func (s *Sink) Succeeded(ctx context.Context) {
	s.mu.Lock()
	if s.since.IsZero() {
		s.mu.Unlock()
		return
	}
	since, failures := s.since, s.failures
	s.since, s.failures = time.Time{}, 0
	s.mu.Unlock()
	log.Warnf(ctx, "%s: destination back after %v and %d failed attempts, %d rows waiting",
		s.name, time.Since(since).Round(time.Millisecond), failures, s.Held())
}

// Retry runs op until it succeeds, fails with an error transient does not
// accept, ctx is done or a bound passes (an *Error), waiting Backoff between
// attempts.
func (s *Sink) Retry(ctx context.Context, b Bounds, initial, ceiling time.Duration, transient func(error) bool, op func() error) error {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			s.Succeeded(ctx)
			return nil
		}
		if ctx.Err() != nil || !transient(err) {
			return err
		}
		if gaveUp := s.Failed(ctx, err, b); gaveUp != nil {
			return gaveUp
		}
		if err := Sleep(ctx, Backoff(attempt, initial, ceiling)); err != nil {
			return err
		}
	}
}

// Transient reports whether err from a Google API over HTTP (or the network
// under it) may pass by itself: 408, 429 and 5xx answers, refused, reset or
// cut connections, and timeouts.
func Transient(err error) bool {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code == http.StatusRequestTimeout || ge.Code == http.StatusTooManyRequests || ge.Code >= 500
	}
	var oe *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &oe), errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	// The HTTP transports' own, unexported ones.
	msg := err.Error()
	return strings.Contains(msg, "server closed idle connection") || strings.Contains(msg, "GOAWAY")
}

// Backoff is the wait before retry attempt+1 (attempt counts from 0):
// initial doubled per attempt, capped at ceiling, jittered over its upper half.
func Backoff(attempt int, initial, ceiling time.Duration) time.Duration {
	d := initial << min(attempt, 30)
	if d <= 0 || d > ceiling {
		d = ceiling
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
