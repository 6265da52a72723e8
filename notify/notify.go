package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tickbeam/tickbeam"
)

// Notifier delivers one alert. Implementations are safe for concurrent use.
// Notify returns only once the alert was delivered, delivery failed for good,
// or ctx was done.
type Notifier interface {
	Notify(ctx context.Context, a tickbeam.Alert) error
}

// Multi fans an alert out to every notifier concurrently and waits for all
// of them. Its error joins (errors.Join) one error per failed notifier, each
// naming that notifier by position and, when it implements fmt.Stringer, by
// its String (Webhook and Email do); nil entries are skipped.
type Multi []Notifier

// Notify implements Notifier.
func (m Multi) Notify(ctx context.Context, a tickbeam.Alert) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, n := range m {
		if n == nil {
			continue
		}
		wg.Go(func() {
			if err := n.Notify(ctx, a); err != nil {
				errs[i] = fmt.Errorf("notifier %d of %d (%s) failed: %w", i+1, len(m), describe(n), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func describe(n Notifier) string {
	if s, ok := n.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", n)
}

// FieldError is one problem found by a config's Validate, naming the field by
// its yaml/json key (for example "url" or "to[1]"). Validate returns these
// joined with errors.Join; a caller that knows where each key sits in a file
// can walk them with errors.As or the Unwrap() []error method.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// retryPolicy is the retry schedule shared by the notifiers.
type retryPolicy struct {
	maxAttempts int
	initial     time.Duration
	max         time.Duration
}

// backoff returns the wait after the n-th failed attempt (n >= 1):
// initial*2^(n-1) capped at max, jittered uniformly into [d/2, d].
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.initial
	for i := 1; i < n && d < p.max; i++ {
		d *= 2
	}
	d = min(d, p.max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// outcome is what one delivery attempt reports to run.
type outcome struct {
	err       error
	retryable bool
	// after is a server-requested wait (Retry-After); 0 means use backoff.
	after time.Duration
}

// run calls attempt until it succeeds, fails for good, the attempts run out,
// or ctx is done. The error says how many attempts were made.
func (p retryPolicy) run(ctx context.Context, attempt func(ctx context.Context) outcome) error {
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			if n == 1 {
				return err
			}
			// Unreachable in practice: the wait below returns on ctx.Done.
			return fmt.Errorf("stopped after %d attempts: %w", n-1, err)
		}
		o := attempt(ctx)
		if o.err == nil {
			return nil
		}
		if err := ctxDone(ctx); err != nil {
			return fmt.Errorf("stopped after %s: %w (last error: %w)", plural(n, "attempt"), err, o.err)
		}
		if !o.retryable {
			if n == 1 {
				return o.err
			}
			return fmt.Errorf("failed on attempt %d, not retryable: %w", n, o.err)
		}
		if n >= p.maxAttempts {
			return fmt.Errorf("gave up after %s: %w", plural(n, "attempt"), o.err)
		}
		wait := p.backoff(n)
		if o.after > 0 {
			wait = min(o.after, p.max)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("gave up after %s: next retry in %v would pass the context deadline: %w",
				plural(n, "attempt"), wait.Round(time.Millisecond), o.err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("stopped after %s: %w (last error: %w)", plural(n, "attempt"), ctx.Err(), o.err)
		case <-t.C:
		}
	}
}

// ctxDone is ctx.Err(), but also reports DeadlineExceeded once the deadline
// has passed even if ctx's own timer has not fired yet (a connection
// deadline set to the same instant can fire first).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// withDefaults fills the zero values of a retry schedule.
func withDefaults(maxAttempts int, initial, max time.Duration) retryPolicy {
	p := retryPolicy{maxAttempts: maxAttempts, initial: initial, max: max}
	if p.maxAttempts <= 0 {
		p.maxAttempts = DefaultMaxAttempts
	}
	if p.initial <= 0 {
		p.initial = DefaultInitialBackoff
	}
	if p.max <= 0 {
		p.max = DefaultMaxBackoff
	}
	if p.initial > p.max {
		p.initial = p.max
	}
	return p
}

// Retry defaults shared by Webhook and Email.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
)

// validateRetry checks the retry fields shared by the configs.
func validateRetry(maxAttempts int, initial, max, timeout time.Duration) []error {
	var errs []error
	if maxAttempts < 0 {
		errs = append(errs, fieldErr("max_attempts", "must be >= 0 (0 means %d), got %d", DefaultMaxAttempts, maxAttempts))
	}
	if initial < 0 {
		errs = append(errs, fieldErr("initial_backoff", "must be >= 0 (0 means %v), got %v", DefaultInitialBackoff, initial))
	}
	if max < 0 {
		errs = append(errs, fieldErr("max_backoff", "must be >= 0 (0 means %v), got %v", DefaultMaxBackoff, max))
	}
	if initial > 0 && max > 0 && initial > max {
		errs = append(errs, fieldErr("initial_backoff", "%v is more than max_backoff %v", initial, max))
	}
	if timeout < 0 {
		errs = append(errs, fieldErr("timeout", "must be >= 0 (0 means the default), got %v", timeout))
	}
	return errs
}

// sanitizeLine replaces CR, LF and other control characters with spaces so
// a value can sit on one header line.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
