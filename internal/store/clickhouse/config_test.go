package clickhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesKey(t *testing.T) {
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Addr = nil }, "addr:"},
		{func(c *Config) { c.Addr = []string{"localhost"} }, "addr[0]:"},
		{func(c *Config) { c.Database = "drop table; x" }, "database:"},
		{func(c *Config) { c.Password, c.PasswordFile = "p", "/f" }, "password_file"},
		{func(c *Config) { c.BatchSize = 0 }, "batch_size:"},
		{func(c *Config) { c.FlushInterval = 0 }, "flush_interval:"},
		{func(c *Config) { c.QueueSize = 0 }, "queue_size:"},
		{func(c *Config) { c.MaxRetryBackoff = time.Millisecond }, "max_retry_backoff:"},
		{func(c *Config) { c.MaxRetries = -1 }, "max_retries:"},
		{func(c *Config) { c.Compression = "zstd" }, "compression:"},
		{func(c *Config) { c.DialTimeout = 0 }, "dial_timeout:"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want an error naming %q", err, c.want)
		}
	}
}

// TestPasswordNeverShown prints the config every usual way and makes a
// failing Open, and checks the password appears nowhere.
func TestPasswordNeverShown(t *testing.T) {
	const pw = "hunter2-very-secret"
	cfg := DefaultConfig()
	cfg.Password = pw
	j, _ := json.Marshal(cfg)
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), string(j)} {
		if strings.Contains(out, pw) {
			t.Errorf("config output shows the password: %s", out)
		}
	}
	// A listener that accepts and closes: Open fails after sending the
	// password, and its error must not repeat it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	cfg.Addr = []string{ln.Addr().String()}
	cfg.DialTimeout = 300 * time.Millisecond
	cfg.ReadTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Open(ctx, cfg)
	if err == nil {
		t.Fatal("Open against a mute server succeeded")
	}
	if strings.Contains(err.Error(), pw) {
		t.Errorf("Open error shows the password: %v", err)
	}

	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("  \n"), 0o600)
	cfg = DefaultConfig()
	cfg.PasswordFile = file
	if _, err := Open(ctx, cfg); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("Open with an empty password_file: %v, want an error naming password_file", err)
	}
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{io.EOF, true},
		{fmt.Errorf("send: %w", &ch.Exception{Code: 252, Message: "Too many parts"}), true},
		{fmt.Errorf("send: %w", &ch.Exception{Code: 62, Message: "Syntax error"}), false},
		{&ch.Exception{Code: 516, Message: "Authentication failed"}, false},
		{&columnError{errors.New("converting string to DateTime")}, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	}
	for _, c := range cases {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
