// Package notify delivers tickbeam.Alert rows to people and systems: a JSON
// webhook (HMAC-signed, retried with backoff) and email over SMTP.
//
// Every notifier is built from a plain config struct (exported fields only,
// with yaml and json tags, no funcs) so a Beam DoFn can carry the config and
// build the notifier in its Setup:
//
//	cfg := notify.WebhookConfig{URL: "https://hooks.example.com/tickbeam", Secret: secret}
//	w, err := notify.NewWebhook(cfg) // validates; cheap; safe for concurrent use
//	err = w.Notify(ctx, alert)
//
// Webhook, Email and Multi are safe for concurrent use by many goroutines.
// Nothing in this package logs; errors never contain a secret, a password, a
// header value from the config or a webhook URL's path, query or userinfo
// (webhook URLs often carry tokens there): a webhook is named by its Name
// and its scheme://host only.
//
// # Webhook requests
//
// Each delivery is an HTTP POST of the alert as JSON (the public schema of
// DESIGN.md §3: alert_id, rule, symbol, severity, event_time, detected_at,
// value, threshold, message, labels; times RFC 3339 in UTC) with these headers:
//
//	Content-Type:          application/json
//	Idempotency-Key:       <alert_id>   (the same on every retry; dedupe on it)
//	X-Tickbeam-Timestamp:  <unix seconds when this attempt was sent>
//	X-Tickbeam-Signature:  sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>   (only with a Secret)
//
// Any 2xx is success. Network errors, timeouts, 408, 429 and 5xx are retried
// with jittered exponential backoff (Retry-After, in seconds or as an HTTP
// date, is honoured up to MaxBackoff); other statuses, 3xx included
// (redirects are not followed), fail at once with a *StatusError.
//
// # Verifying a webhook (receivers)
//
//  1. Read the raw request body bytes; do not re-encode the JSON.
//  2. Take the X-Tickbeam-Timestamp header t and reject the request if t is
//     more than a few minutes from your clock (CheckTimestamp does this), so
//     a captured request cannot be replayed later.
//  3. Compute HMAC-SHA256 with the shared secret over the bytes of
//     t + "." + body, hex-encode it in lower case, prefix "sha256=", and
//     compare it with X-Tickbeam-Signature in constant time
//     (VerifySignature does step 3 for Go receivers).
//  4. Deduplicate on Idempotency-Key (= alert_id): a retried delivery whose
//     first attempt did arrive carries the same key and body, with a newer
//     timestamp and signature.
//
// In a shell: printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET".
//
// # Email
//
// Email sends one message per alert to every recipient, over SMTP with
// STARTTLS ("required" by default; "opportunistic"; "none" only for loopback
// hosts). AUTH PLAIN is used when Username is set, and only over TLS or to a
// loopback host (net/smtp refuses otherwise). The Message-ID is derived from
// the alert_id, so a retried send can be recognised as the same message.
// 4xx SMTP replies and network errors are retried; 5xx replies are not.
//
// Password (like Webhook Secret) is read from the config only: fill it from
// an environment variable or a secret manager when you build the config,
// never from a command-line flag default or a file under version control.
// The configs' String methods mask both, so printing a config with %v or %+v
// is safe.
package notify
