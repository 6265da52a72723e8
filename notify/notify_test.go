package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tickbeam/tickbeam"
)

type funcNotifier func(context.Context, tickbeam.Alert) error

func (f funcNotifier) Notify(ctx context.Context, a tickbeam.Alert) error { return f(ctx, a) }

func TestMultiNamesTheFailingNotifier(t *testing.T) {
	ok := newHookServer(t, http.StatusOK)
	bad := newHookServer(t, http.StatusBadRequest)
	be := &smtpBackend{}
	port := startSMTP(t, be, nil)
	m := Multi{
		mustWebhook(t, WebhookConfig{Name: "audit", URL: ok.URL}),
		mustWebhook(t, WebhookConfig{Name: "pager", URL: bad.URL + "/p?token=x"}),
		mustEmail(t, loopbackEmail(port)),
		nil,
	}
	err := m.Notify(context.Background(), testAlert())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, `notifier 2 of 4 (webhook "pager" (http://127.0.0.1:`) || !strings.Contains(msg, "400 Bad Request") {
		t.Errorf("error %q does not name the pager webhook and its status", msg)
	}
	if strings.Contains(msg, "audit") || strings.Contains(msg, "email") {
		t.Errorf("error %q names a notifier that succeeded", msg)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Errorf("errors.As StatusError: %v", se)
	}
	if n := ok.attempts.Load(); n != 1 {
		t.Errorf("audit webhook got %d requests, want 1", n)
	}
	if len(be.delivered) != 1 {
		t.Errorf("email delivered %d messages, want 1", len(be.delivered))
	}
	if err := (Multi{m[0], m[2]}).Notify(context.Background(), testAlert()); err != nil {
		t.Errorf("all succeeding: %v", err)
	}
}

func TestMultiJoinsEveryFailure(t *testing.T) {
	boom := errors.New("boom")
	m := Multi{
		funcNotifier(func(context.Context, tickbeam.Alert) error { return boom }),
		funcNotifier(func(context.Context, tickbeam.Alert) error { return nil }),
		funcNotifier(func(context.Context, tickbeam.Alert) error { return errors.New("bang") }),
	}
	err := m.Notify(context.Background(), testAlert())
	want := "notifier 1 of 3 (notify.funcNotifier) failed: boom\nnotifier 3 of 3 (notify.funcNotifier) failed: bang"
	if err == nil || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	if !errors.Is(err, boom) {
		t.Error("errors.Is does not reach the cause")
	}
	if err := (Multi{}).Notify(context.Background(), testAlert()); err != nil {
		t.Error(err)
	}
}
