// Package pipeline is the composition root: it builds every stage from the
// whole configuration and wires ingest → baseline → detect → alerts into
// processes over the bus and the store, runs the consume → act → commit
// loop that every Kafka-fed stage shares, and runs the demo fleet and the
// bench on that same pipeline.
package pipeline

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/store/clickhouse"
	"github.com/agentwatch/agentwatch/posture"
)

// Config is agentwatch's whole configuration. The koanf tags are the keys
// of the YAML file, of AGENTWATCH_* variables (nesting with "__") and of
// --set overrides.
type Config struct {
	// Mode is "embedded" (in-process broker, SQLite) or "production"
	// (the Kafka brokers and store named below).
	Mode      string `koanf:"mode"`
	DataDir   string `koanf:"data_dir"`
	Inventory string `koanf:"inventory"`

	Log      LogConfig      `koanf:"log"`
	HTTP     HTTPConfig     `koanf:"http"`
	Bus      bus.Config     `koanf:"bus"`
	Store    StoreConfig    `koanf:"store"`
	Ingest   ingest.Config  `koanf:"ingest"`
	Detect   detect.Config  `koanf:"detect"`
	Alerts   alerts.Config  `koanf:"alerts"`
	Posture  posture.Config `koanf:"posture"`
	Pipeline PipelineConfig `koanf:"pipeline"`
	Console  ConsoleConfig  `koanf:"console"`
}

// LogConfig sets the slog handler.
type LogConfig struct {
	Level  string `koanf:"level"`  // debug, info, warn, error
	Format string `koanf:"format"` // text or json
}

// HTTPConfig sets the two listeners: the collector (events in) and the
// telemetry endpoints (/metrics, /healthz, /readyz).
type HTTPConfig struct {
	Listen        string `koanf:"listen"`
	MetricsListen string `koanf:"metrics_listen"`
}

// StoreConfig picks and configures the store.
type StoreConfig struct {
	Backend       string            `koanf:"backend"` // sqlite or clickhouse
	SQLitePath    string            `koanf:"sqlite_path"`
	ClickHouse    clickhouse.Config `koanf:"clickhouse"`
	RetentionDays int               `koanf:"retention_days"`
}

// PipelineConfig tunes the consume loop shared by the stages.
type PipelineConfig struct {
	BatchSize int           `koanf:"batch_size"`
	BatchWait time.Duration `koanf:"batch_wait"`
	// BaselineBatchSize and BaselineBatchWait are the baseline stage's own:
	// it writes every event to the store, and ClickHouse wants few large
	// inserts (50,000 in the production examples), while SQLite's default
	// stays small: its long write transactions delay the other stages.
	BaselineBatchSize int           `koanf:"baseline_batch_size"`
	BaselineBatchWait time.Duration `koanf:"baseline_batch_wait"`
	DrainTimeout      time.Duration `koanf:"drain_timeout"`
	// FlushEvery is how often the baseline worker persists its open state
	// and closes the windows of agents that went quiet.
	FlushEvery time.Duration `koanf:"flush_every"`
	// Groups are the consumer-group ids of the stages.
	Groups GroupsConfig `koanf:"groups"`
}

// GroupsConfig names the consumer groups.
type GroupsConfig struct {
	Ingest   string `koanf:"ingest"`
	Baseline string `koanf:"baseline"`
	Detect   string `koanf:"detect"`
	Alerts   string `koanf:"alerts"`
}

// DefaultConfig is the zero-configuration embedded setup.
func DefaultConfig() Config {
	c := Config{
		Mode:    "embedded",
		DataDir: "agentwatch-data",
		Log:     LogConfig{Level: "info", Format: "text"},
		HTTP:    HTTPConfig{Listen: "127.0.0.1:8080", MetricsListen: "127.0.0.1:9464"},
		Bus:     bus.DefaultConfig(),
		Store: StoreConfig{
			Backend:       "sqlite",
			ClickHouse:    clickhouse.DefaultConfig(),
			RetentionDays: 30,
		},
		Ingest:  ingest.DefaultConfig(),
		Detect:  detect.DefaultConfig(),
		Alerts:  alerts.DefaultConfig(),
		Console: DefaultConsoleConfig(),
		Posture: posture.DefaultConfig(),
		Pipeline: PipelineConfig{
			BatchSize:         5000,
			BatchWait:         10 * time.Millisecond,
			BaselineBatchSize: 5000,
			BaselineBatchWait: 200 * time.Millisecond,
			DrainTimeout:      30 * time.Second,
			FlushEvery:        time.Minute,
			Groups: GroupsConfig{
				Ingest: "agentwatch-ingest", Baseline: "agentwatch-baseline",
				Detect: "agentwatch-detect", Alerts: "agentwatch-alerts",
			},
		},
	}
	return c
}

// Load builds the effective configuration from defaults, file, environment
// and overrides, fills paths that depend on data_dir, and validates.
func Load(src config.Sources) (Config, error) {
	c := DefaultConfig()
	if err := config.Load(&c, src); err != nil {
		return c, err
	}
	c.resolvePaths()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Config) resolvePaths() {
	if c.Mode == "embedded" {
		c.Bus.Embedded.Enabled = true
		// Zero configuration means the collector on loopback takes
		// records without a token until a source is configured; any
		// other listen address keeps requiring one.
		if len(c.Ingest.HTTP.Sources) == 0 && isLoopback(c.HTTP.Listen) {
			c.Ingest.HTTP.AllowUnauthenticated = true
		}
	}
	if c.Bus.Embedded.Dir == "" {
		c.Bus.Embedded.Dir = filepath.Join(c.DataDir, "broker")
	}
	if c.Store.SQLitePath == "" {
		c.Store.SQLitePath = filepath.Join(c.DataDir, "agentwatch.db")
	}
	if c.Alerts.OutboxPath == "" {
		c.Alerts.OutboxPath = filepath.Join(c.DataDir, "outbox.db")
	}
	if c.Ingest.Files.StateFile != "" && !filepath.IsAbs(c.Ingest.Files.StateFile) {
		c.Ingest.Files.StateFile = filepath.Join(c.DataDir, c.Ingest.Files.StateFile)
	}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks the whole configuration; each error names its key.
func (c *Config) Validate() error {
	var errs []error
	switch c.Mode {
	case "embedded", "production":
	default:
		errs = append(errs, fmt.Errorf("mode: %q is not embedded or production", c.Mode))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: is required"))
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	switch c.Store.Backend {
	case "sqlite":
	case "clickhouse":
		if err := c.Store.ClickHouse.Validate(); err != nil {
			errs = append(errs, prefixErr("store.clickhouse", err))
		}
	default:
		errs = append(errs, fmt.Errorf("store.backend: %q is not sqlite or clickhouse", c.Store.Backend))
	}
	if c.Store.RetentionDays < 0 {
		errs = append(errs, errors.New("store.retention_days: must not be negative"))
	}
	if c.Pipeline.BatchSize < 1 {
		errs = append(errs, errors.New("pipeline.batch_size: must be at least 1"))
	}
	if c.Pipeline.BaselineBatchSize < 1 {
		errs = append(errs, errors.New("pipeline.baseline_batch_size: must be at least 1"))
	}
	if c.Pipeline.BaselineBatchWait <= 0 {
		errs = append(errs, errors.New("pipeline.baseline_batch_wait: must be positive"))
	}
	if c.Pipeline.FlushEvery <= 0 {
		errs = append(errs, errors.New("pipeline.flush_every: must be positive"))
	}
	if c.Pipeline.BatchWait <= 0 {
		errs = append(errs, errors.New("pipeline.batch_wait: must be positive"))
	}
	for _, v := range []struct {
		key string
		err error
	}{
		{"bus", c.Bus.Validate()},
		{"ingest", c.Ingest.Validate()},
		{"detect", c.Detect.Validate()},
		{"alerts", c.Alerts.Validate()},
		{"console", c.Console.Validate()},
		{"posture", c.Posture.Validate()},
	} {
		if v.err != nil {
			errs = append(errs, prefixErr(v.key, v.err))
		}
	}
	return errors.Join(errs...)
}

// prefixErr makes a component's error name the full key.
func prefixErr(prefix string, err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, prefix+".") {
		return err
	}
	return fmt.Errorf("%s.%s", prefix, msg)
}
