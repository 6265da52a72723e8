package alerts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"
	"github.com/emersion/go-sasl"
	smtpd "github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/beamtest"
	"github.com/tickbeam/tickbeam/notify"
	"google.golang.org/protobuf/proto"
)

// Secrets of the delivery tests: they must reach the servers and nothing else.
const (
	testHookSecret   = "whsec-deliver-7f3a9c-do-not-leak"
	testSMTPPassword = "smtp-pw-deliver-41e2-do-not-leak"
	envHookSecret    = "TICKBEAM_TEST_HOOK_SECRET"
	envSMTPPassword  = "TICKBEAM_TEST_SMTP_PASSWORD"
)

func init() {
	register.Function1x1(zeroDeadLetterTime)
	register.Function1x1(leaksNoSecret)
}

func zeroDeadLetterTime(d tickbeam.DeadLetter) tickbeam.DeadLetter {
	d.Timestamp = time.Time{}
	return d
}

func leaksNoSecret(d tickbeam.DeadLetter) bool {
	b, _ := json.Marshal(d)
	for _, s := range []string{testHookSecret, testSMTPPassword} {
		if bytes.Contains(b, []byte(s)) || strings.Contains(string(d.PayloadBytes), s) {
			return false
		}
	}
	return true
}

// signedHook is a webhook receiver that verifies each request's signature
// with notify.VerifySignature and answers status.
type signedHook struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	ids    []string // alert_ids received, in arrival order
	badSig []string // alert_ids whose signature did not verify
}

func newSignedHook(t *testing.T, status int) *signedHook {
	t.Helper()
	h := &signedHook{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var a tickbeam.Alert
		_ = json.Unmarshal(body, &a)
		err := notify.VerifySignature(testHookSecret, r.Header.Get(notify.HeaderTimestamp), string(body), r.Header.Get(notify.HeaderSignature))
		h.mu.Lock()
		h.ids = append(h.ids, a.AlertID)
		if err != nil || r.Header.Get(notify.HeaderIdempotency) != a.AlertID {
			h.badSig = append(h.badSig, a.AlertID)
		}
		status := h.status
		h.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *signedHook) received() (ids, badSig []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(slices.Values(h.ids)), h.badSig
}

// mailbox is a minimal in-process SMTP server (AUTH PLAIN over loopback).
type mailbox struct {
	mu   sync.Mutex
	msgs []mailed
}

type mailed struct {
	user string
	to   []string
	data []byte
}

func (b *mailbox) NewSession(*smtpd.Conn) (smtpd.Session, error) { return &mailSession{b: b}, nil }

type mailSession struct {
	b    *mailbox
	user string
	to   []string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "tickbeam" || pass != testSMTPPassword {
			return smtpd.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *mailSession) Mail(string, *smtpd.MailOptions) error {
	if s.user == "" {
		return smtpd.ErrAuthRequired
	}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtpd.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.msgs = append(s.b.msgs, mailed{user: s.user, to: s.to, data: data})
	return nil
}

func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

func (b *mailbox) messages() []mailed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// startMailbox serves b on 127.0.0.1 and returns the port.
func startMailbox(t *testing.T, b smtpd.Backend) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtpd.NewServer(b)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // loopback, no TLS: the client allows AUTH PLAIN to 127.0.0.1
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func deliverAlert(rule, symbol string, at time.Time, msg string) tickbeam.Alert {
	return tickbeam.Alert{
		AlertID: tickbeam.NewAlertID(rule, symbol, at), Rule: rule, Symbol: symbol, Severity: tickbeam.Warning,
		EventTime: at, DetectedAt: at.Add(time.Second), Value: 1, Threshold: 2, Message: msg,
		Labels: []tickbeam.Attribute{{Key: "kind", Value: "price_level"}},
	}
}

func parseDeliverRules(t *testing.T, src string) *RuleSet {
	t.Helper()
	rs, err := ParseRules(strings.NewReader(src), "deliver.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// graphText is the pipeline's runner proto, as bytes and with every
// base64-looking payload decoded, so a secret cannot hide in it.
func graphText(t *testing.T, p *beam.Pipeline) string {
	t.Helper()
	edges, _, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := graphx.Marshal(edges, &graphx.Options{Environment: &pipepb.Environment{Urn: "beam:env:loopback:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := proto.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	all.Write(raw)
	for _, tr := range pb.GetComponents().GetTransforms() {
		payload := tr.GetSpec().GetPayload()
		var pardo pipepb.ParDoPayload
		if proto.Unmarshal(payload, &pardo) == nil {
			fnPayload := pardo.GetDoFn().GetPayload()
			all.Write(fnPayload)
			if dec, err := base64.StdEncoding.DecodeString(string(fnPayload)); err == nil {
				all.Write(dec)
			}
		}
	}
	return all.String()
}

// Alerts reach the webhook (signed) and the email of their rules; alerts
// of rules without notifiers pass through; no secret enters the graph.
func TestDeliverWebhookAndEmail(t *testing.T) {
	t.Setenv(envHookSecret, testHookSecret)
	t.Setenv(envSMTPPassword, testSMTPPassword)
	hook := newSignedHook(t, http.StatusNoContent)
	box := &mailbox{}
	port := startMailbox(t, box)
	rs := parseDeliverRules(t, fmt.Sprintf(`
notifiers:
  webhooks:
    - {name: desk-hook, url: "%s/hooks/tickbeam?token=in-the-url", secret_env: %s, max_attempts: 2, timeout: 5s}
  emails:
    - {name: ops-email, host: 127.0.0.1, port: %d, starttls: none, from: "Tickbeam <alerts@example.com>",
       to: [ops@example.com], username: tickbeam, password_env: %s, max_attempts: 2, timeout: 5s}
rules:
  - {name: aapl-up, kind: price_level, symbols: [AAPL], direction: above, threshold: 200, notify: [desk-hook]}
  - {name: krx-stale, kind: stale_feed, symbols: ["005930"], max_silence: 5m, notify: [ops-email]}
  - {name: quiet, kind: price_level, direction: below, threshold: 1}
`, hook.URL, envHookSecret, port, envSMTPPassword))

	t0 := time.Date(2026, 3, 3, 1, 15, 0, 0, time.UTC)
	in := []tickbeam.Alert{
		deliverAlert("aapl-up", "AAPL", t0, "AAPL 201 >= 200"),
		deliverAlert("aapl-up", "AAPL", t0.Add(time.Minute), "AAPL 202 >= 200"),
		deliverAlert("krx-stale", "005930", t0, "005930: no data for 5m0s of open market"),
		deliverAlert("quiet", "BTCUSDT", t0, "nobody is told"),
		deliverAlert("not-in-the-file", "ETHUSDT", t0, "built elsewhere"),
	}
	p, s := beam.NewPipelineWithRoot()
	delivered, failed, err := TryDeliver(s, beam.CreateList(s, in), rs, DeliverOptions{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	beamtest.Equals(s, delivered, in)
	passert.Empty(s, failed)

	g := graphText(t, p)
	for _, secret := range []string{testHookSecret, testSMTPPassword} {
		if strings.Contains(g, secret) {
			t.Errorf("the pipeline graph holds the secret %q", secret)
		}
	}
	for _, want := range []string{envHookSecret, envSMTPPassword} { // the check does see the DoFn
		if !strings.Contains(g, want) {
			t.Errorf("the pipeline graph lacks %s: the secret check looks in the wrong place", want)
		}
	}

	res := ptest.RunAndValidate(t, p)

	ids, badSig := hook.received()
	if diff := cmp.Diff(slices.Sorted(slices.Values([]string{in[0].AlertID, in[1].AlertID})), ids); diff != "" {
		t.Errorf("webhook alert_ids (-want +got):\n%s", diff)
	}
	if len(badSig) > 0 {
		t.Errorf("webhook requests without a valid signature or Idempotency-Key: %v", badSig)
	}
	msgs := box.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d emails, want 1", len(msgs))
	}
	if m := msgs[0]; m.user != "tickbeam" || !slices.Equal(m.to, []string{"ops@example.com"}) {
		t.Errorf("email: AUTH user %q, RCPT TO %v", m.user, m.to)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if subj := m.Header.Get("Subject"); !strings.Contains(subj, "005930") || !strings.Contains(subj, "krx-stale") {
		t.Errorf("Subject %q lacks the symbol or rule", subj)
	}
	if got := m.Header.Get("X-Tickbeam-Alert-Id"); got != in[2].AlertID {
		t.Errorf("X-Tickbeam-Alert-Id %q, want %q", got, in[2].AlertID)
	}
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "notified"); n != 3 {
		t.Errorf("notified = %d, want 3", n)
	}
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "notify_failed"); n != 0 {
		t.Errorf("notify_failed = %d, want 0", n)
	}
}

// A refused delivery is a dead letter per failing notifier, and the alert
// is not delivered, even when another notifier took it.
func TestDeliverFailureDeadLetters(t *testing.T) {
	t.Setenv(envHookSecret, testHookSecret)
	good := newSignedHook(t, http.StatusOK)
	bad := newSignedHook(t, http.StatusBadRequest)
	rs := parseDeliverRules(t, fmt.Sprintf(`
notifiers:
  webhooks:
    - {name: good-hook, url: "%[1]s/ok", secret_env: %[3]s}
    - {name: bad-hook, url: "%[2]s/refuses", secret_env: %[3]s}
rules:
  - {name: both, kind: price_level, direction: above, threshold: 1, notify: [good-hook, bad-hook]}
  - {name: bad-only, kind: price_level, direction: above, threshold: 1, notify: [bad-hook]}
  - {name: good-only, kind: price_level, direction: above, threshold: 1, notify: [good-hook]}
`, good.URL, bad.URL, envHookSecret))

	t0 := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	in := []tickbeam.Alert{
		deliverAlert("both", "AAPL", t0, "to both"),
		deliverAlert("bad-only", "MSFT", t0, "to the refusing hook"),
		deliverAlert("good-only", "NVDA", t0, "to the good hook"),
	}
	p, s := beam.NewPipelineWithRoot()
	delivered, failed, err := TryDeliver(s, beam.CreateList(s, in), rs, DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	beamtest.Equals(s, delivered, []tickbeam.Alert{in[2]})
	dead := func(a tickbeam.Alert) tickbeam.DeadLetter {
		payload, err := notify.EncodeAlert(a)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf(`notify: webhook "bad-hook" (%s/…): alert %q: HTTP status 400 Bad Request`, bad.URL, a.AlertID) // the path is redacted
		return tickbeam.NewDeadLetter(time.Time{}, payload, map[string]string{"alert_id": a.AlertID, "rule": a.Rule, "symbol": a.Symbol},
			tickbeam.StageNotify, "bad-hook", errors.New(msg))
	}
	beamtest.Equals(s, beam.ParDo(s, zeroDeadLetterTime, failed), []tickbeam.DeadLetter{dead(in[0]), dead(in[1])})
	passert.True(s, failed, leaksNoSecret)

	res := ptest.RunAndValidate(t, p)

	if ids, badSig := good.received(); !slices.Equal(ids, slices.Sorted(slices.Values([]string{in[0].AlertID, in[2].AlertID}))) || len(badSig) > 0 {
		t.Errorf("good hook got %v (bad signatures %v), want the alerts of both and good-only", ids, badSig)
	}
	if ids, _ := bad.received(); !slices.Equal(ids, slices.Sorted(slices.Values([]string{in[0].AlertID, in[1].AlertID}))) {
		t.Errorf("bad hook got %v, want one request each for the alerts of both and bad-only (400 is not retried)", ids)
	}
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "notified"); n != 2 {
		t.Errorf("notified = %d, want 2", n)
	}
	if n := beamtest.Counter(t, res, "tickbeam/alerts", "notify_failed"); n != 2 {
		t.Errorf("notify_failed = %d, want 2", n)
	}
}

// Deliver fails at construction, naming the variable but never a secret,
// when a secret is missing or would enter the graph.
func TestDeliverRefusesMissingOrInlineSecrets(t *testing.T) {
	t.Setenv(envHookSecret, "")
	t.Setenv(envSMTPPassword, testSMTPPassword)
	rs := parseDeliverRules(t, fmt.Sprintf(`
notifiers:
  webhooks:
    - {name: desk-hook, url: "http://127.0.0.1:1/hook", secret_env: %s}
  emails:
    - {name: ops-email, host: 127.0.0.1, starttls: none, from: alerts@example.com, to: [ops@example.com],
       username: tickbeam, password_env: %s}
rules:
  - {name: r1, kind: price_level, direction: above, threshold: 1, notify: [desk-hook, ops-email]}
`, envHookSecret, envSMTPPassword))
	alerts := func(s beam.Scope) beam.PCollection {
		return beam.CreateList(s, []tickbeam.Alert{deliverAlert("r1", "X", time.Unix(0, 0).UTC(), "")})
	}

	_, s := beam.NewPipelineWithRoot()
	_, _, err := TryDeliver(s, alerts(s), rs, DeliverOptions{})
	if err == nil || !strings.Contains(err.Error(), "environment variable "+envHookSecret+" is empty") {
		t.Fatalf("empty secret: got %v", err)
	}
	if strings.Contains(err.Error(), testSMTPPassword) {
		t.Errorf("error leaks the SMTP password: %v", err)
	}

	// A secret put in the config by Go code would travel in the graph.
	inline := *rs
	inline.Webhooks = slices.Clone(rs.Webhooks)
	inline.Webhooks[0].Config.Secret, inline.Webhooks[0].SecretEnv = testHookSecret, ""
	_, _, err = TryDeliver(s, alerts(s), &inline, DeliverOptions{})
	if err == nil || !strings.Contains(err.Error(), "Config.Secret is set") || strings.Contains(err.Error(), testHookSecret) {
		t.Errorf("inline secret: got %v", err)
	}

	t.Setenv(envHookSecret, testHookSecret)
	if _, _, err := TryDeliver(s, beam.CreateList(s, []int{1}), rs, DeliverOptions{}); err == nil || !strings.Contains(err.Error(), "PCollection<tickbeam.Alert>") {
		t.Errorf("wrong input type: got %v", err)
	}
	if _, _, err := TryDeliver(s, alerts(s), nil, DeliverOptions{}); err == nil {
		t.Error("nil rule set: no error")
	}
}

// A worker whose environment lacks the secret fails in Setup, without
// sending anything.
func TestDeliverSetupFailsWithoutSecret(t *testing.T) {
	t.Setenv(envHookSecret, testHookSecret)
	hook := newSignedHook(t, http.StatusNoContent)
	rs := parseDeliverRules(t, fmt.Sprintf(`
notifiers:
  webhooks:
    - {name: desk-hook, url: "%s/hook", secret_env: %s}
rules:
  - {name: r1, kind: price_level, direction: above, threshold: 1, notify: [desk-hook]}
`, hook.URL, envHookSecret))
	p, s := beam.NewPipelineWithRoot()
	if _, _, err := TryDeliver(s, beam.CreateList(s, []tickbeam.Alert{deliverAlert("r1", "X", time.Unix(0, 0).UTC(), "")}), rs, DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envHookSecret, "") // the in-process prism worker reads it in Setup
	err := ptest.Run(p)
	if err == nil {
		t.Fatal("pipeline ran without the secret")
	}
	if !strings.Contains(err.Error(), envHookSecret+" is empty") {
		t.Errorf("error does not name the variable: %v", err)
	}
	if ids, _ := hook.received(); len(ids) > 0 {
		t.Errorf("webhook got %v", ids)
	}
}

// On a stream the alerts go out as they arrive, across watermark advances,
// to both kinds of notifier.
func TestDeliverStreaming(t *testing.T) {
	t.Setenv(envHookSecret, testHookSecret)
	t.Setenv(envSMTPPassword, testSMTPPassword)
	hook := newSignedHook(t, http.StatusOK)
	box := &mailbox{}
	port := startMailbox(t, box)
	rs := parseDeliverRules(t, fmt.Sprintf(`
notifiers:
  webhooks:
    - {name: desk-hook, url: "%s/hook", secret_env: %s, max_attempts: 2, timeout: 5s}
  emails:
    - {name: ops-email, host: 127.0.0.1, port: %d, starttls: none, from: alerts@example.com,
       to: [ops@example.com], username: tickbeam, password_env: %s, max_attempts: 2, timeout: 5s}
rules:
  - {name: btc-below, kind: price_level, symbols: ["BTC*"], direction: below, threshold: 60000, notify: [desk-hook, ops-email]}
`, hook.URL, envHookSecret, port, envSMTPPassword))
	t0 := time.Date(2026, 3, 3, 1, 15, 0, 0, time.UTC)
	in := []tickbeam.Alert{
		deliverAlert("btc-below", "BTCUSDT", t0, "BTCUSDT 59990 <= 60000"),
		deliverAlert("btc-below", "BTCUSD", t0.Add(time.Minute), "BTCUSD 59980 <= 60000"),
		deliverAlert("btc-below", "BTCUSDT", t0.Add(2*time.Hour), "BTCUSDT 59000 <= 60000"),
	}
	cfg := teststream.NewConfig()
	for i, a := range in {
		if err := cfg.AddElements(a.EventTime.UnixMilli(), a); err != nil {
			t.Fatal(err)
		}
		if err := cfg.AdvanceWatermark(a.EventTime.Add(time.Duration(i+1) * time.Second).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	delivered, failed, err := TryDeliver(s, teststream.Create(s, cfg), rs, DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	beamtest.Equals(s, delivered, in)
	passert.Empty(s, failed)
	ptest.RunAndValidate(t, p)

	ids, badSig := hook.received()
	want := slices.Sorted(slices.Values([]string{in[0].AlertID, in[1].AlertID, in[2].AlertID}))
	if diff := cmp.Diff(want, ids); diff != "" || len(badSig) > 0 {
		t.Errorf("webhook alert_ids (-want +got):\n%s\nbad signatures: %v", diff, badSig)
	}
	if n := len(box.messages()); n != len(in) {
		t.Errorf("%d emails, want %d", n, len(in))
	}
}
