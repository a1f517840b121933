package bus

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// javaPartition is the partition the Java client's default partitioner
// picks for a key; the kafka-go balancer we configure must agree.
func javaPartition(key []byte, n int) int {
	return int((uint32(kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: key}, seq(n)...))))
}

func TestMurmur2MatchesJavaClient(t *testing.T) {
	// murmur2 values printed by org.apache.kafka.common.utils.Utils.murmur2
	// (kafka-clients 4.1.1); the Java partitioner takes them & 0x7fffffff
	// modulo the partition count.
	cases := map[string]int32{
		"21": -973932308, "foobar": -790332482, "agent-7": 159348906,
		"a-little-bit-long-string": -985981536, "abc": 479470107, "": 275646681,
	}
	for key, h := range cases {
		for _, n := range []int{1, 3, 6, 7, 12} {
			want := int(uint32(h)&0x7fffffff) % n
			if got := javaPartition([]byte(key), n); got != want {
				t.Errorf("key %q, %d partitions: partition %d, Java picks %d", key, n, got, want)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Brokers = []string{"127.0.0.1:9092"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	emb := DefaultConfig()
	emb.Embedded.Enabled = true
	if err := emb.Validate(); err != nil {
		t.Fatalf("embedded config without brokers rejected: %v", err)
	}
	cases := []struct {
		name    string
		mutate  func(*Config)
		wantKey string
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, "bus.brokers"},
		{"broker without port", func(c *Config) { c.Brokers = []string{"kafka"} }, "bus.brokers[0]"},
		{"bad topic", func(c *Config) { c.Topics.Events = "a b" }, "bus.topics.events"},
		{"empty dlq", func(c *Config) { c.Topics.DLQ = "" }, "bus.topics.dlq"},
		{"partitions", func(c *Config) { c.Partitions = 0 }, "bus.partitions"},
		{"replication", func(c *Config) { c.ReplicationFactor = 0 }, "bus.replication_factor"},
		{"batch size", func(c *Config) { c.BatchSize = 0 }, "bus.batch_size"},
		{"compression", func(c *Config) { c.Compression = "brotli" }, "bus.compression"},
		{"heartbeat >= session", func(c *Config) { c.HeartbeatInterval = c.SessionTimeout }, "bus.heartbeat_interval"},
		{"start offset", func(c *Config) { c.StartOffset = "middle" }, "bus.start_offset"},
		{"min bytes", func(c *Config) { c.MinBytes = 0 }, "bus.min_bytes"},
		{"embedded port", func(c *Config) { c.Embedded.Port = 70000 }, "bus.embedded.port"},
		{"max wait", func(c *Config) { c.MaxWait = -time.Second }, "bus.max_wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.Brokers = slicesClone(ok.Brokers)
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantKey+":") {
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.wantKey)
			}
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func TestNewConsumerRejectsBadArguments(t *testing.T) {
	cfg := DefaultConfig().WithBrokers([]string{"127.0.0.1:1"})
	if _, err := NewConsumer(cfg, "", "t", nil, nil); err == nil {
		t.Error("empty group accepted")
	}
	if _, err := NewConsumer(cfg, "g", "bad topic", nil, nil); err == nil {
		t.Error("bad topic accepted")
	}
	emb := DefaultConfig()
	emb.Embedded.Enabled = true
	if _, err := NewProducer(emb, nil, nil); err == nil || !strings.Contains(err.Error(), "bus.brokers") {
		t.Errorf("producer without brokers: err = %v", err)
	}
}

func TestPublishErrors(t *testing.T) {
	b := newTestBus(t)
	cfg := b.topics(t, 1)
	p, err := NewProducer(cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Publish(ctx, Message{Value: []byte("x")}); err == nil || !strings.Contains(err.Error(), "no topic") {
		t.Errorf("publish without topic: err = %v", err)
	}
	start := time.Now()
	err = p.Publish(ctx, Message{Topic: "agentwatch.no-such-topic", Value: []byte("x")})
	if err == nil {
		t.Fatalf("publish to a missing topic succeeded")
	}
	t.Logf("publish to a missing topic failed after %s: %v", time.Since(start), err)
	if err := p.Publish(ctx); err != nil {
		t.Errorf("empty publish: %v", err)
	}
}

// syncBuffer is an io.Writer safe for the embedded broker's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEmbeddedBrokerWarnsAndBindsLoopback(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := StartEmbedded(context.Background(), EmbeddedConfig{Enabled: true}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "memory only") {
		t.Errorf("start did not warn that data is kept in memory only; log: %q", buf.String())
	}
	addrs := e.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") || strings.HasSuffix(addrs[0], ":0") {
		t.Fatalf("Addrs() = %v, want one 127.0.0.1 address with a real port", addrs)
	}
	// A second broker on the same, now taken, port fails and says where.
	_, port, _ := strings.Cut(addrs[0], ":")
	p, _ := strconv.Atoi(port)
	if e2, err := StartEmbedded(context.Background(), EmbeddedConfig{Enabled: true, Port: p}, nil, nil); err == nil {
		e2.Close()
		t.Errorf("second embedded broker on taken port %d started", p)
	} else if !strings.Contains(err.Error(), port) {
		t.Errorf("error %q does not name port %s", err, port)
	}
	e.Close()
	e.Close() // idempotent
}

// Everything a stage opens on the bus is released by Close: no goroutine
// outlives it (connection pools, heartbeats, partition readers).
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		e, err := StartEmbedded(context.Background(), EmbeddedConfig{Enabled: true}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		cfg := testConfig().WithBrokers(e.Addrs())
		cfg.Partitions = 2
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := EnsureTopics(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		p, err := NewProducer(cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.Publish(ctx, keyed(cfg.Topics.Events, "x", 5, 5)...); err != nil {
			t.Fatal(err)
		}
		c, err := NewConsumer(cfg, "leak", cfg.Topics.Events, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Commit(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := ReadAll(ctx, cfg.Brokers, cfg.Topics.Events, func(Message) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// offsetRange is partition 0 of topic's first and end offsets.
func offsetRange(t *testing.T, cfg Config, topic string) (first, end int64) {
	t.Helper()
	client := newClient(cfg.Brokers, cfg)
	defer closeClient(client)
	resp, err := client.ListOffsets(context.Background(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0)}}})
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	po := resp.Topics[topic][0]
	return po.FirstOffset, po.LastOffset
}

// TestEmbeddedKeepsOldTimestampedRecords: with no time limit set (the
// default), a record stamped long ago, as a shipper replaying old logs may
// stamp it, survives retention, in a topic stages read and in a kept one.
func TestEmbeddedKeepsOldTimestampedRecords(t *testing.T) {
	e, cfg := startOnePartition(t, DefaultConfig().Embedded, nil, nil)
	if err := e.Prepare(context.Background(), Flow{Readers: map[string][]string{cfg.Topics.Ingest: {"g"}}, Kept: []string{cfg.Topics.DLQ}}, 1); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, topic := range []string{cfg.Topics.Ingest, cfg.Topics.DLQ} {
		publish(t, cfg, Message{Topic: topic, Value: []byte("replayed"), Time: old})
	}
	e.c.ApplyRetention() // what the retention loop does every few seconds
	for _, topic := range []string{cfg.Topics.Ingest, cfg.Topics.DLQ} {
		if first, end := offsetRange(t, cfg, topic); first != 0 || end != 1 {
			t.Errorf("%s: offsets %d..%d after retention, want the 30-day-old record kept (0..1)", topic, first, end)
		}
	}
}
