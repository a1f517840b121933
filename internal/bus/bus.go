// Package bus moves records between stages over Kafka with
// github.com/segmentio/kafka-go, and can start the embedded in-process
// Kafka-protocol broker (github.com/twmb/franz-go/pkg/kfake) so the same
// code path runs with zero configuration.
package bus

import (
	"context"
	"time"
)

// Topics names the four topics; the defaults are the agentwatch.* names.
type Topics struct {
	Ingest string `koanf:"ingest"`
	Events string `koanf:"events"`
	Alerts string `koanf:"alerts"`
	DLQ    string `koanf:"dlq"`
}

// DefaultTopics returns the standard topic names.
func DefaultTopics() Topics {
	return Topics{Ingest: "agentwatch.ingest", Events: "agentwatch.events", Alerts: "agentwatch.alerts", DLQ: "agentwatch.dlq"}
}

// Message is one Kafka record as the stages see it.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   map[string]string
	Time      time.Time
}

// Publisher writes messages; it returns nil only once the broker has
// acknowledged every message (acks=all), so callers may then commit.
type Publisher interface {
	Publish(ctx context.Context, msgs ...Message) error
}

// Fetcher is one consumer-group member: Fetch blocks for the next message,
// Commit records that the messages were fully handled. Commit after the
// work is durable, never before (at-least-once).
type Fetcher interface {
	Fetch(ctx context.Context) (Message, error)
	Commit(ctx context.Context, msgs ...Message) error
	Close() error
}
