package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/retry"
	"github.com/agentwatch/agentwatch/internal/telemetry"
)

// batchFetcher is what the loop needs from a consumer-group member.
type batchFetcher interface {
	FetchBatch(ctx context.Context, max int, wait time.Duration) ([]bus.Message, error)
	Commit(ctx context.Context, msgs ...bus.Message) error
	Close() error
}

// handler does a stage's work for one fetched batch. It returns nil only
// once the work is durable; any error is retried (the work must therefore
// be idempotent, which every store write and publish here is).
type handler func(ctx context.Context, msgs []bus.Message) error

// loop is the consume → act → commit cycle every Kafka-fed stage runs.
// When ctx ends it stops fetching, finishes and commits the batch in hand
// (the drain), bounded by drain, then returns.
type loop struct {
	stage   string
	fetcher batchFetcher
	handle  handler
	batch   int
	wait    time.Duration
	drain   time.Duration
	metrics *telemetry.Metrics
	log     *slog.Logger
	// progress, if set, hears how many messages each committed batch held.
	progress func(n int)
	// tick, if set, runs on the loop's goroutine after every fetch, busy
	// or idle, for periodic work that must not race the handler.
	tick func(ctx context.Context)
	// idle bounds how long a fetch waits for a first message when tick is
	// set (default one second), so that tick also runs on a quiet topic:
	// FetchBatch otherwise blocks until a message arrives, and the
	// baseline stage's periodic flush would never run while nothing does.
	idle time.Duration
}

// fetch is one FetchBatch, bounded by the idle wait when a tick needs the
// loop to come round on a quiet topic. An idle wait that ends with no
// message is an empty fetch, not an error.
func (l *loop) fetch(ctx context.Context) ([]bus.Message, error) {
	if l.tick == nil {
		return l.fetcher.FetchBatch(ctx, l.batch, l.wait)
	}
	idle := l.idle
	if idle <= 0 {
		idle = time.Second
	}
	fctx, cancel := context.WithTimeout(ctx, idle)
	defer cancel()
	msgs, err := l.fetcher.FetchBatch(fctx, l.batch, l.wait)
	if err != nil && len(msgs) == 0 && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, nil
	}
	return msgs, err
}

func (l *loop) run(ctx context.Context) error {
	// work outlives ctx by the drain timeout so a batch fetched before the
	// shutdown signal is finished and committed rather than redelivered.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(l.drain, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	for {
		if ctx.Err() != nil {
			return nil
		}
		msgs, err := l.fetch(ctx)
		if err != nil && len(msgs) == 0 {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(msgs) == 0 {
			if l.tick != nil {
				l.tick(work)
			}
			continue
		}
		start := time.Now()
		l.metrics.Events.WithLabelValues(l.stage, "in").Add(float64(len(msgs)))
		err = retry.Do(work, retry.Default, func(c context.Context) error { return l.handle(c, msgs) },
			func(attempt int, err error, wait time.Duration) {
				if attempt == 1 || attempt%10 == 0 {
					l.log.Warn("batch failed, retrying; offsets held", "stage", l.stage, "attempt", attempt, "wait", wait, "err", err)
				}
			})
		if err != nil {
			if work.Err() != nil {
				l.log.Warn("drain timed out; uncommitted batch will be redelivered", "stage", l.stage, "messages", len(msgs))
				return nil
			}
			return err
		}
		if err := retry.Do(work, retry.Default, func(c context.Context) error { return l.fetcher.Commit(c, msgs...) }, nil); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		l.metrics.BatchSecond.WithLabelValues(l.stage).Observe(time.Since(start).Seconds())
		if l.progress != nil {
			l.progress(len(msgs))
		}
		if l.tick != nil {
			l.tick(work)
		}
	}
}
