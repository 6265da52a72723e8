package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Webhook request headers.
const (
	HeaderSignature   = "X-Tickbeam-Signature"
	HeaderTimestamp   = "X-Tickbeam-Timestamp"
	HeaderIdempotency = "Idempotency-Key"
)

// DefaultWebhookTimeout bounds one webhook attempt when WebhookConfig.Timeout is 0.
const DefaultWebhookTimeout = 10 * time.Second

// WebhookConfig configures a Webhook. Zero durations and MaxAttempts take the
// defaults. It holds only plain exported fields, so it serializes with JSON
// (durations as nanoseconds) and YAML (gopkg.in/yaml.v3 reads "10s").
type WebhookConfig struct {
	// Name identifies this webhook in errors (optional; the URL's
	// scheme://host is used otherwise).
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// URL is the http or https endpoint to POST to. It may carry a token:
	// it is never printed beyond its scheme and host.
	URL string `yaml:"url" json:"url"`
	// Secret keys the HMAC-SHA256 signature header; empty sends none. Fill
	// it from an environment variable or a secret manager, never a flag
	// default.
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"`
	// Timeout bounds each attempt (connect, send and response); default 10s.
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxAttempts counts the first try too; default 5. 1 disables retries.
	MaxAttempts int `yaml:"max_attempts,omitempty" json:"max_attempts,omitempty"`
	// InitialBackoff is the wait after the first failure, doubled after
	// each further one up to MaxBackoff, with jitter; default 200ms.
	InitialBackoff time.Duration `yaml:"initial_backoff,omitempty" json:"initial_backoff,omitempty"`
	// MaxBackoff caps every wait, a server's Retry-After included; default 10s.
	MaxBackoff time.Duration `yaml:"max_backoff,omitempty" json:"max_backoff,omitempty"`
	// Headers are added to every request (for example an Authorization
	// header). They cannot replace Content-Type, Host, Content-Length or the
	// tickbeam headers. Their values are never printed.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

var reservedHeaders = map[string]bool{
	"Content-Type":      true,
	"Content-Length":    true,
	"Host":              true,
	"Transfer-Encoding": true,
	HeaderSignature:     true,
	HeaderTimestamp:     true,
	HeaderIdempotency:   true,
}

// Validate reports every problem in the config, as *FieldError values joined
// with errors.Join. Messages never quote the URL, secret or header values.
func (c WebhookConfig) Validate() error {
	var errs []error
	if _, err := parseWebhookURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, validateRetry(c.MaxAttempts, c.InitialBackoff, c.MaxBackoff, c.Timeout)...)
	for _, k := range sortedKeys(c.Headers) {
		field := "headers[" + strconv.Quote(k) + "]"
		switch {
		case !validHeaderName(k):
			errs = append(errs, fieldErr("headers", "%q is not a valid header name", k))
		case reservedHeaders[http.CanonicalHeaderKey(k)]:
			errs = append(errs, fieldErr(field, "is set by tickbeam and cannot be overridden"))
		case !validHeaderValue(c.Headers[k]):
			errs = append(errs, fieldErr(field, "value contains a control character (CR, LF or NUL)"))
		}
	}
	return errors.Join(errs...)
}

// String describes the config with the secret, the header values and the
// URL's path, query and userinfo left out.
func (c WebhookConfig) String() string {
	u, err := url.Parse(c.URL)
	redacted := "<invalid url>"
	if err == nil {
		redacted = redactURL(u)
	}
	secret := ""
	if c.Secret != "" {
		secret = " secret=<redacted>"
	}
	hdrs := ""
	if len(c.Headers) > 0 {
		hdrs = " headers=[" + strings.Join(sortedKeys(c.Headers), ",") + "]"
	}
	return fmt.Sprintf("WebhookConfig{name=%q url=%s%s%s timeout=%v max_attempts=%d initial_backoff=%v max_backoff=%v}",
		c.Name, redacted, secret, hdrs, c.Timeout, c.MaxAttempts, c.InitialBackoff, c.MaxBackoff)
}

// GoString masks the secret for %#v as String does for %v.
func (c WebhookConfig) GoString() string { return c.String() }

func parseWebhookURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fieldErr("url", "is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the whole URL: do not pass them on.
		return nil, fieldErr("url", "is not a valid URL")
	}
	switch u.Scheme {
	case "http", "https":
	case "":
		return nil, fieldErr("url", "must be absolute with scheme http or https")
	default:
		return nil, fieldErr("url", "scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fieldErr("url", "has no host")
	}
	return u, nil
}

// redactURL keeps scheme://host[:port] and replaces a path, query or
// fragment with "/…": webhook URLs carry tokens in any of them (and in
// userinfo, which is dropped).
func redactURL(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		s += "/…"
	}
	return s
}

// Webhook POSTs alerts as signed JSON. Build it with NewWebhook; it is safe
// for concurrent use.
type Webhook struct {
	cfg      WebhookConfig
	url      string // full URL, never printed
	redacted string
	timeout  time.Duration
	policy   retryPolicy
	client   *http.Client
	now      func() time.Time
}

// sharedTransport pools connections for every Webhook in the process.
var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	return t
})

// NewWebhook validates cfg and returns a Webhook. It does no I/O.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify: invalid webhook config: %w", err)
	}
	u, _ := parseWebhookURL(cfg.URL)
	cfg.Headers = maps.Clone(cfg.Headers) // the caller may change its map later
	w := &Webhook{
		cfg:      cfg,
		url:      cfg.URL,
		redacted: redactURL(u),
		timeout:  cfg.Timeout,
		policy:   withDefaults(cfg.MaxAttempts, cfg.InitialBackoff, cfg.MaxBackoff),
		now:      time.Now,
	}
	if w.timeout <= 0 {
		w.timeout = DefaultWebhookTimeout
	}
	w.client = &http.Client{
		Transport: sharedTransport(),
		// A redirected POST is either turned into a GET or re-sent to a
		// place the config did not name: report the 3xx instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w, nil
}

// String names the webhook without its secret, path or query.
func (w *Webhook) String() string {
	if w.cfg.Name != "" {
		return "webhook " + strconv.Quote(w.cfg.Name) + " (" + w.redacted + ")"
	}
	return "webhook " + w.redacted
}

// StatusError is a webhook response outside 2xx that was not retried or was
// the last one seen.
type StatusError struct {
	StatusCode int
	Status     string // e.g. "400 Bad Request"
	// Body is the start of the response body (up to 512 bytes), kept for
	// callers; Error does not print it.
	Body string
}

func (e *StatusError) Error() string {
	s := e.Status
	if s == "" {
		s = strconv.Itoa(e.StatusCode)
	}
	return "HTTP status " + s
}

// Notify POSTs the alert, retrying as the package doc describes.
func (w *Webhook) Notify(ctx context.Context, a tickbeam.Alert) error {
	body, err := EncodeAlert(a)
	if err != nil {
		return fmt.Errorf("notify: %s: alert %q: %w", w, a.AlertID, err)
	}
	err = w.policy.run(ctx, func(ctx context.Context) outcome { return w.post(ctx, a.AlertID, body) })
	if err != nil {
		return fmt.Errorf("notify: %s: alert %q: %w", w, a.AlertID, err)
	}
	return nil
}

func (w *Webhook) post(parent context.Context, alertID string, body []byte) outcome {
	ctx, cancel := context.WithTimeout(parent, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return outcome{err: errors.New("cannot build the request")}
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tickbeam-notify")
	req.Header.Set(HeaderTimestamp, ts)
	if w.cfg.Secret != "" {
		req.Header.Set(HeaderSignature, Signature(w.cfg.Secret, ts, body))
	}
	if alertID != "" {
		req.Header.Set(HeaderIdempotency, idempotencyKey(alertID))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return outcome{err: w.transportError(ctx, parent, err), retryable: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return outcome{}
	}
	serr := &StatusError{StatusCode: code, Status: sanitizeLine(resp.Status), Body: string(snippet)}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return outcome{err: serr, retryable: true, after: retryAfter(resp.Header.Get("Retry-After"), w.now())}
	default:
		return outcome{err: serr}
	}
}

// transportError rewrites a client error without the URL that *url.Error
// quotes in full.
func (w *Webhook) transportError(ctx, parent context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctxDone(parent) == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("POST timed out after %v: %w", w.timeout, err)
	}
	return fmt.Errorf("POST failed: %w", err)
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > 24*3600 {
			secs = 24 * 3600
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

func idempotencyKey(id string) string {
	if validHeaderValue(id) && id == strings.TrimSpace(id) && isASCII(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// EncodeAlert renders an alert in the public JSON schema, times in UTC and
// labels as [] rather than null. It is the webhook request body.
func EncodeAlert(a tickbeam.Alert) ([]byte, error) {
	a.EventTime = a.EventTime.UTC()
	a.DetectedAt = a.DetectedAt.UTC()
	if a.Labels == nil {
		a.Labels = []tickbeam.Attribute{}
	}
	return json.Marshal(a)
}

// Signature returns the X-Tickbeam-Signature value for a request:
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Signature(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignatureMismatch is returned by VerifySignature when the header is well
// formed but does not match.
var ErrSignatureMismatch = errors.New("notify: webhook signature does not match")

// VerifySignature checks a received X-Tickbeam-Signature header against the
// raw body and the X-Tickbeam-Timestamp header, in constant time. It does
// not judge the timestamp's age: call CheckTimestamp too.
func VerifySignature(secret, timestamp, body, header string) error {
	if secret == "" {
		return errors.New("notify: no secret to verify the webhook signature with")
	}
	if timestamp == "" {
		return errors.New("notify: missing " + HeaderTimestamp + " header")
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return errors.New("notify: " + HeaderSignature + " header is missing or not of the form sha256=<hex>")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errors.New("notify: " + HeaderSignature + " header is not 64 hex digits after sha256=")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write([]byte(body))
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignatureMismatch
	}
	return nil
}

// CheckTimestamp rejects an X-Tickbeam-Timestamp header that is not unix
// seconds within tolerance of now (in either direction), which stops a
// captured request being replayed later. Five minutes is a usual tolerance.
func CheckTimestamp(timestamp string, now time.Time, tolerance time.Duration) error {
	secs, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return errors.New("notify: " + HeaderTimestamp + " header is not unix seconds")
	}
	skew := now.Sub(time.Unix(secs, 0))
	if skew > tolerance || -skew > tolerance {
		return fmt.Errorf("notify: webhook timestamp is %v away from now, more than the %v allowed", skew.Round(time.Second), tolerance)
	}
	return nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' || c == 0 || (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
