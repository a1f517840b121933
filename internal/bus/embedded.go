package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
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
	// stop ends the retention loop; done closes when it has.
	stop, done chan struct{}
}

// retentionEvery is how often the broker deletes what is past retention.
var retentionEvery = 5 * time.Second

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
	if cfg.RetentionBytes <= 0 {
		cfg.RetentionBytes = DefaultConfig().Embedded.RetentionBytes
	}
	// kfake's own default is seven days by record timestamp: none unless
	// asked for (see EmbeddedConfig.Retention).
	retentionMs, byTime := int64(-1), "none"
	if cfg.Retention > 0 {
		retentionMs, byTime = cfg.Retention.Milliseconds(), cfg.Retention.String()
	}
	// Retention frees memory a segment at a time: segments of a quarter
	// of the byte limit (at most 16 MiB) keep what is held near it.
	segment := min(cfg.RetentionBytes/4, 16<<20)
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.ClusterID("agentwatch-embedded"),
		kfake.DefaultNumPartitions(parts),
		// Let tests and single-process runs use short session timeouts
		// so a dead member's partitions move quickly.
		kfake.GroupMinSessionTimeout(500*time.Millisecond),
		kfake.WithLogger(kfakeLogger{log}),
		kfake.BrokerConfigs(map[string]string{
			"log.retention.ms":    strconv.FormatInt(retentionMs, 10),
			"log.retention.bytes": strconv.FormatInt(cfg.RetentionBytes, 10),
			"log.segment.bytes":   strconv.FormatInt(segment, 10),
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: start embedded broker on 127.0.0.1:%d: %w", cfg.Port, err)
	}
	e := &Embedded{c: c, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	// kfake applies retention on its own only to topics created with
	// retention settings; this applies the broker-wide ones to all.
	every := retentionEvery
	go func() {
		defer close(e.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				c.ApplyRetention()
			}
		}
	}()
	log.Warn("embedded Kafka broker started: it keeps data in memory only; everything not yet processed is lost when the process stops",
		"addr", c.ListenAddrs(), "retention_bytes_per_partition", cfg.RetentionBytes, "retention_by_time", byTime)
	return e, nil
}

// Addrs returns the broker's listen addresses (host:port) for Config.Brokers.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Close stops the broker and drops its data; safe to call twice.
func (e *Embedded) Close() {
	e.once.Do(func() {
		close(e.stop)
		<-e.done
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
