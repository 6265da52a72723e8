package testenv

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tickbeam/tickbeam/internal/emuproc"
)

// PubSubServer is a Pub/Sub emulator of one test's own that the test can
// kill and start again, as an outage. It comes back on the same port with
// nothing in it: topics, subscriptions and messages die with the process,
// so the test recreates them, as an operator would.
type PubSubServer struct {
	Host string // host:port

	mu   sync.Mutex
	argv []string
	proc *emuproc.Proc
}

// RestartablePubSub starts a Pub/Sub emulator on a free port, points
// PUBSUB_EMULATOR_HOST at it for the test, and kills it when t ends.
func RestartablePubSub(t testing.TB) *PubSubServer {
	t.Helper()
	port, err := emuproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	argv, err := emuproc.PubSubCommand("127.0.0.1", port, Project)
	if err != nil {
		t.Fatalf("Pub/Sub emulator: %v", err)
	}
	s := &PubSubServer{Host: fmt.Sprintf("127.0.0.1:%d", port), argv: argv}
	t.Cleanup(s.Kill)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PUBSUB_EMULATOR_HOST", s.Host)
	return s
}

// Start starts the emulator (again) and waits until it listens.
func (s *PubSubServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	p, err := emuproc.Start(s.argv...)
	if err != nil {
		return fmt.Errorf("Pub/Sub emulator: %w", err)
	}
	// The port just released can take a moment to bind again.
	if err := p.Wait(90*time.Second, s.Host); err != nil {
		return fmt.Errorf("Pub/Sub emulator: %w", err)
	}
	s.proc = p
	return nil
}

// Kill ends the emulator at once with SIGKILL, as a crash would.
func (s *PubSubServer) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proc.Kill()
	s.proc = nil
}
