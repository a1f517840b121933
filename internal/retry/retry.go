// Package retry is the project's one way to retry: exponential backoff
// with equal jitter, ctx checked before each try, errors classified as
// permanent (never retried) or retryable (everything else).
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy bounds the retries.
type Policy struct {
	Initial time.Duration // first backoff
	Max     time.Duration // cap on one backoff
	// Attempts caps the tries (0 = until ctx ends or GiveUp passes).
	Attempts int
	// GiveUp caps the total time (0 = no cap).
	GiveUp time.Duration
}

// Default retries for a store or bus write: 100ms doubling to 10s, until
// the context ends.
var Default = Policy{Initial: 100 * time.Millisecond, Max: 10 * time.Second}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err (or one it wraps) was marked permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// After is returned (wrapped) by a try that knows how long to wait, such as
// an HTTP 429 with Retry-After.
type After struct {
	Err   error
	Delay time.Duration
}

func (a *After) Error() string { return a.Err.Error() }
func (a *After) Unwrap() error { return a.Err }

// Backoff returns the wait before try n (0-based): equal jitter over an
// exponentially growing ceiling, so many clients retrying at once spread out.
func (p Policy) Backoff(n int) time.Duration {
	return Delay(n, p.Initial, p.Max, rand.Float64())
}

// Delay is the backoff computation itself, with the jitter (in [0, 1))
// given, for callers that schedule retries themselves (the alert outbox
// stores its next attempt time) or need it deterministic in tests: the
// ceiling is initial doubled n times, capped at max, and the wait is half
// the ceiling plus jitter times the other half.
func Delay(n int, initial, limit time.Duration, jitter float64) time.Duration {
	ceil := initial
	for i := 0; i < n && ceil < limit; i++ {
		ceil *= 2
	}
	if ceil > limit {
		ceil = limit
	}
	if ceil <= 0 {
		return 0
	}
	return ceil/2 + time.Duration(jitter*float64(ceil/2))
}

// Do calls fn until it succeeds, returns a permanent error, the attempts or
// time run out, or ctx ends. onRetry (optional) hears of each failed try
// that will be retried. The last error is returned wrapped with the count.
func Do(ctx context.Context, p Policy, fn func(ctx context.Context) error, onRetry func(attempt int, err error, wait time.Duration)) error {
	start := time.Now()
	var err error
	for n := 0; ; n++ {
		if cerr := ctx.Err(); cerr != nil {
			if err == nil {
				return cerr
			}
			return fmt.Errorf("after %d attempts: %w", n, err)
		}
		if err = fn(ctx); err == nil {
			return nil
		}
		if IsPermanent(err) {
			return err
		}
		if p.Attempts > 0 && n+1 >= p.Attempts {
			return fmt.Errorf("after %d attempts: %w", n+1, err)
		}
		wait := p.Backoff(n)
		var after *After
		if errors.As(err, &after) && after.Delay > wait {
			wait = after.Delay
		}
		if p.GiveUp > 0 && time.Since(start)+wait > p.GiveUp {
			return fmt.Errorf("gave up after %d attempts in %s: %w", n+1, time.Since(start).Round(time.Millisecond), err)
		}
		if onRetry != nil {
			onRetry(n+1, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("after %d attempts: %w", n+1, err)
		case <-t.C:
		}
	}
}
