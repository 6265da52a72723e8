package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/internal/optcheck"
	"github.com/tickbeam/tickbeam/internal/outage"
	"github.com/tickbeam/tickbeam/notify"
)

var (
	cNotified     = beam.NewCounter("tickbeam/alerts", "notified")      // (alert, notifier) deliveries that succeeded
	cNotifyFailed = beam.NewCounter("tickbeam/alerts", "notify_failed") // (alert, notifier) deliveries that failed: one dead letter each
	cNotifyDown   = beam.NewCounter("tickbeam/alerts", "notify_down")   // of those, not tried: the notifier was taken for down
)

// DefaultDownFor is DeliverOptions.DownFor's default.
const DefaultDownFor = time.Minute

var alertType = reflect.TypeOf(tickbeam.Alert{})

func init() {
	register.DoFn4x1[context.Context, tickbeam.Alert, func(tickbeam.Alert), func(tickbeam.DeadLetter), error](&deliverFn{})
	register.Emitter1[tickbeam.Alert]()
	register.Emitter1[tickbeam.DeadLetter]()
}

// DeliverOptions tune Deliver. The zero value is the default. It holds no
// secret: those are read from the environment by the workers.
type DeliverOptions struct {
	// Timeout bounds the delivery of one alert to one notifier, retries
	// included; when it passes, that delivery fails (a dead letter). 0:
	// only the notifiers' own bounds (per-attempt timeout × max_attempts,
	// plus backoff).
	Timeout time.Duration
	// DownFor is how long a notifier is taken for down after a delivery to
	// it failed for want of a receiver: timeouts, refused or cut
	// connections, HTTP 5xx, 408 or 429, SMTP 4xx, once its retries ran
	// out. Meanwhile its deliveries fail at once, as dead letters that say
	// so, instead of each waiting out the retries: a receiver that is down
	// or hangs costs one retry schedule per DownFor, not one per alert, and
	// does not hold the pipeline back. The first delivery after DownFor
	// tries again, alone. Default 1m; < 0: never taken for down.
	DownFor time.Duration
}

// Validate reports a negative Timeout. Any DownFor is valid (0: the
// default, < 0: never taken for down).
func (o DeliverOptions) Validate() error {
	return optcheck.NonNegative("alerts", optcheck.F("DeliverOptions.Timeout", o.Timeout))
}

// Deliver sends each alert of PCollection<tickbeam.Alert> to the notifiers
// its rule (Alert.Rule, looked up in rs) names in notify:, and returns
//
//   - delivered, PCollection<tickbeam.Alert>: the alerts every notifier of
//     their rule accepted, and the alerts with nothing to notify (their
//     rule names no notifier, or is not in rs), untouched;
//   - failed, PCollection<tickbeam.DeadLetter>: one dead letter per
//     notifier that failed for an alert (stage tickbeam.StageNotify, source
//     the notifier name, payload the alert's JSON as notify.EncodeAlert
//     writes it, attributes alert_id, rule and symbol, error_message the
//     notifier's error, timestamp the time of the failure).
//
// Each delivery is bounded by its notifier's retries (max_attempts, each
// within timeout) and by Timeout; a notifier that fails for want of a
// receiver is taken for down for DownFor (see DeliverOptions), with one log
// line when it goes down and one when it is back.
//
// An alert goes to delivered or to failed, never both: with two notifiers
// of which one fails, the other did get it, and failed holds one dead
// letter, for the failing one. Both outputs keep the input's windows and
// timestamps. An alert's notifiers are called concurrently, with the
// bundle's context; a cancelled bundle fails (and is retried by the runner)
// instead of dead-lettering. Delivery is at least once: a retried bundle
// sends again, with the same Idempotency-Key (webhooks) and Message-ID
// (email), both derived from alert_id.
//
// Secrets never enter the pipeline: the DoFn carries the notifiers'
// configs without Secret and Password, with the names of their environment
// variables (secret_env, password_env), and builds the notifiers in Setup
// from the workers' environment, failing Setup when a variable is empty.
// Deliver checks the same first, in the launching process's environment,
// so a missing secret fails at construction; only the notifiers some rule
// names are built and checked. A NamedWebhook with Config.Secret or a
// NamedEmail with Config.Password set (possible in a RuleSet built in Go) is
// an error: name an environment variable instead. Everything else of the
// configs (URL, headers, hosts) travels in the graph like the rules file.
//
// Secrets never leave it either: a secret a receiver echoes back (say an
// SMTP server quoting the password it refused) is blanked out of dead
// letters and log lines.
//
// Beam counters tickbeam/alerts.notified and notify_failed count
// successful and failed (alert, notifier) deliveries, notify_down the
// failed ones not tried because their notifier was taken for down.
//
// Deliver panics on invalid arguments (no rule set, alerts not a
// PCollection<tickbeam.Alert>, options DeliverOptions.Validate refuses, a
// rule naming an unknown notifier, a secret set in the RuleSet or missing
// from the environment), as Beam transforms do at construction; TryDeliver
// returns the error instead.
func Deliver(s beam.Scope, alerts beam.PCollection, rs *RuleSet, opts DeliverOptions) (delivered, failed beam.PCollection) {
	delivered, failed, err := TryDeliver(s, alerts, rs, opts)
	if err != nil {
		panic(err)
	}
	return delivered, failed
}

// TryDeliver is Deliver returning invalid arguments as an error instead of
// panicking.
func TryDeliver(s beam.Scope, alerts beam.PCollection, rs *RuleSet, opts DeliverOptions) (delivered, failed beam.PCollection, err error) {
	fn, err := newDeliverFn(rs, opts)
	if err != nil {
		return delivered, failed, err
	}
	if !alerts.IsValid() {
		return delivered, failed, errors.New("alerts.Deliver: no alerts input")
	}
	if got := alerts.Type().Type(); got != alertType {
		return delivered, failed, fmt.Errorf("alerts.Deliver: alerts must be a PCollection<%v>, got PCollection<%v>", alertType, got)
	}
	// Fail fast, in the launcher, on what Setup would fail on in a worker.
	if _, err := fn.ruleSet().Notifiers(os.Getenv); err != nil {
		return delivered, failed, fmt.Errorf("alerts.Deliver: %w", err)
	}
	s = s.Scope("alerts.Deliver")
	delivered, failed = beam.ParDo2(s, fn, alerts)
	return delivered, failed, nil
}

// newDeliverFn extracts from rs the plain, secret-free data the DoFn needs.
func newDeliverFn(rs *RuleSet, opts DeliverOptions) (*deliverFn, error) {
	if rs == nil {
		return nil, errors.New("alerts.Deliver: no rule set")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.DownFor == 0 {
		opts.DownFor = DefaultDownFor
	}
	hooks := map[string]NamedWebhook{}
	for _, w := range rs.Webhooks {
		if w.Config.Secret != "" {
			return nil, fmt.Errorf("alerts.Deliver: webhook %s: Config.Secret is set: secrets must not enter the pipeline graph; name an environment variable in SecretEnv", w.Config.Name)
		}
		hooks[w.Config.Name] = w
	}
	emails := map[string]NamedEmail{}
	for _, e := range rs.Emails {
		if e.Config.Password != "" {
			return nil, fmt.Errorf("alerts.Deliver: email %s: Config.Password is set: secrets must not enter the pipeline graph; name an environment variable in PasswordEnv", e.Config.Name)
		}
		emails[e.Config.Name] = e
	}
	fn := &deliverFn{Rules: map[string][]string{}, Timeout: opts.Timeout, DownFor: opts.DownFor, ID: outage.NewID()}
	used := map[string]bool{}
	for _, r := range rs.Rules {
		seen := map[string]bool{}
		for _, n := range r.Notify {
			if seen[n] {
				continue
			}
			seen[n] = true
			w, isHook := hooks[n]
			e, isEmail := emails[n]
			if !isHook && !isEmail {
				return nil, fmt.Errorf("alerts.Deliver: rule %s: unknown notifier %q", r.Name, n)
			}
			fn.Rules[r.Name] = append(fn.Rules[r.Name], n)
			if used[n] {
				continue
			}
			used[n] = true
			if isHook {
				fn.Webhooks = append(fn.Webhooks, w)
			} else {
				fn.Emails = append(fn.Emails, e)
			}
		}
	}
	return fn, nil
}

// deliverFn calls an alert's notifiers. Its exported fields are all it
// carries through the graph: no secret among them.
type deliverFn struct {
	Rules    map[string][]string // rule name → notifier names, in notify: order
	Webhooks []NamedWebhook      // the notifiers some rule names, Secret empty
	Emails   []NamedEmail        // likewise, Password empty
	Timeout  time.Duration
	DownFor  time.Duration // < 0: never taken for down
	ID       string        // of this Deliver: its DoFn instances in a process share the notifiers' health

	notifiers map[string]notify.Notifier
	health    map[string]*health
	secrets   *strings.Replacer // blanks the secrets read in Setup
}

func (f *deliverFn) ruleSet() *RuleSet { return &RuleSet{Webhooks: f.Webhooks, Emails: f.Emails} }

// Setup builds the notifiers, reading secrets from the worker's environment.
func (f *deliverFn) Setup() error {
	var blank []string
	ns, err := f.ruleSet().Notifiers(func(name string) string {
		v := os.Getenv(name)
		if v != "" {
			blank = append(blank, v, "[secret from "+name+"]")
		}
		return v
	})
	if err != nil {
		return fmt.Errorf("alerts.Deliver: %w", err)
	}
	f.notifiers = ns
	f.secrets = strings.NewReplacer(blank...)
	f.health = map[string]*health{}
	for name := range ns {
		h, _ := healths.LoadOrStore(f.ID+"/"+name, &health{})
		f.health[name] = h.(*health)
	}
	return nil
}

func (f *deliverFn) ProcessElement(ctx context.Context, a tickbeam.Alert, emitDelivered func(tickbeam.Alert), emitFailed func(tickbeam.DeadLetter)) error {
	names := f.Rules[a.Rule]
	if len(names) == 0 {
		emitDelivered(a)
		return nil
	}
	errs := make([]error, len(names))
	skipped := make([]bool, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		n := f.notifiers[name]
		wg.Go(func() {
			nctx := ctx
			if f.Timeout > 0 {
				var cancel context.CancelFunc
				nctx, cancel = context.WithTimeout(ctx, f.Timeout)
				defer cancel()
			}
			errs[i], skipped[i] = f.notify(nctx, name, n, a)
		})
	}
	wg.Wait()
	// Counters only here: a bundle's metrics are not safe for concurrent use.
	for _, s := range skipped {
		if s {
			cNotifyDown.Inc(ctx, 1)
		}
	}
	failedAny := slices.ContainsFunc(errs, func(err error) bool { return err != nil })
	if err := ctx.Err(); err != nil && failedAny {
		// The bundle is being cancelled: let the runner retry it rather
		// than dead-letter deliveries that were cut short.
		return fmt.Errorf("alerts.Deliver: alert %s: %w", a.AlertID, err)
	}
	var payload []byte
	for i, err := range errs {
		if err == nil {
			cNotified.Inc(ctx, 1)
			continue
		}
		cNotifyFailed.Inc(ctx, 1)
		if payload == nil {
			payload = alertPayload(a)
		}
		attrs := map[string]string{"alert_id": a.AlertID, "rule": a.Rule, "symbol": a.Symbol}
		emitFailed(tickbeam.NewDeadLetter(time.Now(), payload, attrs, tickbeam.StageNotify, names[i], errors.New(f.secrets.Replace(err.Error()))))
	}
	if !failedAny {
		emitDelivered(a)
	}
	return nil
}

// notify delivers a to notifier n, called name, unless n is taken for
// down (skipped).
func (f *deliverFn) notify(ctx context.Context, name string, n notify.Notifier, a tickbeam.Alert) (err error, skipped bool) {
	h := f.health[name]
	if err := h.admit(time.Now()); err != nil {
		return fmt.Errorf("notify: %v: alert %q: %w", n, a.AlertID, err), true
	}
	err = n.Notify(ctx, a)
	if err != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err, false // the bundle is cancelled: says nothing about the receiver
	}
	switch change, since := h.record(time.Now(), err, f.DownFor); change {
	case wentDown:
		log.Warnf(ctx, "alerts.Deliver: %v is down (%s): its alerts become dead letters without a try for %v",
			n, f.secrets.Replace(cause(err).Error()), f.DownFor)
	case cameBack:
		log.Warnf(ctx, "alerts.Deliver: %v is back after %v down", n, since.Round(time.Millisecond))
	}
	return err, false
}

// cause is a notifier's error without the notifier and alert it names.
func cause(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// unreachable reports whether a delivery failed for want of a receiver,
// not because the receiver refused the alert.
func unreachable(err error) bool {
	var se *notify.StatusError
	var me *notify.SMTPError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return se.StatusCode >= 500 || se.StatusCode == http.StatusRequestTimeout || se.StatusCode == http.StatusTooManyRequests
	case errors.As(err, &me):
		return me.Temporary()
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// healths holds the notifiers' health by Deliver ID and notifier name: a
// worker runs many instances of a DoFn, and one retry schedule per DownFor
// is what a receiver that is down should cost the process.
var healths sync.Map

// health says whether a notifier is taken for down. Safe for concurrent use.
type health struct {
	mu      sync.Mutex
	since   time.Time // taken for down since; zero: up
	retryAt time.Time // while down: the first delivery from then on tries
	trying  bool      // while down: that delivery is under way
	last    error     // while down: the failure that took it down
}

type change int

const (
	unchanged change = iota
	wentDown
	cameBack
)

// admit returns nil if a delivery may try now, or why not. Once retryAt
// has passed, one delivery tries and the others keep failing at once until
// its answer.
func (h *health) admit(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.since.IsZero():
		return nil
	case !h.trying && !now.Before(h.retryAt):
		h.trying = true
		return nil
	}
	return fmt.Errorf("not tried: down since %s (%v)", h.since.UTC().Format(time.RFC3339), cause(h.last))
}

// record notes a delivery's result and returns the change it makes, with
// how long the notifier was down when it came back.
func (h *health) record(now time.Time, err error, downFor time.Duration) (change, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trying = false
	down := err != nil && unreachable(err) && downFor > 0
	switch {
	case down && h.since.IsZero():
		h.since, h.retryAt, h.last = now, now.Add(downFor), err
		return wentDown, 0
	case down:
		h.retryAt, h.last = now.Add(downFor), err
	case !h.since.IsZero():
		since := h.since
		h.since, h.last = time.Time{}, nil
		return cameBack, now.Sub(since)
	}
	return unchanged, 0
}

// alertPayload is the dead-letter payload of an alert: its public JSON.
func alertPayload(a tickbeam.Alert) []byte {
	b, err := notify.EncodeAlert(a)
	if err != nil {
		// NaN or infinite floats have no JSON; keep a readable form.
		return fmt.Appendf(nil, "%+v", a)
	}
	return b
}
