package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/telemetry"
	"github.com/agentwatch/agentwatch/schemas"
)

type countingPublisher struct{ n atomic.Int64 }

func (p *countingPublisher) Publish(_ context.Context, msgs ...bus.Message) error {
	p.n.Add(int64(len(msgs)))
	return nil
}

// TestSinkWaitsForBacklog: with the embedded backlog gate, a collector's
// publish waits while the later stages are too far behind: the HTTP
// collector's sink gives up with ErrBackpressure at its bound, the file
// tailer's waits, and both go through once the stages catch up.
func TestSinkWaitsForBacklog(t *testing.T) {
	const bound = 250_000
	var behind, asked atomic.Int64
	behind.Store(bound + 1)
	backlog := func() int64 {
		asked.Add(1)
		return behind.Load()
	}
	pub := &countingPublisher{}
	sink := func(wait time.Duration) *busSink {
		return &busSink{pub: pub, topics: bus.DefaultTopics(), stage: "collector", metrics: telemetry.NewMetrics(telemetry.NewRegistry()),
			slots: make(chan struct{}, 1), wait: wait, counter: new(atomic.Int64), backlog: backlog, bound: bound}
	}
	evs := []schemas.AgentEvent{{EventID: "e1", AgentID: "a"}}
	if err := sink(50*time.Millisecond).Publish(context.Background(), evs, nil); !errors.Is(err, ingest.ErrBackpressure) {
		t.Fatalf("publish while %d events behind: %v, want ErrBackpressure", behind.Load(), err)
	}
	if pub.n.Load() != 0 {
		t.Fatalf("%d messages published while the stages were behind", pub.n.Load())
	}
	done := make(chan error, 1)
	from := asked.Load()
	go func() { done <- sink(0).Publish(context.Background(), evs, nil) }()
	// Once it has asked twice while behind, it is waiting, not publishing.
	deadline := time.Now().Add(10 * time.Second)
	for asked.Load() < from+2 {
		if time.Now().After(deadline) {
			t.Fatal("publish never consulted the backlog")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("unbounded publish returned while behind: %v", err)
	default:
	}
	if pub.n.Load() != 0 {
		t.Fatalf("%d messages published while the stages were behind", pub.n.Load())
	}
	behind.Store(bound)
	select {
	case err := <-done:
		if err != nil || pub.n.Load() != 1 {
			t.Fatalf("publish after catching up: %v, %d published", err, pub.n.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publish still waiting after the stages caught up")
	}
}
