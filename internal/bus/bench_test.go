package bus

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchMessages returns n messages of about 300 bytes, keyed over 100
// agents, like canonical events.
func benchMessages(topic string, n int) []Message {
	value := make([]byte, 300)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{Topic: topic, Key: []byte(fmt.Sprintf("agent-%d", i%100)), Value: value}
	}
	return msgs
}

// BenchmarkPublish publishes synchronously in slices of 1000; one op is
// one message.
func BenchmarkPublish(b *testing.B) {
	tb := newTestBus(b)
	cfg := tb.topics(b, 6)
	p, err := NewProducer(cfg, nil, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	batch := benchMessages(cfg.Topics.Events, 1000)
	if err := p.Publish(ctx, batch[:10]...); err != nil { // connect, load metadata
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; sent += len(batch) {
		n := min(len(batch), b.N-sent)
		if err := p.Publish(ctx, batch[:n]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkFetchCommit consumes through a group with FetchBatch(1000)
// and commits every batch; one op is one message.
func BenchmarkFetchCommit(b *testing.B) {
	tb := newTestBus(b)
	cfg := tb.topics(b, 6)
	ctx := context.Background()
	p, err := NewProducer(cfg, nil, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	batch := benchMessages(cfg.Topics.Events, 1000)
	for sent := 0; sent < b.N; sent += len(batch) {
		if err := p.Publish(ctx, batch[:min(len(batch), b.N-sent)]...); err != nil {
			b.Fatal(err)
		}
	}
	p.Close()
	c, err := NewConsumer(cfg, "bench", cfg.Topics.Events, nil, testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	eventually(b, 30*time.Second, "assignment", func() bool { return len(c.Assigned()) > 0 })
	b.ResetTimer()
	start := time.Now()
	for got := 0; got < b.N; {
		msgs, err := c.FetchBatch(ctx, 1000, 10*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Commit(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
		got += len(msgs)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
