package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickbeam/tickbeam"
)

func testAlert() tickbeam.Alert {
	return tickbeam.Alert{
		AlertID:    "change_pct-AAPL-20260302T143000Z",
		Rule:       "change_pct",
		Symbol:     "AAPL",
		Severity:   tickbeam.Warning,
		EventTime:  time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC),
		DetectedAt: time.Date(2026, 3, 2, 14, 30, 1, 500_000_000, time.UTC),
		Value:      5.2,
		Threshold:  5,
		Message:    "AAPL +5.2% vs previous close",
		Labels:     []tickbeam.Attribute{{Key: "venue", Value: "XNAS"}, {Key: "direction", Value: "up"}},
	}
}

// hookServer is an httptest.Server that answers each request with the next
// status from statuses (the last one repeats) and records what it got.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []recorded
	statuses []int
	headers  []http.Header // response headers per attempt (optional)
	attempts atomic.Int32
	onReq    func(n int, r *http.Request)
}

type recorded struct {
	header http.Header
	body   []byte
	method string
}

func newHookServer(t *testing.T, statuses ...int) *hookServer {
	t.Helper()
	h := &hookServer{statuses: statuses}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(h.attempts.Add(1))
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, recorded{header: r.Header.Clone(), body: body, method: r.Method})
		h.mu.Unlock()
		if h.onReq != nil {
			h.onReq(n, r)
		}
		i := min(n-1, len(h.statuses)-1)
		if i < len(h.headers) {
			for k, v := range h.headers[i] {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(h.statuses[i])
		fmt.Fprintf(w, "attempt %d", n)
	}))
	t.Cleanup(h.Close)
	return h
}

func fastRetry(cfg WebhookConfig) WebhookConfig {
	cfg.InitialBackoff = time.Millisecond
	cfg.MaxBackoff = 5 * time.Millisecond
	return cfg
}

func mustWebhook(t *testing.T, cfg WebhookConfig) *Webhook {
	t.Helper()
	w, err := NewWebhook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookDeliversSignedJSON(t *testing.T) {
	srv := newHookServer(t, http.StatusNoContent)
	const secret = "s3cr3t-hmac-key"
	w := mustWebhook(t, WebhookConfig{
		URL:     srv.URL + "/hooks/tickbeam",
		Secret:  secret,
		Headers: map[string]string{"Authorization": "Bearer abc", "X-Team": "markets"},
	})
	a := testAlert()
	a.EventTime = a.EventTime.In(time.FixedZone("KST", 9*3600)) // sent as UTC
	if err := w.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(srv.reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(srv.reqs))
	}
	r := srv.reqs[0]
	if r.method != http.MethodPost {
		t.Errorf("method %s, want POST", r.method)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	want := map[string]any{
		"alert_id":    "change_pct-AAPL-20260302T143000Z",
		"rule":        "change_pct",
		"symbol":      "AAPL",
		"severity":    "WARNING",
		"event_time":  "2026-03-02T14:30:00Z",
		"detected_at": "2026-03-02T14:30:01.5Z",
		"value":       5.2,
		"threshold":   5.0,
		"message":     "AAPL +5.2% vs previous close",
		"labels": []any{
			map[string]any{"key": "venue", "value": "XNAS"},
			map[string]any{"key": "direction", "value": "up"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
	for k, v := range map[string]string{
		"Content-Type":    "application/json",
		"Idempotency-Key": a.AlertID,
		"Authorization":   "Bearer abc",
		"X-Team":          "markets",
	} {
		if g := r.header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	ts, sig := r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature)
	if err := VerifySignature(secret, ts, string(r.body), sig); err != nil {
		t.Errorf("VerifySignature: %v (ts=%q sig=%q)", err, ts, sig)
	}
	if err := CheckTimestamp(ts, time.Now(), time.Minute); err != nil {
		t.Error(err)
	}
	if err := VerifySignature("other-secret", ts, string(r.body), sig); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("wrong secret: got %v, want ErrSignatureMismatch", err)
	}
	if err := VerifySignature(secret, ts, string(r.body)+" ", sig); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("tampered body: got %v, want ErrSignatureMismatch", err)
	}
	if err := VerifySignature(secret, "1", string(r.body), sig); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("other timestamp: got %v, want ErrSignatureMismatch", err)
	}
}

func TestWebhookNoSecretNoSignature(t *testing.T) {
	srv := newHookServer(t, http.StatusOK)
	w := mustWebhook(t, WebhookConfig{URL: srv.URL})
	if err := w.Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if s := srv.reqs[0].header.Get(HeaderSignature); s != "" {
		t.Errorf("signature sent without a secret: %q", s)
	}
	if srv.reqs[0].header.Get(HeaderTimestamp) == "" {
		t.Error("no timestamp header")
	}
}

func TestSignatureRecipe(t *testing.T) {
	// Fixed vector, reproducible with:
	//   printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
	got := Signature("key", "1700000000", []byte(`{"a":1}`))
	const want = "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
	if got != want {
		t.Fatalf("Signature = %q, want %q", got, want)
	}
	if err := VerifySignature("key", "1700000000", `{"a":1}`, got); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "sha1=00", "sha256=zz", "sha256=abcd"} {
		if err := VerifySignature("key", "1700000000", `{"a":1}`, bad); err == nil || errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("header %q: got %v, want a malformed-header error", bad, err)
		}
	}
	if err := VerifySignature("", "1700000000", `{"a":1}`, got); err == nil {
		t.Error("empty secret verified")
	}
	now := time.Unix(1700000000, 0)
	if err := CheckTimestamp("1700000000", now.Add(4*time.Minute), 5*time.Minute); err != nil {
		t.Error(err)
	}
	if err := CheckTimestamp("1700000000", now.Add(6*time.Minute), 5*time.Minute); err == nil {
		t.Error("stale timestamp accepted")
	}
	if err := CheckTimestamp("1700000000", now.Add(-6*time.Minute), 5*time.Minute); err == nil {
		t.Error("future timestamp accepted")
	}
	if err := CheckTimestamp("x", now, time.Minute); err == nil {
		t.Error("non-numeric timestamp accepted")
	}
}

func TestWebhookRetries503ThenDelivers(t *testing.T) {
	srv := newHookServer(t, 503, 503, 200)
	w := mustWebhook(t, fastRetry(WebhookConfig{URL: srv.URL, Secret: "k"}))
	if err := w.Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if n := srv.attempts.Load(); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
	for i, r := range srv.reqs {
		if k := r.header.Get(HeaderIdempotency); k != testAlert().AlertID {
			t.Errorf("attempt %d: Idempotency-Key %q", i+1, k)
		}
		if err := VerifySignature("k", r.header.Get(HeaderTimestamp), string(r.body), r.header.Get(HeaderSignature)); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
	}
}

func TestWebhookRetriableStatusesGiveUp(t *testing.T) {
	for _, code := range []int{408, 429, 500, 502} {
		srv := newHookServer(t, code)
		w := mustWebhook(t, fastRetry(WebhookConfig{URL: srv.URL, MaxAttempts: 3}))
		err := w.Notify(context.Background(), testAlert())
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != code {
			t.Errorf("%d: got %v, want a StatusError %d", code, err, code)
		}
		if n := srv.attempts.Load(); n != 3 {
			t.Errorf("%d: attempts = %d, want 3", code, n)
		}
		if err != nil && !strings.Contains(err.Error(), "gave up after 3 attempts") {
			t.Errorf("%d: error %q does not count the attempts", code, err)
		}
	}
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	srv := newHookServer(t, 429, 200)
	srv.headers = []http.Header{{"Retry-After": {"1"}}}
	w := mustWebhook(t, WebhookConfig{URL: srv.URL, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Second})
	start := time.Now()
	if err := w.Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 950*time.Millisecond {
		t.Errorf("retried after %v, want >= 1s (Retry-After: 1)", el)
	}
	if n := srv.attempts.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}

func TestWebhookRetryAfterCappedByMaxBackoff(t *testing.T) {
	srv := newHookServer(t, 503, 200)
	srv.headers = []http.Header{{"Retry-After": {"30"}}}
	w := mustWebhook(t, WebhookConfig{URL: srv.URL, InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	start := time.Now()
	if err := w.Notify(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v: Retry-After was not capped by MaxBackoff", el)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"2":                             2 * time.Second,
		"soon":                          0,
		"Mon, 02 Mar 2026 12:00:07 GMT": 7 * time.Second,
		"Mon, 02 Mar 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestWebhook4xxNotRetried(t *testing.T) {
	srv := newHookServer(t, http.StatusBadRequest)
	w := mustWebhook(t, fastRetry(WebhookConfig{URL: srv.URL}))
	err := w.Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
		t.Fatalf("got %v, want an error naming 400 Bad Request", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || se.Body != "attempt 1" {
		t.Errorf("StatusError = %+v", se)
	}
	if n := srv.attempts.Load(); n != 1 {
		t.Errorf("attempts = %d, want 1 (no retry on 400)", n)
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	srv := newHookServer(t, http.StatusTemporaryRedirect)
	srv.headers = []http.Header{{"Location": {"http://127.0.0.1:1/elsewhere"}}}
	w := mustWebhook(t, fastRetry(WebhookConfig{URL: srv.URL}))
	err := w.Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "307") {
		t.Fatalf("got %v, want an error naming 307", err)
	}
	if n := srv.attempts.Load(); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

func TestWebhookTimeout(t *testing.T) {
	srv := newHookServer(t, 200)
	srv.onReq = func(_ int, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}
	w := mustWebhook(t, fastRetry(WebhookConfig{URL: srv.URL, Timeout: 50 * time.Millisecond, MaxAttempts: 2}))
	start := time.Now()
	err := w.Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a timeout error", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
	if n := srv.attempts.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2 (timeouts are retried)", n)
	}
}

func TestWebhookContextCancelStopsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newHookServer(t, 503)
	srv.onReq = func(n int, _ *http.Request) {
		if n == 2 {
			cancel()
		}
	}
	w := mustWebhook(t, WebhookConfig{URL: srv.URL, MaxAttempts: 100, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	start := time.Now()
	err := w.Notify(ctx, testAlert())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	time.Sleep(60 * time.Millisecond) // a stray retry would land here
	if n := srv.attempts.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}

	// A deadline shorter than the next backoff gives up at once.
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	srv2 := newHookServer(t, 503)
	w2 := mustWebhook(t, WebhookConfig{URL: srv2.URL, InitialBackoff: 5 * time.Second, MaxBackoff: 5 * time.Second})
	start = time.Now()
	err = w2.Notify(dctx, testAlert())
	if err == nil || !strings.Contains(err.Error(), "would pass the context deadline") {
		t.Errorf("got %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %v", el)
	}
}

func TestWebhookNetworkErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	w := mustWebhook(t, fastRetry(WebhookConfig{URL: url, MaxAttempts: 3}))
	err := w.Notify(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("got %v", err)
	}
}

func TestWebhookErrorsRedactSecrets(t *testing.T) {
	const (
		secret = "hmac-SECRET-value"
		token  = "QUERYTOKEN123"
		path   = "PATHTOKEN456"
		pass   = "USERPASS789"
		hval   = "HEADERVALUE000"
	)
	srv := newHookServer(t, 400)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, base := range []string{srv.URL, downURL} {
		raw := strings.Replace(base, "http://", "http://user:"+pass+"@", 1) + "/services/" + path + "?token=" + token
		cfg := fastRetry(WebhookConfig{Name: "ops", URL: raw, Secret: secret, MaxAttempts: 2, Headers: map[string]string{"Authorization": hval}})
		w := mustWebhook(t, cfg)
		err := w.Notify(context.Background(), testAlert())
		if err == nil {
			t.Fatal("no error")
		}
		texts := []string{err.Error(), w.String(), cfg.String(), fmt.Sprintf("%v|%+v|%#v", cfg, cfg, cfg)}
		for _, s := range texts {
			for _, leak := range []string{secret, token, path, pass, hval} {
				if strings.Contains(s, leak) {
					t.Errorf("%q leaks %q", s, leak)
				}
			}
		}
		if !strings.Contains(err.Error(), `webhook "ops" (http://127.0.0.1:`) {
			t.Errorf("error %q does not name the webhook", err)
		}
	}
	// Invalid configs must not echo the URL either.
	_, err := NewWebhook(WebhookConfig{URL: "ftp://x/" + token})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("got %v", err)
	}
	_, err = NewWebhook(WebhookConfig{URL: "http://[::1" + token})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("got %v", err)
	}
}

func TestWebhookConfigValidate(t *testing.T) {
	ok := WebhookConfig{URL: "https://hooks.example.com/x?token=1"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		cfg  WebhookConfig
		want []string
	}{
		{WebhookConfig{}, []string{"url: is required"}},
		{WebhookConfig{URL: "ftp://example.com/x"}, []string{`url: scheme must be http or https, got "ftp"`}},
		{WebhookConfig{URL: "/relative"}, []string{"url: must be absolute with scheme http or https"}},
		{WebhookConfig{URL: "https:///nohost"}, []string{"url: has no host"}},
		{WebhookConfig{URL: "https://h", MaxAttempts: -1, Timeout: -1}, []string{
			"max_attempts: must be >= 0 (0 means 5), got -1",
			"timeout: must be >= 0 (0 means the default), got -1ns",
		}},
		{WebhookConfig{URL: "https://h", InitialBackoff: time.Second, MaxBackoff: time.Millisecond}, []string{
			"initial_backoff: 1s is more than max_backoff 1ms",
		}},
		{WebhookConfig{URL: "https://h", Headers: map[string]string{
			"idempotency-key": "x", "Bad Name": "x", "X-Ok": "a\r\nX-Evil: 1",
		}}, []string{
			`headers: "Bad Name" is not a valid header name`,
			`headers["X-Ok"]: value contains a control character (CR, LF or NUL)`,
			`headers["idempotency-key"]: is set by tickbeam and cannot be overridden`,
		}},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Errorf("%v: no error", tc.cfg)
			continue
		}
		var got []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var fe *FieldError
			if !errors.As(e, &fe) {
				t.Errorf("%v is not a *FieldError", e)
			}
			got = append(got, e.Error())
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%v (-want +got):\n%s", tc.cfg, d)
		}
	}
}

func TestWebhookConcurrentUse(t *testing.T) {
	srv := newHookServer(t, 200)
	w := mustWebhook(t, WebhookConfig{URL: srv.URL, Secret: "k"})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			a := testAlert()
			a.AlertID = fmt.Sprintf("id-%d", i)
			if err := w.Notify(context.Background(), a); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := srv.attempts.Load(); n != 16 {
		t.Errorf("attempts = %d, want 16", n)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	p := withDefaults(0, 0, 0)
	for n, want := range map[int]time.Duration{1: 200 * time.Millisecond, 2: 400 * time.Millisecond, 6: 6400 * time.Millisecond, 7: 10 * time.Second, 40: 10 * time.Second} {
		for range 50 {
			if d := p.backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
}
