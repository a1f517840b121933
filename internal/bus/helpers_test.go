package bus

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// testBus is one broker for a test: real Kafka when AGENTWATCH_TEST_KAFKA
// names one, else a fresh embedded broker.
type testBus struct {
	cfg  Config
	real bool
}

var topicSeq atomic.Int64

// testConfig has short group timers so takeovers happen within a test's
// patience; kafka.sh sets group.min.session.timeout.ms=1000 to allow them.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.SessionTimeout = 2 * time.Second
	cfg.HeartbeatInterval = 300 * time.Millisecond
	cfg.RebalanceTimeout = 5 * time.Second
	cfg.MaxWait = 100 * time.Millisecond
	return cfg
}

func newTestBus(t testing.TB) *testBus {
	t.Helper()
	cfg := testConfig()
	if addr := os.Getenv("AGENTWATCH_TEST_KAFKA"); addr != "" {
		cfg.Brokers = strings.Split(addr, ",")
		return &testBus{cfg: cfg, real: true}
	}
	e, err := StartEmbedded(context.Background(), EmbeddedConfig{Enabled: true}, nil, testLogger(t))
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	t.Cleanup(e.Close)
	cfg.Embedded.Enabled = true
	return &testBus{cfg: cfg.WithBrokers(e.Addrs())}
}

// topics creates a fresh set of topics with the given partition count;
// names are unique so runs against a long-lived Kafka never collide.
func (b *testBus) topics(t testing.TB, partitions int) Config {
	t.Helper()
	cfg := b.cfg
	cfg.Partitions = partitions
	base := fmt.Sprintf("t%d.%d.%s", time.Now().UnixNano(), topicSeq.Add(1), sanitize(t.Name()))
	cfg.Topics = Topics{Ingest: base + ".ingest", Events: base + ".events", Alerts: base + ".alerts", DLQ: base + ".dlq"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, cfg); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	return cfg
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("AGENTWATCH_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// committedOffsets reads the group's committed offsets for topic.
func committedOffsets(t testing.TB, cfg Config, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	client := newClient(cfg.Brokers, cfg)
	defer closeClient(client)
	req := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: seq(partitions)}}
	resp, err := client.OffsetFetch(context.Background(), req)
	if err != nil {
		t.Fatalf("offset fetch for %s: %v", group, err)
	}
	if resp.Error != nil {
		t.Fatalf("offset fetch for %s: %v", group, resp.Error)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("offset fetch for %s/%d: %v", topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// endOffsets returns each partition's end (next) offset.
func endOffsets(t testing.TB, cfg Config, topic string, partitions int) map[int]int64 {
	t.Helper()
	client := newClient(cfg.Brokers, cfg)
	defer closeClient(client)
	var reqs []kafka.OffsetRequest
	for _, p := range seq(partitions) {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	resp, err := client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.LastOffset
	}
	return out
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// keyed builds n messages for topic with keys agent-<i%agents> and
// values "<prefix>-<i>".
func keyed(topic, prefix string, n, agents int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Topic: topic, Key: []byte(fmt.Sprintf("agent-%d", i%agents)), Value: []byte(fmt.Sprintf("%s-%d", prefix, i))}
	}
	return msgs
}
