package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
)

// Config configures the ClickHouse store (koanf key prefix chosen by the
// caller, e.g. "store.clickhouse").
type Config struct {
	// Addr lists native-protocol endpoints (host:port, port 9000 by
	// default); the driver fails over between them.
	Addr []string `koanf:"addr"`
	// Database is created if missing and holds every table.
	Database string `koanf:"database"`
	Username string `koanf:"username"`
	// Password, or PasswordFile naming a file that holds it.
	Password     config.Secret `koanf:"password"`
	PasswordFile string        `koanf:"password_file"`
	// DialTimeout bounds connecting and waiting for a pooled connection.
	DialTimeout time.Duration `koanf:"dial_timeout"`
	// ReadTimeout bounds one read from the server.
	ReadTimeout  time.Duration `koanf:"read_timeout"`
	MaxOpenConns int           `koanf:"max_open_conns"`
	// BatchSize and FlushInterval bound event batches: a batch is written
	// when it holds BatchSize rows or its first row has waited
	// FlushInterval, whichever comes first.
	BatchSize     int           `koanf:"batch_size"`
	FlushInterval time.Duration `koanf:"flush_interval"`
	// QueueSize bounds how many InsertEvents calls may wait while a batch
	// is being written; beyond it callers block (back-pressure).
	QueueSize int `koanf:"queue_size"`
	// CloseTimeout bounds how long Close keeps retrying the last batch.
	CloseTimeout time.Duration `koanf:"close_timeout"`
	// MaxRetries bounds the retries of one write; 0 retries until the
	// write succeeds, the caller gives up, or the store is closed, which
	// is what lets writers ride out a ClickHouse restart.
	MaxRetries int `koanf:"max_retries"`
	// RetryBackoff is the first retry delay; it doubles (with jitter) up
	// to MaxRetryBackoff.
	RetryBackoff    time.Duration `koanf:"retry_backoff"`
	MaxRetryBackoff time.Duration `koanf:"max_retry_backoff"`
	// Compression of the native protocol: "lz4" (default; less traffic
	// to a remote server) or "none" (less CPU, best on loopback).
	Compression string `koanf:"compression"`
}

// DefaultConfig is a local server on 127.0.0.1:9000, database agentwatch.
func DefaultConfig() Config {
	return Config{
		Addr:            []string{"127.0.0.1:9000"},
		Database:        "agentwatch",
		Username:        "default",
		DialTimeout:     5 * time.Second,
		ReadTimeout:     60 * time.Second,
		MaxOpenConns:    8,
		BatchSize:       50000,
		FlushInterval:   100 * time.Millisecond,
		QueueSize:       64,
		CloseTimeout:    30 * time.Second,
		MaxRetries:      0,
		RetryBackoff:    100 * time.Millisecond,
		MaxRetryBackoff: 5 * time.Second,
		Compression:     "lz4",
	}
}

// identRe is what Database may be: it is written into DDL unquoted.
var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Validate names the first key of every problem.
func (c Config) Validate() error {
	var errs []error
	if len(c.Addr) == 0 {
		errs = append(errs, errors.New("addr: at least one host:port is required"))
	}
	for i, a := range c.Addr {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("addr[%d]: %q is not host:port", i, a))
		}
	}
	if !identRe.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("database: %q must be letters, digits and _ (not starting with a digit)", c.Database))
	}
	if c.Password.IsSet() && c.PasswordFile != "" {
		errs = append(errs, errors.New("password and password_file are both set; use one"))
	}
	positive := []struct {
		key string
		ok  bool
	}{
		{"dial_timeout", c.DialTimeout > 0},
		{"read_timeout", c.ReadTimeout > 0},
		{"max_open_conns", c.MaxOpenConns > 0},
		{"batch_size", c.BatchSize > 0},
		{"flush_interval", c.FlushInterval > 0},
		{"queue_size", c.QueueSize > 0},
		{"close_timeout", c.CloseTimeout > 0},
		{"retry_backoff", c.RetryBackoff > 0},
	}
	for _, p := range positive {
		if !p.ok {
			errs = append(errs, fmt.Errorf("%s: must be positive", p.key))
		}
	}
	if c.Compression != "lz4" && c.Compression != "none" {
		errs = append(errs, fmt.Errorf("compression: %q must be lz4 or none", c.Compression))
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		errs = append(errs, fmt.Errorf("max_retry_backoff: %s is less than retry_backoff %s", c.MaxRetryBackoff, c.RetryBackoff))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, errors.New("max_retries: must not be negative (0 retries until stored)"))
	}
	return errors.Join(errs...)
}
