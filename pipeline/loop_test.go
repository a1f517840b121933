package pipeline

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// quietFetcher is a topic on which nothing ever arrives: FetchBatch blocks
// until its context ends, as bus.Consumer's does.
type quietFetcher struct{ fetches atomic.Int64 }

func (q *quietFetcher) FetchBatch(ctx context.Context, _ int, _ time.Duration) ([]bus.Message, error) {
	q.fetches.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}
func (q *quietFetcher) Commit(context.Context, ...bus.Message) error { return nil }
func (q *quietFetcher) Close() error                                 { return nil }

// A stage's periodic work (the baseline stage's flush of quiet agents'
// windows) must run while its topic is quiet, and a quiet topic is not an
// error that stops the stage.
func TestLoopTicksOnAQuietTopic(t *testing.T) {
	q := &quietFetcher{}
	ticked := make(chan struct{}, 8)
	l := &loop{
		stage: "baseline", fetcher: q, batch: 10, wait: time.Millisecond, drain: time.Second, idle: 20 * time.Millisecond,
		handle:  func(context.Context, []bus.Message) error { t.Error("handler called with no messages"); return nil },
		metrics: telemetry.NewMetrics(prometheus.NewRegistry()),
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		tick: func(context.Context) {
			select {
			case ticked <- struct{}{}:
			default:
			}
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	for i := 0; i < 3; i++ {
		select {
		case <-ticked:
		case err := <-done:
			t.Fatalf("loop stopped on a quiet topic: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("tick %d did not run within 10s on a quiet topic (%d fetches)", i+1, q.fetches.Load())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("loop returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not stop after cancel")
	}
}
