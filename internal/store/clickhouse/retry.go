package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// permanentCodes are server exception codes that a retry cannot fix: the
// statement or the data is wrong. Every other error, above all a refused
// or broken connection, is retried.
var permanentCodes = map[int32]bool{
	6:   true, // CANNOT_PARSE_TEXT
	16:  true, // NO_SUCH_COLUMN_IN_TABLE
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	36:  true, // BAD_ARGUMENTS
	41:  true, // CANNOT_PARSE_DATETIME
	47:  true, // UNKNOWN_IDENTIFIER
	53:  true, // TYPE_MISMATCH
	60:  true, // UNKNOWN_TABLE
	62:  true, // SYNTAX_ERROR
	70:  true, // CANNOT_CONVERT_TYPE
	81:  true, // UNKNOWN_DATABASE
	164: true, // READONLY
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}

// Retryable reports whether err may go away if the write is tried again.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return !permanentCodes[ex.Code]
	}
	// Driver-side encoding errors (a Go value the column cannot take) are
	// as permanent as a server type mismatch.
	var conv *columnError
	return !errors.As(err, &conv)
}

// columnError marks an error building a batch row on our side.
type columnError struct{ err error }

func (e *columnError) Error() string { return e.err.Error() }
func (e *columnError) Unwrap() error { return e.err }

// backoff computes retry delays: exponential from base to max, each
// drawn uniformly from [d/2, d) so that writers restarted together do not
// retry in lockstep. rnd is injected for deterministic tests.
type backoff struct {
	base, max time.Duration
	rnd       func() float64
}

func (b backoff) delay(attempt int) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d/2 + time.Duration(b.rnd()*float64(d/2))
}

// retry runs fn until it succeeds, fails permanently, maxRetries retries
// are used up (0 = no limit) or ctx ends. It checks ctx before each try
// and returns the last error with the attempt count.
func (s *Store) retry(ctx context.Context, table string, fn func(ctx context.Context) error) error {
	start := time.Now()
	defer func() { s.m.writeSeconds.WithLabelValues(table).Observe(time.Since(start).Seconds()) }()
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if last == nil {
				last = err
			}
			return fmt.Errorf("write %s: gave up after %d attempts: %w (%w)", table, attempt-1, last, err)
		}
		if attempt > 1 {
			s.m.retries.WithLabelValues(table).Inc()
		}
		err := fn(ctx)
		if err == nil {
			if attempt > 1 {
				s.log.Info("clickhouse write recovered", "table", table, "attempts", attempt, "after", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		s.m.errors.WithLabelValues(table).Inc()
		last = err
		if !Retryable(err) {
			return fmt.Errorf("write %s: attempt %d: %w", table, attempt, err)
		}
		if s.cfg.MaxRetries > 0 && attempt > s.cfg.MaxRetries {
			return fmt.Errorf("write %s: gave up after %d attempts: %w", table, attempt, err)
		}
		if attempt == 1 {
			// Logged once per failing write, not per attempt, so an outage
			// does not flood the log; the recovery is logged too.
			s.log.Warn("clickhouse write failed; retrying with backoff", "table", table, "err", err)
		}
		t := time.NewTimer(s.backoff.delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}
