package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtpd "github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
)

// smtpBackend is an in-process go-smtp backend that records deliveries.
type smtpBackend struct {
	mu        sync.Mutex
	sessions  int
	delivered []delivery
	// dataReplies are returned by successive DATA commands (nil = accept);
	// once used up, DATA accepts.
	dataReplies []error
	rcptReply   error
	user, pass  string // when set, MAIL requires AUTH PLAIN with these
	authTries   int
}

type delivery struct {
	from     string
	to       []string
	data     []byte
	tls      bool
	authUser string
}

func (b *smtpBackend) NewSession(c *smtpd.Conn) (smtpd.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &smtpSession{b: b, conn: c}, nil
}

type smtpSession struct {
	b    *smtpBackend
	conn *smtpd.Conn
	user string
	from string
	to   []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.b.mu.Lock()
		s.b.authTries++
		s.b.mu.Unlock()
		if user != s.b.user || pass != s.b.pass {
			return smtpd.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtpd.MailOptions) error {
	if s.b.user != "" && s.user == "" {
		return smtpd.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtpd.RcptOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.rcptReply != nil {
		return s.b.rcptReply
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if len(s.b.dataReplies) > 0 {
		reply := s.b.dataReplies[0]
		s.b.dataReplies = s.b.dataReplies[1:]
		if reply != nil {
			return reply
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.b.delivered = append(s.b.delivered, delivery{from: s.from, to: s.to, data: data, tls: isTLS, authUser: s.user})
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// startSMTP serves be on 127.0.0.1 (with STARTTLS when tlsCfg is set) and
// returns the port.
func startSMTP(t *testing.T, be *smtpBackend, tlsCfg *tls.Config) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtpd.NewServer(be)
	s.Domain = "localhost"
	s.TLSConfig = tlsCfg
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and writes it
// as a CA bundle to a temporary file.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tickbeam test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, caFile
}

func loopbackEmail(port int) EmailConfig {
	return EmailConfig{
		Host:           "127.0.0.1",
		Port:           port,
		StartTLS:       StartTLSNone,
		From:           "Tickbeam Alerts <alerts@example.com>",
		To:             []string{"ops@example.com", "On Call <oncall@example.com>"},
		Timeout:        5 * time.Second,
		InitialBackoff: time.Millisecond,
		MaxBackoff:     5 * time.Millisecond,
	}
}

func mustEmail(t *testing.T, cfg EmailConfig) *Email {
	t.Helper()
	e, err := NewEmail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// parsed is a received message with its text body decoded.
type parsed struct {
	header mail.Header
	body   string
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("message has a bare LF:\n%s", data)
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if cte := m.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return parsed{m.Header, string(body)}
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decode %q: %v", v, err)
	}
	return s
}

func TestEmailDeliversOverLoopback(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, nil)
	e := mustEmail(t, loopbackEmail(port))
	a := testAlert()
	if err := e.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(be.delivered) != 1 {
		t.Fatalf("%d deliveries, want 1", len(be.delivered))
	}
	d := be.delivered[0]
	if d.from != "alerts@example.com" {
		t.Errorf("MAIL FROM %q", d.from)
	}
	if diff := cmp.Diff([]string{"ops@example.com", "oncall@example.com"}, d.to); diff != "" {
		t.Errorf("RCPT TO (-want +got):\n%s", diff)
	}
	m := parseMessage(t, d.data)
	if got, want := decodeHeader(t, m.header.Get("Subject")), "[tickbeam] WARNING AAPL change_pct: AAPL +5.2% vs previous close"; got != want {
		t.Errorf("Subject %q, want %q", got, want)
	}
	for k, want := range map[string]string{
		"Message-Id":          "<tickbeam.change_pct-AAPL-20260302T143000Z@example.com>",
		"Mime-Version":        "1.0",
		"Content-Type":        "text/plain; charset=utf-8",
		"Auto-Submitted":      "auto-generated",
		"X-Tickbeam-Alert-Id": a.AlertID,
		"X-Tickbeam-Severity": "WARNING",
	} {
		if got := m.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if from, err := m.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "alerts@example.com" || from[0].Name != "Tickbeam Alerts" {
		t.Errorf("From %v %v", from, err)
	}
	if to, err := m.header.AddressList("To"); err != nil || len(to) != 2 || to[1].Name != "On Call" {
		t.Errorf("To %v %v", to, err)
	}
	if date, err := m.header.Date(); err != nil || time.Since(date) > time.Minute {
		t.Errorf("Date %v %v", date, err)
	}
	for _, want := range []string{
		"AAPL +5.2% vs previous close",
		"alert_id:    change_pct-AAPL-20260302T143000Z",
		"rule:        change_pct",
		"symbol:      AAPL",
		"severity:    WARNING",
		"event_time:  2026-03-02T14:30:00Z",
		"detected_at: 2026-03-02T14:30:01.5Z",
		"value:       5.2",
		"threshold:   5",
		"  venue: XNAS",
		"  direction: up",
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.body)
		}
	}
	if d.tls {
		t.Error("delivered over TLS with starttls none")
	}
}

func TestEmailKoreanStaleFeedAlert(t *testing.T) {
	// Seed 003: an email when no data has arrived for 5 minutes during market hours.
	be := &smtpBackend{}
	port := startSMTP(t, be, nil)
	e := mustEmail(t, loopbackEmail(port))
	a := testAlert()
	a.Rule, a.Symbol, a.Severity = "stale_feed", "005930", "CRITICAL"
	a.AlertID = "stale_feed/005930/2026-03-03T01:15:00Z" // '/' and ':' make it no dot-atom
	a.Message = "삼성전자(005930) 데이터가 5분 이상 적재되지 않았습니다 — " + strings.Repeat("지연 ", 40)
	a.Value, a.Threshold = 312, 300
	if err := e.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	data := be.delivered[0].data
	for i, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long", i, len(line))
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("line %d is not 7-bit: %q", i, line)
			}
		}
	}
	m := parseMessage(t, data)
	subj := decodeHeader(t, m.header.Get("Subject"))
	if !strings.HasPrefix(subj, "[tickbeam] CRITICAL 005930 stale_feed: 삼성전자(005930) 데이터가 5분 이상 적재되지 않았습니다") {
		t.Errorf("Subject %q", subj)
	}
	if !strings.Contains(m.body, "삼성전자(005930) 데이터가 5분 이상") || !strings.Contains(m.body, "value:       312") {
		t.Errorf("body:\n%s", m.body)
	}
	mid := m.header.Get("Message-Id")
	if !strings.HasPrefix(mid, "<tickbeam.") || !strings.HasSuffix(mid, "@example.com>") || strings.ContainsAny(mid[1:len(mid)-1], "/:<> ") {
		t.Errorf("Message-Id %q", mid)
	}
	if again := messageID(a.AlertID, "alerts@example.com"); again != mid {
		t.Errorf("Message-ID not stable: %q then %q", mid, again)
	}
}

func TestEmailNoHeaderInjection(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, nil)
	e := mustEmail(t, loopbackEmail(port))
	a := testAlert()
	a.Message = "AAPL up\r\nBcc: x@y\r\n\r\nforged body"
	a.Symbol = "AAPL\nX-Injected: 1"
	a.Rule = "change_pct\rCc: z@y"
	a.Severity = "WARNING\r\nBcc: w@y"
	a.AlertID = "id\r\nBcc: v@y"
	a.Labels = []tickbeam.Attribute{{Key: "k\r\nBcc: u@y", Value: "v"}}
	if err := e.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	d := be.delivered[0]
	if diff := cmp.Diff([]string{"ops@example.com", "oncall@example.com"}, d.to); diff != "" {
		t.Errorf("RCPT TO (-want +got):\n%s", diff)
	}
	m, err := mail.ReadMessage(bytes.NewReader(d.data))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bcc", "Cc", "X-Injected"} {
		if v, ok := m.Header[h]; ok {
			t.Errorf("injected header %s: %q", h, v)
		}
	}
	head, _, _ := bytes.Cut(d.data, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "Cc:") || strings.HasPrefix(line, "X-Injected") {
			t.Errorf("header section has line %q", line)
		}
	}
	subj := decodeHeader(t, m.Header.Get("Subject"))
	if want := "[tickbeam] WARNING Bcc: w@y AAPL X-Injected: 1 change_pct Cc: z@y: AAPL up Bcc: x@y forged body"; subj != want {
		t.Errorf("Subject %q, want %q", subj, want)
	}

	// Control characters in the config are refused before any I/O.
	for _, cfg := range []EmailConfig{
		func() EmailConfig { c := loopbackEmail(port); c.To = []string{"a@example.com\r\nBcc: x@y"}; return c }(),
		func() EmailConfig { c := loopbackEmail(port); c.From = "a@example.com\nBcc: x@y"; return c }(),
		func() EmailConfig { c := loopbackEmail(port); c.SubjectPrefix = "[x]\r\nBcc: x@y"; return c }(),
	} {
		if _, err := NewEmail(cfg); err == nil {
			t.Errorf("%v accepted", cfg)
		}
	}
}

func TestEmailHTMLAlternative(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, nil)
	cfg := loopbackEmail(port)
	cfg.HTML = true
	a := testAlert()
	a.Message = "<script>alert(1)</script> AAPL +5.2%"
	if err := mustEmail(t, cfg).Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(be.delivered[0].data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q %v", mt, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(p))
		types = append(types, p.Header.Get("Content-Type"))
		if !strings.Contains(string(body), "change_pct-AAPL-20260302T143000Z") {
			t.Errorf("%s part lacks the alert_id:\n%s", p.Header.Get("Content-Type"), body)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") && strings.Contains(string(body), "<script>") {
			t.Errorf("HTML part is not escaped:\n%s", body)
		}
	}
	if diff := cmp.Diff([]string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, types); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}

func TestEmailSTARTTLSWithAuth(t *testing.T) {
	tlsCfg, caFile := selfSigned(t)
	be := &smtpBackend{user: "tickbeam", pass: "app-password"}
	port := startSMTP(t, be, tlsCfg) // AllowInsecureAuth is false: AUTH only after STARTTLS
	cfg := loopbackEmail(port)
	cfg.StartTLS = StartTLSRequired
	cfg.CAFile = caFile
	cfg.Username, cfg.Password = "tickbeam", "app-password"
	if err := mustEmail(t, cfg).Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if len(be.delivered) != 1 {
		t.Fatalf("%d deliveries", len(be.delivered))
	}
	if d := be.delivered[0]; !d.tls || d.authUser != "tickbeam" {
		t.Errorf("tls=%v authUser=%q, want TLS and tickbeam", d.tls, d.authUser)
	}

	// Opportunistic upgrades too when offered.
	cfg.StartTLS = StartTLSOpportunistic
	if err := mustEmail(t, cfg).Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if !be.delivered[1].tls {
		t.Error("opportunistic mode did not upgrade")
	}

	// A wrong password is a 535: permanent, not retried, not printed.
	cfg.Password = "wrong-password"
	tries := be.authTries
	err := mustEmail(t, cfg).Notify(context.Background(), testAlert())
	var se *SMTPError
	if !errors.As(err, &se) || se.Code != 535 || se.Step != "AUTH" {
		t.Fatalf("got %v, want SMTP 535 at AUTH", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error leaks the password: %v", err)
	}
	if n := be.authTries - tries; n != 1 {
		t.Errorf("%d AUTH tries, want 1", n)
	}
}

func TestEmailUntrustedCertificateNotRetried(t *testing.T) {
	tlsCfg, _ := selfSigned(t)
	be := &smtpBackend{}
	port := startSMTP(t, be, tlsCfg)
	cfg := loopbackEmail(port)
	cfg.StartTLS = StartTLSRequired // system roots do not know the test CA
	err := mustEmail(t, cfg).Notify(context.Background(), testAlert())
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("got %v, want a certificate verification error", err)
	}
	if be.sessions != 1 || len(be.delivered) != 0 {
		t.Errorf("sessions=%d delivered=%d, want 1 and 0", be.sessions, len(be.delivered))
	}
}

func TestEmailStartTLSRequiredButNotOffered(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, nil)
	cfg := loopbackEmail(port)
	cfg.StartTLS = StartTLSRequired
	err := mustEmail(t, cfg).Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), `server does not offer STARTTLS and starttls is "required"`) {
		t.Fatalf("got %v", err)
	}
	if be.sessions != 1 || len(be.delivered) != 0 {
		t.Errorf("sessions=%d delivered=%d, want 1 and 0", be.sessions, len(be.delivered))
	}
	// Opportunistic sends in plain text to this loopback server.
	cfg.StartTLS = StartTLSOpportunistic
	if err := mustEmail(t, cfg).Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
}

func TestEmail451Retried(t *testing.T) {
	be := &smtpBackend{dataReplies: []error{&smtpd.SMTPError{Code: 451, EnhancedCode: smtpd.EnhancedCode{4, 3, 0}, Message: "try again later"}}}
	port := startSMTP(t, be, nil)
	if err := mustEmail(t, loopbackEmail(port)).Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if be.sessions != 2 || len(be.delivered) != 1 {
		t.Errorf("sessions=%d delivered=%d, want 2 and 1", be.sessions, len(be.delivered))
	}
}

func TestEmail4xxGivesUp(t *testing.T) {
	busy := &smtpd.SMTPError{Code: 421, EnhancedCode: smtpd.EnhancedCode{4, 7, 0}, Message: "busy"}
	be := &smtpBackend{dataReplies: []error{busy, busy, busy}}
	port := startSMTP(t, be, nil)
	cfg := loopbackEmail(port)
	cfg.MaxAttempts = 3
	err := mustEmail(t, cfg).Notify(context.Background(), testAlert())
	var se *SMTPError
	if !errors.As(err, &se) || se.Code != 421 || !se.Temporary() || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("got %v", err)
	}
	if be.sessions != 3 {
		t.Errorf("sessions=%d, want 3", be.sessions)
	}
}

func TestEmail550NotRetried(t *testing.T) {
	be := &smtpBackend{rcptReply: &smtpd.SMTPError{Code: 550, EnhancedCode: smtpd.EnhancedCode{5, 1, 1}, Message: "no such user"}}
	port := startSMTP(t, be, nil)
	err := mustEmail(t, loopbackEmail(port)).Notify(context.Background(), testAlert())
	var se *SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.Temporary() {
		t.Fatalf("got %v, want SMTP 550", err)
	}
	if want := "RCPT TO <ops@example.com>: SMTP 550 5.1.1 no such user"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	if be.sessions != 1 {
		t.Errorf("sessions=%d, want 1 (no retry on 550)", be.sessions)
	}
}

func TestEmailConnectionRefusedRetriedAndCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := loopbackEmail(port)
	cfg.MaxAttempts = 2
	err = mustEmail(t, cfg).Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts: connect:") {
		t.Fatalf("got %v", err)
	}

	// A server that greets but never answers: the attempt timeout fires,
	// and cancelling ctx stops the whole delivery at once.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	cfg = loopbackEmail(silent.Addr().(*net.TCPAddr).Port)
	cfg.Timeout, cfg.MaxAttempts = 50*time.Millisecond, 2
	err = mustEmail(t, cfg).Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "greeting: timed out after 50ms") {
		t.Fatalf("got %v", err)
	}
	cfg.Timeout, cfg.MaxAttempts = 10*time.Second, 5
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = mustEmail(t, cfg).Notify(ctx, testAlert())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestEmailConfigValidate(t *testing.T) {
	good := EmailConfig{Host: "smtp.example.com", From: "a@example.com", To: []string{"b@example.com"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "127.1.2.3", "::1"} {
		c := good
		c.Host, c.StartTLS = h, StartTLSNone
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	for _, tc := range []struct {
		mod  func(*EmailConfig)
		want []string
	}{
		{func(c *EmailConfig) { c.StartTLS = StartTLSNone }, []string{
			`starttls: "none" is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1), not "smtp.example.com"`,
		}},
		{func(c *EmailConfig) { c.StartTLS = "yes" }, []string{`starttls: must be "required", "opportunistic" or "none", got "yes"`}},
		{func(c *EmailConfig) { c.Host = "" }, []string{"host: is required"}},
		{func(c *EmailConfig) { c.Host = "smtp.example.com:587" }, []string{`host: "smtp.example.com:587" must not include a port: set port`}},
		{func(c *EmailConfig) { c.Port = 70000 }, []string{"port: must be 1-65535 (0 means 587), got 70000"}},
		{func(c *EmailConfig) { c.Port = 465 }, []string{"port: 465 is implicit TLS (SMTPS), which is not supported: use 587 with starttls"}},
		{func(c *EmailConfig) { c.Username = "u" }, []string{
			"password: is required when username is set (read it from an environment variable or a secret manager)",
		}},
		{func(c *EmailConfig) { c.Password = "p" }, []string{"username: is required when password is set"}},
		{func(c *EmailConfig) { c.From = "not an address" }, []string{
			`from: "not an address" is not a valid email address: mail: no angle-addr`,
		}},
		{func(c *EmailConfig) { c.To = nil }, []string{"to: needs at least one recipient"}},
		{func(c *EmailConfig) { c.To = []string{"b@example.com", "x@y\r\nBcc: z@y"} }, []string{
			"to[1]: contains a control character (CR, LF, ...)",
		}},
		{func(c *EmailConfig) { c.MaxAttempts = -2 }, []string{"max_attempts: must be >= 0 (0 means 5), got -2"}},
	} {
		c := good
		c.To = append([]string(nil), good.To...)
		tc.mod(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%v: no error", c)
			continue
		}
		var got []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			got = append(got, e.Error())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c, diff)
		}
	}
}

func TestEmailConfigStringMasksPassword(t *testing.T) {
	c := EmailConfig{Host: "smtp.example.com", Username: "u", Password: "hunter2-secret", From: "a@example.com", To: []string{"b@example.com"}}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(&c)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("%q leaks the password", s)
		}
	}
	e := mustEmail(t, c)
	if s := e.String(); s != "email smtp://smtp.example.com:587" {
		t.Errorf("String() = %q", s)
	}
	c.Name = "ops-mail"
	if s := mustEmail(t, c).String(); s != `email "ops-mail" (smtp://smtp.example.com:587)` {
		t.Errorf("String() = %q", s)
	}
	c.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := NewEmail(c); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing CA file: %v", err)
	}
}
