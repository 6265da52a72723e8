package alerts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/tickbeam/tickbeam"
	"github.com/tickbeam/tickbeam/notify"
)

var (
	cNotified     = beam.NewCounter("tickbeam/alerts", "notified")      // (alert, notifier) deliveries that succeeded
	cNotifyFailed = beam.NewCounter("tickbeam/alerts", "notify_failed") // (alert, notifier) deliveries that failed: one dead letter each
)

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
// Beam counters tickbeam/alerts.notified and notify_failed count
// successful and failed (alert, notifier) deliveries.
func Deliver(s beam.Scope, rs *RuleSet, alerts beam.PCollection, opts DeliverOptions) (delivered, failed beam.PCollection, err error) {
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
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("alerts.Deliver: Timeout must be >= 0, got %v", opts.Timeout)
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
	fn := &deliverFn{Rules: map[string][]string{}, Timeout: opts.Timeout}
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

	notifiers map[string]notify.Notifier
}

func (f *deliverFn) ruleSet() *RuleSet { return &RuleSet{Webhooks: f.Webhooks, Emails: f.Emails} }

// Setup builds the notifiers, reading secrets from the worker's environment.
func (f *deliverFn) Setup() error {
	ns, err := f.ruleSet().Notifiers(os.Getenv)
	if err != nil {
		return fmt.Errorf("alerts.Deliver: %w", err)
	}
	f.notifiers = ns
	return nil
}

func (f *deliverFn) ProcessElement(ctx context.Context, a tickbeam.Alert, emitDelivered func(tickbeam.Alert), emitFailed func(tickbeam.DeadLetter)) error {
	names := f.Rules[a.Rule]
	if len(names) == 0 {
		emitDelivered(a)
		return nil
	}
	errs := make([]error, len(names))
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
			errs[i] = n.Notify(nctx, a)
		})
	}
	wg.Wait()
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
		emitFailed(tickbeam.NewDeadLetter(time.Now(), payload, attrs, tickbeam.StageNotify, names[i], err))
	}
	if !failedAny {
		emitDelivered(a)
	}
	return nil
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
