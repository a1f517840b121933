package bus

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// BenchmarkPipelineFloor moves events through the production pipeline's
// topic layout with none of agentwatch's work: events are published to
// the ingest topic, one group copies them to the events topic keyed by
// agent (the ingest stage's traffic), and two more groups read the events
// topic (the baseline and detect stages' traffic), every batch committed.
// It measures what moving the bytes alone costs, with the fetch and
// compression settings of examples/prod.yaml (and without compression):
// the client's CPU per event and, when AGENTWATCH_BENCH_BROKER_PID names
// the broker's process, the broker's. The events are made before the
// clock starts. One op is one event; run it against real Kafka:
//
//	AGENTWATCH_TEST_KAFKA=127.0.0.1:9092 \
//	AGENTWATCH_BENCH_BROKER_PID=$(cat ~/.cache/agentwatch/kafka/kafka.pid) \
//	go test ./internal/bus -run '^$' -bench PipelineFloor -benchtime 3000000x
func BenchmarkPipelineFloor(b *testing.B) {
	for _, codec := range []string{"lz4", "none"} {
		b.Run(codec, func(b *testing.B) { pipelineFloor(b, codec) })
	}
}

func pipelineFloor(b *testing.B, codec string) {
	tb := newTestBus(b)
	tb.cfg.MinBytes, tb.cfg.MaxWait, tb.cfg.Compression = 64<<10, 50*time.Millisecond, codec
	cfg := tb.topics(b, 6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var brokerPID int
	if s := os.Getenv("AGENTWATCH_BENCH_BROKER_PID"); s != "" {
		var err error
		if brokerPID, err = strconv.Atoi(strings.TrimSpace(s)); err != nil {
			b.Fatalf("AGENTWATCH_BENCH_BROKER_PID=%q: %v", s, err)
		}
	}
	newProducer := func() *Producer {
		p, err := NewProducer(cfg, nil, testLogger(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		return p
	}
	newConsumer := func(group, topic string) *Consumer {
		c, err := NewConsumer(cfg, group, topic, nil, testLogger(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		eventually(b, 30*time.Second, group+" assignment", func() bool { return len(c.Assigned()) > 0 })
		return c
	}
	copier := newConsumer("floor-ingest", cfg.Topics.Ingest)
	readers := []*Consumer{newConsumer("floor-baseline", cfg.Topics.Events), newConsumer("floor-detect", cfg.Topics.Events)}
	out, in := newProducer(), newProducer()

	// Each stage loop counts what it has committed; the run ends when both
	// readers have committed every event.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	stage := func(c *Consumer, max int, each func([]Message) error) *atomic.Int64 {
		var n atomic.Int64
		wg.Go(func() {
			for ctx.Err() == nil {
				msgs, err := c.FetchBatch(ctx, max, 200*time.Millisecond)
				if err == nil && len(msgs) > 0 {
					if err = each(msgs); err == nil {
						err = c.Commit(ctx, msgs...)
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				n.Add(int64(len(msgs)))
			}
		})
		return &n
	}
	stage(copier, 5000, func(msgs []Message) error {
		copied := make([]Message, len(msgs))
		for i, m := range msgs {
			copied[i] = Message{Topic: cfg.Topics.Events, Key: m.Key, Value: m.Value}
		}
		return out.Publish(ctx, copied...)
	})
	done := []*atomic.Int64{
		stage(readers[0], 50000, func([]Message) error { return nil }),
		stage(readers[1], 5000, func([]Message) error { return nil }),
	}

	// ~360-byte canonical events like the bench's, ids and times varying.
	events := make([]Message, min(b.N, 200_000))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for n := range events {
		at = at.Add(10 * time.Microsecond)
		agent := n * 7919 % 1000
		events[n] = Message{Topic: cfg.Topics.Ingest, Key: []byte("bench-agent-" + strconv.Itoa(agent)), Value: fmt.Appendf(nil,
			`{"event_id":"b1a2b3-%011d","time":"%s","source":"bench","agent_id":"bench-agent-%d","agent_instance":"pod-%d","principal":"svc-bench","credential_id":"tok-%d","credential_type":"oauth_token","action":"tickets.read","system":"mcp:zendesk","resource":"tickets/%d","outcome":"success","src_ip":"10.0.%d.7","user_agent":"bench/1.0"}`,
			n, at.Format(time.RFC3339Nano), agent, agent%3, agent, n*31%5000, agent%250)}
	}
	cpu0, broker0 := cpuNow(), procCPU(b, brokerPID)
	start := time.Now()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += 1000 {
		from := sent % len(events)
		if err := in.Publish(ctx, events[from:min(from+1000, from+b.N-sent, len(events))]...); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range done {
		for n.Load() < int64(b.N) {
			select {
			case err := <-errs:
				b.Fatal(err)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "client-cpu-ns/op")
	if brokerPID != 0 {
		b.ReportMetric(float64(procCPU(b, brokerPID)-broker0)/float64(b.N), "broker-cpu-ns/op")
	}
	cancel()
	wg.Wait()
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user and system CPU time process pid has used (0 for pid 0).
func procCPU(b *testing.B, pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("broker CPU: %v", err)
	}
	// Fields after the command name, which ends with the last ')'.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}
