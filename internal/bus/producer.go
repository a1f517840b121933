package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// Producer publishes messages with a kafka-go Writer: acks=all, keys
// hashed with murmur2 exactly as the Java client's default partitioner
// does, so a shipper that keys by agent_id and agentwatch agree on the
// partition of every agent.
type Producer struct {
	w *kafka.Writer
	// transport is ours, not the Writer's default, so Close must release
	// its pooled connections itself.
	transport *kafka.Transport
	m         *metrics
	log       *slog.Logger
}

var _ Publisher = (*Producer)(nil)

// NewProducer builds a producer; it connects lazily on the first Publish.
func NewProducer(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus: new producer: %w", err)
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("bus: new producer: bus.brokers is empty (start the embedded broker first and use Config.WithBrokers)")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	transport := &kafka.Transport{
		ClientID:    cfg.ClientID,
		DialTimeout: cfg.DialTimeout,
		Dial:        (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
		MetadataTTL: 30 * time.Second,
	}
	w := &kafka.Writer{
		Addr: kafka.TCP(cfg.Brokers...),
		// Keyed messages: murmur2(key) mod partitions, as in Java.
		// Messages without a key are spread at random.
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    cfg.BatchSize,
		BatchTimeout: cfg.BatchTimeout,
		BatchBytes:   cfg.BatchBytes,
		MaxAttempts:  10,
		// Topics are created by EnsureTopics with the configured
		// partition count; a typo in a topic name should fail, not
		// create a stray topic.
		AllowAutoTopicCreation: false,
		Transport:              transport,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Warn("kafka writer", "detail", fmt.Sprintf(msg, args...))
		}),
	}
	return &Producer{w: w, transport: transport, m: newMetrics(reg), log: log}, nil
}

// Publish writes msgs and returns nil once the broker has acknowledged all
// of them. Each message must name its Topic. On failure the error says how
// many of the messages failed; the caller must not commit what produced
// them, and may publish them again (consumers are idempotent).
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("bus: publish: message %d has no topic", i)
		}
		out[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Time: m.Time}
		if len(m.Headers) > 0 {
			out[i].Headers = make([]kafka.Header, 0, len(m.Headers))
			for k, v := range m.Headers {
				out[i].Headers = append(out[i].Headers, kafka.Header{Key: k, Value: []byte(v)})
			}
		}
	}
	err := p.w.WriteMessages(ctx, out...)
	if err == nil {
		p.count(msgs, nil)
		return nil
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		p.count(msgs, werrs)
		var first error
		for _, e := range werrs {
			if e != nil {
				first = e
				break
			}
		}
		return fmt.Errorf("bus: publish: %d of %d messages failed: %w", werrs.Count(), len(msgs), first)
	}
	for _, m := range msgs {
		p.m.publishErrors.WithLabelValues(m.Topic).Inc()
	}
	return fmt.Errorf("bus: publish %d messages: %w", len(msgs), err)
}

// count updates the per-topic counters; werrs is nil when all succeeded.
func (p *Producer) count(msgs []Message, werrs kafka.WriteErrors) {
	ok := map[string]int{}
	bad := map[string]int{}
	for i, m := range msgs {
		if werrs != nil && werrs[i] != nil {
			bad[m.Topic]++
		} else {
			ok[m.Topic]++
		}
	}
	for t, n := range ok {
		p.m.published.WithLabelValues(t).Add(float64(n))
	}
	for t, n := range bad {
		p.m.publishErrors.WithLabelValues(t).Add(float64(n))
	}
}

// Close flushes pending batches and closes connections.
func (p *Producer) Close() error {
	err := p.w.Close()
	p.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("bus: close producer: %w", err)
	}
	return nil
}
