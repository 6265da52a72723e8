package outage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
)

func TestBackoff(t *testing.T) {
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			if d := Backoff(attempt, 100*time.Millisecond, time.Second); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := Backoff(100, time.Second, 10*time.Second); d > 10*time.Second || d < 5*time.Second {
		t.Errorf("Backoff(100) = %v overflows", d)
	}
}

func TestTransient(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "http://127.0.0.1:1/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&googleapi.Error{Code: 503}, true},
		{&googleapi.Error{Code: 500}, true},
		{&googleapi.Error{Code: 429}, true},
		{&googleapi.Error{Code: 408}, true},
		{fmt.Errorf("create table: %w", &googleapi.Error{Code: 502}), true},
		{&googleapi.Error{Code: 404}, false},
		{&googleapi.Error{Code: 403}, false},
		{&googleapi.Error{Code: 400}, false},
		{refused, true},
		{fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{errors.New("table exists with another schema"), false},
		{syscall.ENOSPC, false},
	} {
		if got := Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestRetry(t *testing.T) {
	fail := &googleapi.Error{Code: 503, Message: "unavailable"}
	for _, c := range []struct {
		name      string
		bounds    Bounds
		results   []error // op's answers in turn; the last repeats
		wantCalls int
		wantErr   string // "" for success
	}{
		{"at once", Bounds{MaxOutage: time.Minute}, []error{nil}, 1, ""},
		{"back after two failures", Bounds{MaxOutage: time.Minute}, []error{fail, fail, nil}, 3, ""},
		{"not transient: no retry", Bounds{MaxOutage: time.Minute}, []error{&googleapi.Error{Code: 404}}, 1, "response code 404"},
		{"max outage", Bounds{MaxOutage: 20 * time.Millisecond}, []error{fail}, -1, "test sink: giving up after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := For(NewID(), "test sink")
			calls := 0
			err := s.Retry(context.Background(), c.bounds, time.Millisecond, 2*time.Millisecond, Transient, func() error {
				calls++
				return c.results[min(calls, len(c.results))-1]
			})
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("Retry = %v, want error containing %q", err, c.wantErr)
			}
			if c.wantCalls >= 0 && calls != c.wantCalls {
				t.Errorf("%d calls, want %d", calls, c.wantCalls)
			}
			if c.wantCalls < 0 && calls < 3 {
				t.Errorf("%d calls before giving up, want several", calls)
			}
		})
	}
}

// Held rows bound an outage only while they grow: rows that were waiting
// when it started (a batch job's) do not end it.
func TestFailedHeldRows(t *testing.T) {
	s := For(NewID(), "test sink")
	s.Enter(100)
	b := Bounds{MaxHeldRows: 50}
	var got []string
	for i := range 3 {
		if i == 2 {
			s.Enter(1)
		}
		err := s.Failed(context.Background(), errors.New("down"), b)
		got = append(got, fmt.Sprint(err))
	}
	want := []string{"<nil>", "<nil>", "test sink: giving up after"}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("failure %d: %q, want %q...", i, got[i], want[i])
		}
	}
	var e *Error
	if err := s.Failed(context.Background(), errors.New("down"), b); !errors.As(err, &e) || e.Held != 101 || e.Bound != "max held rows 50" {
		t.Errorf("Failed = %#v", err)
	}
	// Back: a new outage starts from the rows waiting then.
	s.Succeeded(context.Background())
	s.Settle(1)
	if diff := cmp.Diff(int64(100), s.Held()); diff != "" {
		t.Errorf("held (-want +got):\n%s", diff)
	}
	if err := s.Failed(context.Background(), errors.New("down"), b); err != nil {
		t.Errorf("first failure of a new outage: %v", err)
	}
}
