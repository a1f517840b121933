package bus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is the in-process Kafka-protocol broker of embedded mode
// (github.com/twmb/franz-go/pkg/kfake). It speaks the Kafka protocol on
// 127.0.0.1, so the same kafka-go code and any Kafka shipper work against
// it; it keeps every record in memory only.
type Embedded struct {
	c    *kfake.Cluster
	log  *slog.Logger
	once sync.Once
}

// StartEmbedded starts a one-broker cluster on 127.0.0.1:cfg.Port (0 picks
// a free port). ctx bounds only the start.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig, log *slog.Logger) (*Embedded, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: start embedded broker: %w", err)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("bus: start embedded broker: bus.embedded.port must be 0..65535, got %d", cfg.Port)
	}
	parts := cfg.Partitions
	if parts < 1 {
		parts = DefaultConfig().Embedded.Partitions
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "embedded-broker")
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.ClusterID("agentwatch-embedded"),
		kfake.DefaultNumPartitions(parts),
		// Let tests and single-process runs use short session timeouts
		// so a dead member's partitions move quickly.
		kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.WithLogger(kfakeLogger{log}),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: start embedded broker on 127.0.0.1:%d: %w", cfg.Port, err)
	}
	e := &Embedded{c: c, log: log}
	log.Warn("embedded Kafka broker started: it keeps data in memory only; everything not yet processed is lost when the process stops",
		"addr", c.ListenAddrs())
	return e, nil
}

// Addrs returns the broker's listen addresses (host:port) for Config.Brokers.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Close stops the broker and drops its data; safe to call twice.
func (e *Embedded) Close() {
	e.once.Do(func() {
		e.c.Close()
		e.log.Info("embedded Kafka broker stopped")
	})
}

// kfakeLogger forwards kfake's own warnings and errors to slog; its info
// level logs every request and is left out.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error(fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		l.log.Warn(fmt.Sprintf(format, args...))
	}
}
