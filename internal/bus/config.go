package bus

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Config configures the producer, the consumers and the admin helpers.
// The zero value is not usable; start from DefaultConfig.
type Config struct {
	// Brokers are the bootstrap addresses (host:port). Empty is allowed
	// only when Embedded.Enabled; then the embedded broker's address is
	// filled in at start (see WithBrokers).
	Brokers []string `koanf:"brokers"`
	Topics  Topics   `koanf:"topics"`
	// Partitions and ReplicationFactor apply to topics EnsureTopics creates;
	// existing topics are left as they are.
	Partitions        int    `koanf:"partitions"`
	ReplicationFactor int    `koanf:"replication_factor"`
	ClientID          string `koanf:"client_id"`

	// BatchSize is how many fetched messages each partition reader (and
	// the consumer as a whole, four times as many) buffers ahead of the
	// stage.
	BatchSize int `koanf:"batch_size"`
	// BatchBytes caps one produce request per partition (and so one message).
	BatchBytes int64 `koanf:"batch_bytes"`
	// Compression of produced record batches: none, gzip, snappy, lz4 or
	// zstd. Consumers decompress whatever they read.
	Compression string `koanf:"compression"`

	// MinBytes, MaxBytes and MaxWait tune the readers' fetch requests.
	MinBytes int           `koanf:"min_bytes"`
	MaxBytes int           `koanf:"max_bytes"`
	MaxWait  time.Duration `koanf:"max_wait"`

	// SessionTimeout is how long the group coordinator waits for a silent
	// member (a crashed worker) before moving its partitions elsewhere.
	SessionTimeout    time.Duration `koanf:"session_timeout"`
	HeartbeatInterval time.Duration `koanf:"heartbeat_interval"`
	RebalanceTimeout  time.Duration `koanf:"rebalance_timeout"`
	// StartOffset is where a group starts on a partition with no committed
	// offset: "earliest" (default, nothing shipped before the first start is
	// lost) or "latest".
	StartOffset string `koanf:"start_offset"`
	// OffsetRetention asks the broker to keep committed offsets this long.
	OffsetRetention time.Duration `koanf:"offset_retention"`
	// DialTimeout bounds connecting to a broker.
	DialTimeout time.Duration `koanf:"dial_timeout"`

	Embedded EmbeddedConfig `koanf:"embedded"`
}

// EmbeddedConfig configures the in-process broker used in embedded mode.
type EmbeddedConfig struct {
	Enabled bool `koanf:"enabled"`
	// Port on 127.0.0.1; 0 picks a free port.
	Port int `koanf:"port"`
	// Partitions is the broker's default for topics created without a
	// partition count.
	Partitions int `koanf:"partitions"`
	// Dir holds the broker's durable log (record segments, consumer
	// offsets, topic metadata). A produce request is answered only once
	// what it wrote is fsynced there, and a restart resumes from it.
	// Empty keeps everything in memory (tests only: nothing survives).
	// One process at a time may use a directory.
	Dir string `koanf:"dir"`
	// MaxBacklog bounds, in records, how far the slowest consumer group
	// may fall behind the end of the topics it reads before producers
	// are held: collectors wait or answer 429, and Kafka clients
	// producing to the topics the pipeline reads first wait, then get a
	// retriable error. Nothing unread is ever deleted; retention removes
	// only what every reading group has committed.
	MaxBacklog int64 `koanf:"max_backlog"`
	// RetentionBytes and Retention apply only to topics no stage reads
	// (the dead-letter topic): the oldest records of a partition beyond
	// RetentionBytes are deleted, and, when Retention is set, records
	// older than it by their Kafka timestamp (off by default: a shipper
	// replaying old logs may stamp records with their original time).
	Retention      time.Duration `koanf:"retention"`
	RetentionBytes int64         `koanf:"retention_bytes"`
}

// DefaultConfig returns the production defaults: no brokers (set them, or
// enable the embedded broker), the agentwatch.* topics, six partitions.
func DefaultConfig() Config {
	return Config{
		Topics:            DefaultTopics(),
		Partitions:        6,
		ReplicationFactor: 1,
		ClientID:          "agentwatch",
		BatchSize:         1000,
		BatchBytes:        1 << 20,
		Compression:       "lz4",
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           250 * time.Millisecond,
		SessionTimeout:    10 * time.Second,
		HeartbeatInterval: time.Second,
		RebalanceTimeout:  30 * time.Second,
		StartOffset:       "earliest",
		OffsetRetention:   7 * 24 * time.Hour,
		DialTimeout:       10 * time.Second,
		Embedded:          EmbeddedConfig{Port: 0, Partitions: 6, MaxBacklog: 250_000, RetentionBytes: 64 << 20},
	}
}

// WithBrokers returns a copy of c that talks to addrs, e.g. the embedded
// broker's Addrs().
func (c Config) WithBrokers(addrs []string) Config {
	c.Brokers = append([]string(nil), addrs...)
	return c
}

// Validate reports every invalid setting, each naming its key under "bus.".
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("bus.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(c.Brokers) == 0 && !c.Embedded.Enabled {
		bad("brokers", "no broker address (or set bus.embedded.enabled)")
	}
	for i, b := range c.Brokers {
		if host, port, ok := strings.Cut(b, ":"); !ok || host == "" || port == "" {
			bad(fmt.Sprintf("brokers[%d]", i), "%q is not host:port", b)
		}
	}
	for key, name := range map[string]string{"ingest": c.Topics.Ingest, "events": c.Topics.Events, "alerts": c.Topics.Alerts, "dlq": c.Topics.DLQ} {
		if err := validTopic(name); err != nil {
			bad("topics."+key, "%v", err)
		}
	}
	if c.Partitions < 1 {
		bad("partitions", "must be at least 1, got %d", c.Partitions)
	}
	if c.ReplicationFactor < 1 {
		bad("replication_factor", "must be at least 1, got %d", c.ReplicationFactor)
	}
	if c.BatchSize < 1 {
		bad("batch_size", "must be at least 1, got %d", c.BatchSize)
	}
	if _, err := codec(c.Compression); err != nil {
		bad("compression", "%v", err)
	}
	if c.BatchBytes < 1024 {
		bad("batch_bytes", "must be at least 1024, got %d", c.BatchBytes)
	}
	if c.MinBytes < 1 || c.MaxBytes < c.MinBytes {
		bad("min_bytes", "need 1 <= min_bytes <= max_bytes, got %d and %d", c.MinBytes, c.MaxBytes)
	}
	if c.MaxWait <= 0 {
		bad("max_wait", "must be positive, got %s", c.MaxWait)
	}
	if c.SessionTimeout <= 0 || c.HeartbeatInterval <= 0 || c.HeartbeatInterval >= c.SessionTimeout {
		bad("heartbeat_interval", "need 0 < heartbeat_interval (%s) < session_timeout (%s)", c.HeartbeatInterval, c.SessionTimeout)
	}
	if c.RebalanceTimeout <= 0 {
		bad("rebalance_timeout", "must be positive, got %s", c.RebalanceTimeout)
	}
	if c.StartOffset != "earliest" && c.StartOffset != "latest" {
		bad("start_offset", "must be earliest or latest, got %q", c.StartOffset)
	}
	if c.OffsetRetention < time.Minute {
		bad("offset_retention", "must be at least 1m, got %s", c.OffsetRetention)
	}
	if c.DialTimeout <= 0 {
		bad("dial_timeout", "must be positive, got %s", c.DialTimeout)
	}
	if c.Embedded.Port < 0 || c.Embedded.Port > 65535 {
		bad("embedded.port", "must be 0..65535, got %d", c.Embedded.Port)
	}
	if c.Embedded.Enabled && c.Embedded.Partitions < 1 {
		bad("embedded.partitions", "must be at least 1, got %d", c.Embedded.Partitions)
	}
	if c.Embedded.Enabled && c.Embedded.Retention != 0 && c.Embedded.Retention < time.Minute {
		bad("embedded.retention", "must be 0 (no time limit) or at least 1m, got %s", c.Embedded.Retention)
	}
	if c.Embedded.Enabled && c.Embedded.MaxBacklog < 1000 {
		bad("embedded.max_backlog", "must be at least 1000 records, got %d", c.Embedded.MaxBacklog)
	}
	if c.Embedded.Enabled && c.Embedded.RetentionBytes < 1<<20 {
		bad("embedded.retention_bytes", "must be at least 1048576 (1 MiB), got %d", c.Embedded.RetentionBytes)
	}
	return errors.Join(errs...)
}

// validTopic applies Kafka's rule for topic names.
func validTopic(name string) error {
	if name == "" {
		return errors.New("empty topic name")
	}
	if len(name) > 249 || name == "." || name == ".." {
		return fmt.Errorf("invalid topic name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q has %q; only [a-zA-Z0-9._-] are allowed", name, r)
		}
	}
	return nil
}

// List returns the four topic names in a fixed order.
func (t Topics) List() []string { return []string{t.Ingest, t.Events, t.Alerts, t.DLQ} }

// codec maps bus.compression to kafka-go's codec (0 = none).
func codec(name string) (kafka.Compression, error) {
	switch name {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("%q is not none, gzip, snappy, lz4 or zstd", name)
}
