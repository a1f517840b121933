package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/agentwatch/agentwatch/internal/retry"
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

// retry runs fn with the project's retry policy (internal/retry:
// exponential backoff with jitter, ctx checked before each try) until it
// succeeds, fails permanently (!Retryable), max_retries retries are used up
// (0 = no limit) or ctx ends. One warning per failing write, and one line
// when it recovers, so an outage does not flood the log.
func (s *Store) retry(ctx context.Context, table string, fn func(ctx context.Context) error) error {
	start := time.Now()
	defer func() { s.m.Seconds.WithLabelValues(table).Observe(time.Since(start).Seconds()) }()
	policy := retry.Policy{Initial: s.cfg.RetryBackoff, Max: s.cfg.MaxRetryBackoff}
	if s.cfg.MaxRetries > 0 {
		policy.Attempts = s.cfg.MaxRetries + 1
	}
	attempts := 0
	err := retry.Do(ctx, policy, func(ctx context.Context) error {
		attempts++
		err := fn(ctx)
		if err == nil {
			return nil
		}
		s.m.Errors.WithLabelValues(table).Inc()
		if !Retryable(err) {
			return retry.Permanent(err)
		}
		return err
	}, func(attempt int, err error, _ time.Duration) {
		s.m.retries.WithLabelValues(table).Inc()
		if attempt == 1 {
			s.log.Warn("clickhouse write failed; retrying with backoff", "table", table, "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	if attempts > 1 {
		s.log.Info("clickhouse write recovered", "table", table, "attempts", attempts, "after", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
