package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tickbeam/tickbeam"
)

// StartTLS modes for EmailConfig.StartTLS.
const (
	// StartTLSRequired fails (without retrying) when the server does not
	// offer STARTTLS; the certificate is verified. The default.
	StartTLSRequired = "required"
	// StartTLSOpportunistic upgrades when the server offers STARTTLS (the
	// certificate is still verified, and a failed upgrade is an error, not
	// a fallback to plain text) and sends in plain text otherwise. AUTH is
	// then refused unless the host is loopback.
	StartTLSOpportunistic = "opportunistic"
	// StartTLSNone never upgrades; allowed only for loopback hosts
	// (localhost, 127.0.0.0/8, ::1), such as a local relay or a test server.
	StartTLSNone = "none"
)

// Email defaults.
const (
	DefaultSMTPPort      = 587
	DefaultEmailTimeout  = 30 * time.Second
	DefaultSubjectPrefix = "[tickbeam]"
)

// EmailConfig configures an Email notifier. Zero values take the defaults.
// It holds only plain exported fields, so it serializes with JSON (durations
// as nanoseconds) and YAML (gopkg.in/yaml.v3 reads "30s").
type EmailConfig struct {
	// Name identifies this notifier in errors (optional).
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Host is the SMTP server's name or IP address, without the port.
	Host string `yaml:"host" json:"host"`
	// Port defaults to 587 (submission with STARTTLS).
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// Username and Password enable AUTH PLAIN, sent only over TLS or to a
	// loopback host. Fill Password from an environment variable or a
	// secret manager when building the config, never from a flag default
	// or a committed file; it is never printed.
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	Password string `yaml:"password,omitempty" json:"password,omitempty"`
	// From is the sender, "alerts@example.com" or "Tickbeam <alerts@example.com>".
	From string `yaml:"from" json:"from"`
	// To lists the recipients (at least one), in the same forms as From.
	To []string `yaml:"to" json:"to"`
	// SubjectPrefix starts every subject; default "[tickbeam]".
	SubjectPrefix string `yaml:"subject_prefix,omitempty" json:"subject_prefix,omitempty"`
	// StartTLS is "required" (default), "opportunistic" or "none".
	StartTLS string `yaml:"starttls,omitempty" json:"starttls,omitempty"`
	// CAFile is a PEM bundle of the CAs that may sign the server's
	// certificate, for private relays; empty uses the system roots.
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// HeloName is the name sent in EHLO; default this host's name when it
	// is fully qualified, else "localhost".
	HeloName string `yaml:"helo_name,omitempty" json:"helo_name,omitempty"`
	// HTML adds a text/html alternative to the plain-text body.
	HTML bool `yaml:"html,omitempty" json:"html,omitempty"`
	// Timeout bounds each attempt (connect to the end of DATA); default 30s.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxAttempts, InitialBackoff and MaxBackoff schedule retries after
	// network errors and 4xx replies, as for WebhookConfig.
	MaxAttempts    int           `yaml:"max_attempts,omitempty" json:"max_attempts,omitempty"`
	InitialBackoff time.Duration `yaml:"initial_backoff,omitempty" json:"initial_backoff,omitempty"`
	MaxBackoff     time.Duration `yaml:"max_backoff,omitempty" json:"max_backoff,omitempty"`
}

// String describes the config with the password masked.
func (c EmailConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=<redacted>"
	}
	return fmt.Sprintf("EmailConfig{name=%q host=%q port=%d username=%q%s from=%q to=%q subject_prefix=%q starttls=%q ca_file=%q helo_name=%q html=%v timeout=%v max_attempts=%d initial_backoff=%v max_backoff=%v}",
		c.Name, c.Host, c.Port, c.Username, pw, c.From, c.To, c.SubjectPrefix, c.StartTLS, c.CAFile, c.HeloName, c.HTML,
		c.Timeout, c.MaxAttempts, c.InitialBackoff, c.MaxBackoff)
}

// GoString masks the password for %#v as String does for %v.
func (c EmailConfig) GoString() string { return c.String() }

// Validate reports every problem in the config, as *FieldError values joined
// with errors.Join. It does no I/O (CAFile is read by NewEmail).
func (c EmailConfig) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	host := strings.TrimSpace(c.Host)
	switch {
	case host == "":
		add(fieldErr("host", "is required"))
	case host != c.Host || strings.ContainsAny(host, " \t\r\n/@"):
		add(fieldErr("host", "%q is not a host name or IP address", sanitizeLine(c.Host)))
	case strings.Contains(host, ":") && net.ParseIP(host) == nil:
		add(fieldErr("host", "%q must not include a port: set port", host))
	}
	if c.Port < 0 || c.Port > 65535 {
		add(fieldErr("port", "must be 1-65535 (0 means %d), got %d", DefaultSMTPPort, c.Port))
	}
	switch c.StartTLS {
	case "", StartTLSRequired, StartTLSOpportunistic:
	case StartTLSNone:
		if host != "" && !isLoopbackHost(host) {
			add(fieldErr("starttls", `"none" is allowed only for a loopback host (localhost, 127.0.0.0/8, ::1), not %q`, host))
		}
	default:
		add(fieldErr("starttls", `must be "required", "opportunistic" or "none", got %q`, sanitizeLine(c.StartTLS)))
	}
	if c.Password != "" && c.Username == "" {
		add(fieldErr("username", "is required when password is set"))
	}
	if c.Username != "" && c.Password == "" {
		add(fieldErr("password", "is required when username is set (read it from an environment variable or a secret manager)"))
	}
	if c.Username != sanitizeLine(c.Username) {
		add(fieldErr("username", "contains a control character"))
	}
	if strings.ContainsAny(c.Password, "\x00\r\n") {
		add(fieldErr("password", "contains NUL, CR or LF"))
	}
	if c.Port == 465 {
		add(fieldErr("port", "465 is implicit TLS (SMTPS), which is not supported: use 587 with starttls"))
	}
	if _, err := parseAddress(c.From); err != nil {
		add(fieldErr("from", "%v", err))
	}
	if len(c.To) == 0 {
		add(fieldErr("to", "needs at least one recipient"))
	}
	for i, to := range c.To {
		if _, err := parseAddress(to); err != nil {
			add(fieldErr(fmt.Sprintf("to[%d]", i), "%v", err))
		}
	}
	if c.SubjectPrefix != sanitizeLine(c.SubjectPrefix) {
		add(fieldErr("subject_prefix", "contains a control character (CR, LF, ...)"))
	}
	if c.HeloName != "" && (strings.ContainsAny(c.HeloName, " \t") || c.HeloName != sanitizeLine(c.HeloName)) {
		add(fieldErr("helo_name", "must be a single host name without spaces or control characters"))
	}
	errs = append(errs, validateRetry(c.MaxAttempts, c.InitialBackoff, c.MaxBackoff, c.Timeout)...)
	return errors.Join(errs...)
}

// parseAddress parses one RFC 5322 address, rejecting control characters
// (header injection) outright.
func parseAddress(s string) (*mail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("is required")
	}
	if s != sanitizeLine(s) {
		return nil, errors.New("contains a control character (CR, LF, ...)")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid email address: %v", s, err)
	}
	if !strings.Contains(a.Address, "@") {
		return nil, fmt.Errorf("%q has no domain", s)
	}
	return a, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Email sends alerts by SMTP. Build it with NewEmail; it is safe for
// concurrent use and opens one connection per Notify.
type Email struct {
	cfg     EmailConfig
	addr    string
	mode    string
	from    *mail.Address
	to      []*mail.Address
	prefix  string
	helo    string
	roots   *x509.CertPool
	timeout time.Duration
	policy  retryPolicy
	now     func() time.Time
}

// NewEmail validates cfg, reads CAFile if set, and returns an Email. It does
// no network I/O.
func NewEmail(cfg EmailConfig) (*Email, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify: invalid email config: %w", err)
	}
	e := &Email{
		cfg:     cfg,
		mode:    cfg.StartTLS,
		prefix:  cfg.SubjectPrefix,
		helo:    cfg.HeloName,
		timeout: cfg.Timeout,
		policy:  withDefaults(cfg.MaxAttempts, cfg.InitialBackoff, cfg.MaxBackoff),
		now:     time.Now,
	}
	port := cfg.Port
	if port == 0 {
		port = DefaultSMTPPort
	}
	e.addr = net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	if e.mode == "" {
		e.mode = StartTLSRequired
	}
	if e.prefix == "" {
		e.prefix = DefaultSubjectPrefix
	}
	if e.timeout <= 0 {
		e.timeout = DefaultEmailTimeout
	}
	if e.helo == "" {
		e.helo = "localhost"
		if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") && h == sanitizeLine(h) && !strings.ContainsAny(h, " \t") {
			e.helo = h
		}
	}
	e.from, _ = parseAddress(cfg.From)
	for _, s := range cfg.To {
		a, _ := parseAddress(s)
		e.to = append(e.to, a)
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notify: invalid email config: ca_file: %w", err)
		}
		e.roots = x509.NewCertPool()
		if !e.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("notify: invalid email config: ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
	}
	return e, nil
}

// String names the notifier and its server, never its credentials.
func (e *Email) String() string {
	if e.cfg.Name != "" {
		return "email " + strconv.Quote(e.cfg.Name) + " (smtp://" + e.addr + ")"
	}
	return "email smtp://" + e.addr
}

// Notify sends one message for the alert to every recipient, retrying as the
// package doc describes. The Date and Message-ID stay the same across retries.
func (e *Email) Notify(ctx context.Context, a tickbeam.Alert) error {
	msg, err := e.message(a, e.now())
	if err != nil {
		return fmt.Errorf("notify: %s: alert %q: %w", e, a.AlertID, err)
	}
	err = e.policy.run(ctx, func(ctx context.Context) outcome { return e.send(ctx, msg) })
	if err != nil {
		return fmt.Errorf("notify: %s: alert %q: %w", e, a.AlertID, err)
	}
	return nil
}

// send runs one SMTP transaction.
func (e *Email) send(parent context.Context, msg []byte) outcome {
	ctx, cancel := context.WithTimeout(parent, e.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return e.classify(ctx, parent, "connect", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Unblock any read or write as soon as ctx is done.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		return e.classify(ctx, parent, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.helo); err != nil {
		return e.classify(ctx, parent, "EHLO", err)
	}
	if e.mode != StartTLSNone {
		if ok, _ := c.Extension("STARTTLS"); ok {
			cfg := &tls.Config{ServerName: e.cfg.Host, RootCAs: e.roots, MinVersion: tls.VersionTLS12}
			if err := c.StartTLS(cfg); err != nil {
				return e.classify(ctx, parent, "STARTTLS", err)
			}
		} else if e.mode == StartTLSRequired {
			return outcome{err: errors.New(`server does not offer STARTTLS and starttls is "required"`)}
		}
	}
	if e.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return outcome{err: errors.New("server does not offer AUTH but a username is configured")}
		}
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, e.cfg.Host)); err != nil {
			return e.classify(ctx, parent, "AUTH", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return e.classify(ctx, parent, "MAIL FROM", err)
	}
	for _, to := range e.to {
		if err := c.Rcpt(to.Address); err != nil {
			return e.classify(ctx, parent, "RCPT TO <"+to.Address+">", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return e.classify(ctx, parent, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return e.classify(ctx, parent, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return e.classify(ctx, parent, "end of DATA", err)
	}
	// The server accepted the message: a failed QUIT must not cause a resend.
	_ = c.Quit()
	return outcome{}
}

// classify turns an SMTP step's error into an outcome: 4xx replies and
// network errors are retried, 5xx replies, TLS verification failures and
// local refusals (such as AUTH over plain text) are not.
func (e *Email) classify(ctx, parent context.Context, step string, err error) outcome {
	var te *textproto.Error
	if errors.As(err, &te) {
		return outcome{
			err:       &SMTPError{Step: step, Code: te.Code, Message: sanitizeLine(te.Msg)},
			retryable: te.Code >= 400 && te.Code < 500,
		}
	}
	var ne net.Error
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	if ctxDone(parent) == nil && timedOut {
		return outcome{err: fmt.Errorf("%s: timed out after %v: %w", step, e.timeout, err), retryable: true}
	}
	var cve *tls.CertificateVerificationError
	var pe textproto.ProtocolError
	switch {
	case errors.As(err, &cve):
		return outcome{err: fmt.Errorf("%s: %w", step, err)}
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &pe):
		return outcome{err: fmt.Errorf("%s: %w", step, err), retryable: true}
	default:
		return outcome{err: fmt.Errorf("%s: %w", step, err)}
	}
}

// SMTPError is an SMTP server's reply to one step of a delivery: 4xx
// replies are retried, 5xx replies are not.
type SMTPError struct {
	Step    string // "MAIL FROM", "RCPT TO <addr>", "DATA", "end of DATA", "AUTH", ...
	Code    int    // e.g. 451, 550
	Message string // the server's text, control characters removed
}

func (e *SMTPError) Error() string {
	return fmt.Sprintf("%s: SMTP %d %s", e.Step, e.Code, e.Message)
}

// Temporary reports whether the reply was a 4xx (transient) one.
func (e *SMTPError) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Subject returns the subject line for an alert, before MIME encoding:
// "[tickbeam] WARNING AAPL change_pct: AAPL +5.2% vs previous close".
func (e *Email) Subject(a tickbeam.Alert) string {
	parts := []string{e.prefix, string(a.Severity), a.Symbol, a.Rule}
	var head []string
	for _, p := range parts {
		if p = strings.Join(strings.Fields(sanitizeLine(p)), " "); p != "" {
			head = append(head, p)
		}
	}
	s := strings.Join(head, " ")
	msg := strings.Join(strings.Fields(sanitizeLine(a.Message)), " ")
	if msg == "" {
		msg = "value " + formatFloat(a.Value) + " vs threshold " + formatFloat(a.Threshold)
	}
	s += ": " + msg
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// message renders the whole RFC 5322 message with CRLF line endings.
func (e *Email) message(a tickbeam.Alert, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", e.from.String())
	tos := make([]string, len(e.to))
	for i, t := range e.to {
		tos[i] = t.String()
	}
	hdr("To", strings.Join(tos, ",\r\n "))
	hdr("Subject", encodeHeaderText(e.Subject(a)))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", messageID(a.AlertID, e.from.Address))
	hdr("MIME-Version", "1.0")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Auto-Response-Suppress", "All")
	if a.AlertID != "" {
		hdr("X-Tickbeam-Alert-Id", idempotencyKey(a.AlertID))
	}
	if sev := strings.Join(strings.Fields(sanitizeLine(string(a.Severity))), " "); sev != "" && isASCII(sev) {
		hdr("X-Tickbeam-Severity", sev)
	}
	text := textBody(a)
	if !e.cfg.HTML {
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	html, err := htmlBody(a)
	if err != nil {
		return nil, err
	}
	mw := multipart.NewWriter(&b)
	hdr("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{{"text/plain; charset=utf-8", text}, {"text/html; charset=utf-8", html}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(pw, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// encodeHeaderText MIME-encodes a one-line header value when it is not
// plain ASCII, folding between encoded words to keep lines short.
func encodeHeaderText(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// messageID derives a stable Message-ID from the alert_id, so every attempt
// (and every re-send of the same alert) carries the same one.
func messageID(alertID, from string) string {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	if !isDotAtom(domain) {
		domain = "tickbeam.invalid"
	}
	local := "tickbeam." + alertID
	if alertID == "" {
		var r [16]byte
		_, _ = rand.Read(r[:])
		local = "tickbeam." + hex.EncodeToString(r[:])
	} else if len(alertID) > 128 || !isDotAtom(alertID) {
		sum := sha256.Sum256([]byte(alertID))
		local = "tickbeam." + hex.EncodeToString(sum[:16])
	}
	return "<" + local + "@" + domain + ">"
}

// isDotAtom reports whether s is a conservative RFC 5322 dot-atom.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_+=", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// bodyText keeps a value's text but not its control characters; newlines
// survive only where keepNewlines is set.
func bodyText(s string, keepNewlines bool) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && keepNewlines, r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return ' '
		}
		return r
	}, s)
}

type bodyField struct{ Key, Value string }

func alertFields(a tickbeam.Alert) []bodyField {
	f := []bodyField{
		{"alert_id", a.AlertID},
		{"rule", a.Rule},
		{"symbol", a.Symbol},
		{"severity", string(a.Severity)},
		{"event_time", a.EventTime.UTC().Format(time.RFC3339Nano)},
		{"detected_at", a.DetectedAt.UTC().Format(time.RFC3339Nano)},
		{"value", formatFloat(a.Value)},
		{"threshold", formatFloat(a.Threshold)},
	}
	for i := range f {
		f[i].Value = bodyText(f[i].Value, false)
	}
	return f
}

func alertLabels(a tickbeam.Alert) []bodyField {
	var f []bodyField
	for _, l := range a.Labels {
		f = append(f, bodyField{bodyText(l.Key, false), bodyText(l.Value, false)})
	}
	return f
}

func textBody(a tickbeam.Alert) string {
	var b strings.Builder
	msg := strings.TrimSpace(bodyText(a.Message, true))
	if msg == "" {
		msg = "(no message)"
	}
	b.WriteString(msg + "\n\n")
	for _, f := range alertFields(a) {
		fmt.Fprintf(&b, "%-12s %s\n", f.Key+":", f.Value)
	}
	labels := alertLabels(a)
	if len(labels) == 0 {
		b.WriteString("labels:      (none)\n")
	} else {
		b.WriteString("labels:\n")
		for _, l := range labels {
			fmt.Fprintf(&b, "  %s: %s\n", l.Key, l.Value)
		}
	}
	b.WriteString("\n-- \nSent by tickbeam. The fields above are the alert's JSON/BigQuery columns; a re-sent alert keeps its alert_id and Message-ID.\n")
	return b.String()
}

var htmlTmpl = template.Must(template.New("alert").Parse(`<!DOCTYPE html>
<html><body>
<p>{{range .Message}}{{.}}<br>
{{end}}</p>
<table>
{{range .Fields}}<tr><th align="left">{{.Key}}</th><td>{{.Value}}</td></tr>
{{end}}{{range .Labels}}<tr><th align="left">label {{.Key}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
<p><small>Sent by tickbeam.</small></p>
</body></html>
`))

func htmlBody(a tickbeam.Alert) (string, error) {
	var b strings.Builder
	err := htmlTmpl.Execute(&b, struct {
		Message        []string
		Fields, Labels []bodyField
	}{strings.Split(strings.TrimSpace(bodyText(a.Message, true)), "\n"), alertFields(a), alertLabels(a)})
	return b.String(), err
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
