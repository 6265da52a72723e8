package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tickbeam/tickbeam"
)

// stream is a live connection shared by everything in this process that
// reads one URI: on the local runner the SDK harness runs in-process, so
// Read's DoFn drains the connection Preflight opened, whichever bundle or
// DoFn instance runs. It queues lines (bounded: a full queue blocks the
// socket, the vendor eventually drops it, and the gap is backfilled).
type stream struct {
	spec   Spec
	conn   Connector
	cancel context.CancelFunc
	ended  chan struct{}

	mu         sync.Mutex
	lines      []Line
	gaps       []tickbeam.Gap
	up         bool
	wasUp      bool
	err        error
	lastActive time.Time
	reported   Stats
	refs       int
	notify     chan struct{} // signalled when something is queued or the state changes
	space      chan struct{} // signalled when the queue drains
}

// maxQueued bounds a stream's queue of lines not yet read by the pipeline.
const maxQueued = 100_000

// releaseGrace keeps a stream connected this long after its last user
// released it, so a runner that tears a DoFn down and sets another up
// between bundles does not reconnect.
var releaseGrace = 10 * time.Second

var registry = struct {
	mu sync.Mutex
	m  map[string]*stream
}{m: map[string]*stream{}}

// acquire returns the stream of uri, connecting it if it is not open.
func acquire(uri string, o Options) (*stream, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s, ok := registry.m[uri]; ok {
		s.mu.Lock()
		s.refs++
		s.mu.Unlock()
		return s, nil
	}
	spec, err := Parse(uri)
	if err != nil {
		return nil, err
	}
	conn, err := spec.Open(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{spec: spec, conn: conn, cancel: cancel, ended: make(chan struct{}), refs: 1,
		notify: make(chan struct{}, 1), space: make(chan struct{}, 1), lastActive: time.Now()}
	registry.m[uri] = s
	go func() {
		defer close(s.ended)
		err := conn.Run(ctx, s)
		s.mu.Lock()
		if err == nil {
			err = errStreamClosed
		}
		s.err, s.up = err, false
		s.mu.Unlock()
		s.signal()
	}()
	return s, nil
}

var errStreamClosed = errors.New("live: connection closed")

// release gives up one reference; the last one closes the connection after
// releaseGrace.
func (s *stream) release() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if !last {
		return
	}
	time.AfterFunc(releaseGrace, func() {
		registry.mu.Lock()
		defer registry.mu.Unlock()
		s.mu.Lock()
		idle := s.refs == 0
		s.mu.Unlock()
		if idle && registry.m[s.spec.URI] == s {
			delete(registry.m, s.spec.URI)
			s.cancel()
		}
	})
}

func (s *stream) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Line queues l, waiting while the queue is full.
func (s *stream) Line(ctx context.Context, l Line) error {
	for {
		s.mu.Lock()
		if len(s.lines) < maxQueued {
			s.lines = append(s.lines, l)
			s.lastActive = time.Now()
			s.mu.Unlock()
			s.signal()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.space:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Gap queues g.
func (s *stream) Gap(_ context.Context, g tickbeam.Gap) error {
	s.mu.Lock()
	s.gaps = append(s.gaps, g)
	s.mu.Unlock()
	s.signal()
	return nil
}

func (s *stream) state(up bool) {
	s.mu.Lock()
	s.up = up
	s.wasUp = s.wasUp || up
	s.lastActive = time.Now()
	s.mu.Unlock()
	s.signal()
}

// batch is what drain hands the reader.
type batch struct {
	lines      []Line
	gaps       []tickbeam.Gap
	up         bool
	lastActive time.Time
	stats      Stats // counted since the last drain
	err        error
}

// drain takes up to max lines, waiting up to wait for the first.
func (s *stream) drain(max int, wait time.Duration) batch {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.lines) > 0 || len(s.gaps) > 0 || s.err != nil {
			break
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
			continue
		case <-deadline.C:
			s.mu.Lock()
		}
		break
	}
	defer s.mu.Unlock()
	n := min(max, len(s.lines))
	b := batch{lines: append([]Line(nil), s.lines[:n]...), gaps: s.gaps, up: s.up, lastActive: s.lastActive}
	s.lines = append(s.lines[:0], s.lines[n:]...)
	s.gaps = nil
	now := s.conn.Stats()
	b.stats = diff(now, s.reported)
	s.reported = now
	if len(s.lines) == 0 {
		b.err = s.err // only once everything queued has been read
	}
	select {
	case s.space <- struct{}{}:
	default:
	}
	return b
}

func diff(a, b Stats) Stats {
	return Stats{Connects: a.Connects - b.Connects, Reconnects: a.Reconnects - b.Reconnects, Frames: a.Frames - b.Frames,
		Oversize: a.Oversize - b.Oversize, Silences: a.Silences - b.Silences, RateLimited: a.RateLimited - b.RateLimited,
		Gaps: a.Gaps - b.Gaps, Missing: a.Missing - b.Missing, Backfilled: a.Backfilled - b.Backfilled, ResumeLatency: a.ResumeLatency}
}

// Preflight opens the connection of uri in this process and waits until it
// is subscribed, or the vendor refused it (the error, one line), or
// timeout passed (nil: it goes on trying). Read on the local runner then
// drains this connection. Call the returned release once the pipeline is
// done.
func Preflight(ctx context.Context, uri string, o Options, timeout time.Duration) (release func(), err error) {
	s, err := acquire(uri, o)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		up, ferr := s.wasUp, s.err
		s.mu.Unlock()
		switch {
		case ferr != nil && !errors.Is(ferr, errStreamClosed):
			s.release()
			return nil, ferr
		case up:
			return s.release, nil
		}
		select {
		case <-ctx.Done():
			s.release()
			return nil, ctx.Err()
		case <-t.C:
			return s.release, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *stream) String() string { return fmt.Sprintf("live stream %s", s.spec.Vendor) }
