// Package livetest serves fake market-data vendors on loopback for tests and
// benchmarks of io/live: a websocket endpoint whose every connection runs a
// script (replaying recorded frames, stalling, closing), REST handlers for
// history and auth, and refusals of the handshake (401, 429 with
// Retry-After). Nothing here reaches the internet.
package livetest

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Script runs one accepted connection; n counts connections from 1.
type Script func(ctx context.Context, n int, c *websocket.Conn)

// Server is a fake vendor: websocket connections at /ws, REST handlers on
// Mux.
type Server struct {
	Srv *httptest.Server
	Mux *http.ServeMux
	// Refuse, when set, may answer a handshake instead of accepting it
	// (write a status and return true).
	Refuse func(n int, w http.ResponseWriter) bool
	// Received, when set, is called with each frame a client sends.
	Received func(n int, frame []byte)

	script Script
	mu     sync.Mutex
	dials  []time.Time
	urls   []string
}

// NewServer starts a fake vendor running script on each connection; it
// stops when t ends.
func NewServer(t testing.TB, script Script) *Server {
	s := &Server{Mux: http.NewServeMux(), script: script}
	s.Mux.HandleFunc("/ws", s.serveWS)
	s.Srv = httptest.NewServer(s.Mux)
	t.Cleanup(s.Srv.Close)
	return s
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.dials = append(s.dials, time.Now())
	s.urls = append(s.urls, r.URL.String())
	n := len(s.dials)
	refuse := s.Refuse
	s.mu.Unlock()
	if refuse != nil && refuse(n, w) {
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // any Origin: TradingView sends one
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	s.script(r.Context(), n, c)
}

// Dials are the times of the handshakes so far.
func (s *Server) Dials() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.dials...)
}

// URLs are the request URLs of the handshakes so far.
func (s *Server) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.urls...)
}

// WS is the websocket endpoint's ws:// URL.
func (s *Server) WS() string { return "ws" + strings.TrimPrefix(s.Srv.URL, "http") + "/ws" }

// HTTP is the REST base URL.
func (s *Server) HTTP() string { return s.Srv.URL }

// Send writes frames as text messages; false when the client went away.
func Send(ctx context.Context, c *websocket.Conn, frames ...string) bool {
	for _, fr := range frames {
		if err := c.Write(ctx, websocket.MessageText, []byte(fr)); err != nil {
			return false
		}
	}
	return true
}

// Read reads one frame from the client (false when it went away).
func Read(ctx context.Context, c *websocket.Conn) ([]byte, bool) {
	_, b, err := c.Read(ctx)
	return b, err == nil
}

// Lines reads a testdata file's non-empty lines.
func Lines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Drain reads and drops what the client sends until it goes away: a
// connection that stays open and says nothing more.
func Drain(ctx context.Context, c *websocket.Conn) {
	for {
		if _, ok := Read(ctx, c); !ok {
			return
		}
	}
}
