package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/emersion/go-sasl"
	smtpd "github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
)

func init() {
	register.Function1x1(deadLetterKey)
}

// slowHook answers nothing for 30 s (or until the client gives up).
type slowHook struct {
	*httptest.Server
	requests atomic.Int32
}

func newSlowHook(t *testing.T) *slowHook {
	h := &slowHook{}
	done := make(chan struct{})
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		select {
		case <-time.After(30 * time.Second):
		case <-done: // the test is over
		}
	}))
	t.Cleanup(h.Close)
	t.Cleanup(func() { close(done) }) // first
	return h
}

// refusedURL is a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

// slowSMTP accepts connections and never greets: an SMTP server that hangs.
func slowSMTP(t *testing.T) (port int, conns *atomic.Int32) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int32{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				select {
				case <-time.After(30 * time.Second):
				case <-done:
				}
			})
		}
	})
	t.Cleanup(func() { close(done); l.Close(); wg.Wait() })
	return l.Addr().(*net.TCPAddr).Port, conns
}

// faultyMailbox is an SMTP server whose every session fails one way.
type faultyMailbox struct {
	fault    string // "451": MAIL FROM answered 451 (temporary); "535": AUTH refused quoting the password
	sessions atomic.Int32
}

func (b *faultyMailbox) NewSession(*smtpd.Conn) (smtpd.Session, error) {
	b.sessions.Add(1)
	return &faultySession{b: b}, nil
}

type faultySession struct{ b *faultyMailbox }

func (s *faultySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *faultySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, _, pass string) error {
		if s.b.fault == "535" {
			// A careless server quoting what it refused.
			return &smtpd.SMTPError{Code: 535, EnhancedCode: smtpd.EnhancedCode{5, 7, 8}, Message: "password " + pass + " rejected"}
		}
		return nil
	}), nil
}

func (s *faultySession) Mail(string, *smtpd.MailOptions) error {
	return &smtpd.SMTPError{Code: 451, EnhancedCode: smtpd.EnhancedCode{4, 3, 0}, Message: "try again later"}
}

func (s *faultySession) Rcpt(string, *smtpd.RcptOptions) error { return nil }
func (s *faultySession) Data(io.Reader) error                  { return nil }
func (s *faultySession) Reset()                                {}
func (s *faultySession) Logout() error                         { return nil }

// captureLogs sends the process's slog output, where prism prints the SDK
// workers' log lines, to the returned buffer until the test ends.
func captureLogs(t *testing.T) *lockedBuffer {
	buf := &lockedBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Receivers down, hanging for 30 s, answering 5xx or 4xx, over SMTP and
// HTTP, beside one that works: every alert reaches the working one without
// waiting on the others, each failed delivery is one dead letter of stage
// notify, retries are bounded, and no secret is in a dead letter, a log
// line or the run's error.
func TestDeliverFaultyReceivers(t *testing.T) {
	t.Setenv(envHookSecret, testHookSecret)
	t.Setenv(envSMTPPassword, testSMTPPassword)
	logs := captureLogs(t)

	good := newSignedHook(t, http.StatusOK)
	slow := newSlowHook(t)
	unavailable := newSignedHook(t, http.StatusServiceUnavailable)
	refusing := newSignedHook(t, http.StatusBadRequest)
	slowSMTPPort, slowConns := slowSMTP(t)
	tempFail := &faultyMailbox{fault: "451"}
	echo := &faultyMailbox{fault: "535"}
	const attempts = 2
	retry := fmt.Sprintf("max_attempts: %d, timeout: 300ms, initial_backoff: 50ms, max_backoff: 100ms", attempts)
	hook := func(name, url string) string {
		return fmt.Sprintf("    - {name: %s, url: %q, secret_env: %s, %s}\n", name, url, envHookSecret, retry)
	}
	email := func(name string, port int) string {
		return fmt.Sprintf("    - {name: %s, host: 127.0.0.1, port: %d, starttls: none, from: alerts@example.com, to: [ops@example.com], username: tickbeam, password_env: %s, %s}\n",
			name, port, envSMTPPassword, retry)
	}
	rs := parseDeliverRules(t, "notifiers:\n  webhooks:\n"+
		hook("good-hook", good.URL)+hook("down-hook", refusedURL(t))+hook("slow-hook", slow.URL)+
		hook("hook-503", unavailable.URL)+hook("hook-400", refusing.URL)+
		"  emails:\n"+email("slow-smtp", slowSMTPPort)+email("smtp-451", startMailbox(t, tempFail))+email("smtp-535", startMailbox(t, echo))+
		"rules:\n  - {name: all, kind: price_level, direction: above, threshold: 1, notify: [good-hook, down-hook, slow-hook, hook-503, hook-400, slow-smtp, smtp-451, smtp-535]}\n")

	const n = 40
	t0 := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	var in []tickbeam.Alert
	for i := range n {
		in = append(in, deliverAlert("all", "AAPL", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("alert %d", i)))
	}
	p, s := beam.NewPipelineWithRoot()
	delivered, failed, err := TryDeliver(s, beam.CreateList(s, in), rs, DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	passert.Empty(s, delivered) // every alert has failing notifiers
	passert.True(s, failed, leaksNoSecret)
	passert.Count(s, failed, "dead letters", n*7)
	beamtest.Equals(s, beam.ParDo(s, deadLetterKey, failed), wantDeadLetterKeys(in,
		"down-hook", "slow-hook", "hook-503", "hook-400", "slow-smtp", "smtp-451", "smtp-535"))

	start := time.Now()
	res, err := ptest.RunWithMetrics(p)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	ids, badSig := good.received()
	t.Logf("%d alerts in %v: good hook got %d; slow hook %d requests, 503 hook %d, 400 hook %d, slow SMTP %d connections, 451 SMTP %d sessions, 535 SMTP %d; notified %d, notify_failed %d, notify_down %d",
		n, took.Round(time.Millisecond), len(ids), slow.requests.Load(), count(unavailable), count(refusing), slowConns.Load(), tempFail.sessions.Load(), echo.sessions.Load(),
		beamtest.Counter(t, res, "tickbeam/alerts", "notified"), beamtest.Counter(t, res, "tickbeam/alerts", "notify_failed"), beamtest.Counter(t, res, "tickbeam/alerts", "notify_down"))

	if len(ids) != n || len(badSig) > 0 {
		t.Errorf("the good hook got %d alerts (%d badly signed), want all %d", len(ids), len(badSig), n)
	}
	// One retry schedule for the receivers that are down or hang, taken
	// for down for a minute after it: without that, 40 alerts would wait
	// 40 schedules of 2 × 300 ms.
	if took > 15*time.Second {
		t.Errorf("the run took %v: deliveries waited on the failing receivers", took)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"slow hook requests", int(slow.requests.Load()), attempts},
		{"503 hook requests", count(unavailable), attempts},
		{"400 hook requests (answers, so never down; 4xx not retried)", count(refusing), n},
		{"slow SMTP connections", int(slowConns.Load()), attempts},
		{"451 SMTP sessions", int(tempFail.sessions.Load()), attempts},
		{"535 SMTP sessions (answers, so never down; 5xx not retried)", int(echo.sessions.Load()), n},
		{"notify_down", int(beamtest.Counter(t, res, "tickbeam/alerts", "notify_down")), 5 * (n - 1)},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	out := logs.String()
	for _, secret := range []string{testHookSecret, testSMTPPassword} {
		if strings.Contains(out, secret) {
			t.Errorf("a log line holds the secret %q", secret)
		}
	}
	for _, want := range []string{`slow-hook\" (http://127.0.0.1:`, "is down (gave up after 2 attempts"} {
		if !strings.Contains(out, want) {
			t.Errorf("no log line says %s: the capture missed the workers' logs", want)
		}
	}
}

func count(h *signedHook) int {
	ids, _ := h.received()
	return len(ids)
}

// deadLetterKey is what a notify dead letter is checked by: its alert,
// notifier, and whether it was tried.
func deadLetterKey(d tickbeam.DeadLetter) string {
	var a tickbeam.Alert
	_ = json.Unmarshal(d.PayloadBytes, &a)
	tried := "tried"
	if strings.Contains(d.ErrorMessage, ": not tried: down since ") {
		tried = "not tried"
	}
	return fmt.Sprintf("%s %s %s %s", d.Stage, d.Source, a.Message, tried)
}

// wantDeadLetterKeys: for each failing notifier, one dead letter per alert;
// the first alert tries all of them, later ones only those that answer.
func wantDeadLetterKeys(in []tickbeam.Alert, notifiers ...string) []string {
	answering := []string{"hook-400", "smtp-535"}
	var want []string
	for i, a := range in {
		for _, n := range notifiers {
			tried := "tried"
			if i > 0 && !slices.Contains(answering, n) {
				tried = "not tried"
			}
			want = append(want, fmt.Sprintf("%s %s %s %s", tickbeam.StageNotify, n, a.Message, tried))
		}
	}
	return want
}

// A receiver that is back is tried again once DownFor has passed, and its
// alerts are delivered again; meanwhile they were dead letters saying so.
func TestDeliverReceiverBack(t *testing.T) {
	t.Setenv(envHookSecret, testHookSecret)
	hook := newSignedHook(t, http.StatusServiceUnavailable)
	rs := parseDeliverRules(t, fmt.Sprintf(`
notifiers:
  webhooks:
    - {name: desk-hook, url: "%s/hook", secret_env: %s, max_attempts: 2, timeout: 1s, initial_backoff: 10ms, max_backoff: 10ms}
rules:
  - {name: r1, kind: price_level, direction: above, threshold: 1, notify: [desk-hook]}
`, hook.URL, envHookSecret))
	const downFor = 300 * time.Millisecond
	fn, err := newDeliverFn(rs, DeliverOptions{DownFor: downFor})
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	var got []string
	deliver := func(i int, wait time.Duration) {
		time.Sleep(wait)
		a := deliverAlert("r1", "X", t0.Add(time.Duration(i)*time.Second), "")
		err := fn.ProcessElement(context.Background(), a,
			func(tickbeam.Alert) { got = append(got, fmt.Sprintf("%d delivered", i)) },
			func(d tickbeam.DeadLetter) {
				what := "failed"
				if strings.Contains(d.ErrorMessage, "not tried") {
					what = "not tried"
				}
				got = append(got, fmt.Sprintf("%d %s", i, what))
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	deliver(0, 0)       // 503 twice: down
	deliver(1, 0)       // within DownFor
	deliver(2, downFor) // tried again: still 503
	hook.mu.Lock()      // the receiver is back
	hook.status = http.StatusOK
	hook.mu.Unlock()
	deliver(3, 0)       // within DownFor of the last try
	deliver(4, downFor) // tried: back
	deliver(5, 0)
	want := []string{"0 failed", "1 not tried", "2 failed", "3 not tried", "4 delivered", "5 delivered"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if ids, _ := hook.received(); len(ids) != 2+2+1+1 {
		t.Errorf("the hook got %d requests, want 6 (two tries of 2 attempts, then 2 deliveries)", len(ids))
	}
}
