package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// batcher gathers InsertEvents calls into batches bounded by size and by
// time, writes each batch once, and answers every caller whose rows were
// in it. Callers block until their rows are stored, so a slow ClickHouse
// slows the consumers (back-pressure) instead of growing memory: at most
// queueSize calls wait while one batch is written.
type batcher struct {
	s        *Store
	size     int
	interval time.Duration
	in       chan request

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	wg     sync.WaitGroup
}

type request struct {
	rows []schemas.AgentEvent
	done chan error // buffered, so the loop never blocks on a caller that left
}

func newBatcher(s *Store, size int, interval time.Duration, queue int) *batcher {
	b := &batcher{s: s, size: size, interval: interval, in: make(chan request, queue)}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.run()
	}()
	return b
}

// add queues rows and waits until they are stored or ctx ends.
func (b *batcher) add(ctx context.Context, rows []schemas.AgentEvent) error {
	r := request{rows: rows, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("insert events: %w", errClosed)
	}
	select {
	case b.in <- r:
		b.s.m.pendingRows.Add(float64(len(rows)))
	case <-ctx.Done():
		b.mu.RUnlock()
		return fmt.Errorf("insert events: waiting for a batch slot: %w", ctx.Err())
	case <-b.s.ctx.Done():
		b.mu.RUnlock()
		return fmt.Errorf("insert events: %w", errClosed)
	}
	b.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The rows may still be stored; that is harmless because writes
		// are idempotent, and the caller will not commit its offset.
		return fmt.Errorf("insert events: waiting for the batch to be stored: %w", ctx.Err())
	}
}

func (b *batcher) run() {
	var (
		pending []request
		rows    int
		timer   *time.Timer
		timeout <-chan time.Time
	)
	flush := func() {
		if timer != nil {
			timer.Stop()
			timer, timeout = nil, nil
		}
		if len(pending) == 0 {
			return
		}
		all := make([]schemas.AgentEvent, 0, rows)
		for _, r := range pending {
			all = append(all, r.rows...)
		}
		err := b.s.writeEvents(b.s.ctx, all, b.size)
		if err != nil && !Retryable(err) && len(pending) > 1 && b.s.ctx.Err() == nil {
			// A permanent error is caused by some row; write each caller's
			// rows on their own so that only the caller who sent the bad
			// row gets the error and the others are not held back.
			for _, r := range pending {
				r.done <- b.s.writeEvents(b.s.ctx, r.rows, b.size)
			}
		} else {
			for _, r := range pending {
				r.done <- err
			}
		}
		b.s.m.pendingRows.Sub(float64(rows))
		pending, rows = nil, 0
	}
	for {
		select {
		case r, ok := <-b.in:
			if !ok {
				flush()
				return
			}
			pending = append(pending, r)
			rows += len(r.rows)
			if rows >= b.size {
				flush()
			} else if timer == nil {
				timer = time.NewTimer(b.interval)
				timeout = timer.C
			}
		case <-timeout:
			flush()
		}
	}
}

// close stops new calls, flushes what was accepted and waits for the loop.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	b.wg.Wait()
}
