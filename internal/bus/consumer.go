package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// ErrClosed is returned by Fetch, FetchBatch and Commit after Close.
var ErrClosed = errors.New("bus: consumer closed")

// Consumer is one member of a consumer group reading one topic.
//
// It is built on kafka-go's ConsumerGroup/Generation API rather than on a
// group Reader because stateful stages must learn when partitions move:
// the Reader hides rebalances, a Generation names its assignment. Each
// assigned partition gets a partition Reader started at the committed
// offset; their messages meet in one channel that Fetch drains.
//
// Fetch, FetchBatch and Commit may be called from one goroutine (the
// stage's loop); Assigned may be called from any goroutine.
type Consumer struct {
	cfg      Config
	group    string
	topic    string
	log      *slog.Logger
	m        *metrics
	onAssign func(partitions []int)

	// consumed and lag are this member's series, resolved once.
	consumed prometheus.Counter
	lag      prometheus.Gauge

	cg     *kafka.ConsumerGroup
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	msgs   chan fetched
	// changed is signalled when a new generation starts, so a Fetch that
	// waits for messages can hand the new assignment to the stage.
	changed chan struct{}

	mu        sync.Mutex
	cur       *generation
	delivered *generation // the one whose assignment the stage has seen

	closeOnce sync.Once
	closeErr  error
}

// generation is one group generation as this member saw it.
type generation struct {
	id         int32
	gen        *kafka.Generation
	partitions []int
	// committed and hwm are per partition; guarded by Consumer.mu.
	committed map[int]int64
	hwm       map[int]int64
}

// fetched carries the generation it was read in; generations are
// compared by identity, not by the broker's id, which a member that was
// evicted and rejoined must not confuse.
type fetched struct {
	gen *generation
	msg kafka.Message
}

// ConsumerOption tunes a Consumer.
type ConsumerOption func(*Consumer)

// OnAssign registers fn to learn the partitions this member owns after
// every rebalance (possibly none). fn runs inside Fetch or FetchBatch, on
// the stage's own goroutine, before the first message of the new
// assignment is returned, so a stateful stage can drop state of
// partitions it lost and reload state for those it gained without locks.
func OnAssign(fn func(partitions []int)) ConsumerOption {
	return func(c *Consumer) { c.onAssign = fn }
}

var _ Fetcher = (*Consumer)(nil)

// NewConsumer joins group on topic and starts fetching in the background.
func NewConsumer(cfg Config, group, topic string, reg prometheus.Registerer, log *slog.Logger, opts ...ConsumerOption) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus: new consumer: %w", err)
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("bus: new consumer: bus.brokers is empty (start the embedded broker first and use Config.WithBrokers)")
	}
	if group == "" {
		return nil, errors.New("bus: new consumer: empty group id")
	}
	if err := validTopic(topic); err != nil {
		return nil, fmt.Errorf("bus: new consumer for group %s: %w", group, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("group", group, "topic", topic)
	start := kafka.FirstOffset
	if cfg.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     group,
		Brokers:                cfg.Brokers,
		Dialer:                 dialer(cfg),
		Topics:                 []string{topic},
		HeartbeatInterval:      cfg.HeartbeatInterval,
		SessionTimeout:         cfg.SessionTimeout,
		RebalanceTimeout:       cfg.RebalanceTimeout,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		RetentionTime:          cfg.OffsetRetention,
		StartOffset:            start,
		Timeout:                cfg.DialTimeout,
		// kafka-go reports routine rebalances ("rebalance in progress")
		// through this logger too, so they are only worth Debug.
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Debug("kafka consumer group", "detail", fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("bus: new consumer for group %s on %s: %w", group, topic, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{
		cfg: cfg, group: group, topic: topic, log: log, m: newMetrics(reg),
		cg: cg, ctx: ctx, cancel: cancel,
		msgs:    make(chan fetched, 4*cfg.BatchSize),
		changed: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(c)
	}
	c.consumed = c.m.consumed.WithLabelValues(topic, group)
	c.lag = c.m.lag.WithLabelValues(topic, group)
	c.lag.Set(0)
	c.wg.Add(1)
	go c.run()
	return c, nil
}

func dialer(cfg Config) *kafka.Dialer {
	return &kafka.Dialer{ClientID: cfg.ClientID, Timeout: cfg.DialTimeout, DualStack: true, KeepAlive: 30 * time.Second}
}

// run follows the group from generation to generation until Close.
func (c *Consumer) run() {
	defer c.wg.Done()
	for {
		gen, err := c.cg.Next(c.ctx)
		if err != nil {
			if c.ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return
			}
			// kafka-go already backs off before rejoining; these are
			// usually transient (coordinator moved, rebalance).
			c.log.Warn("consumer group: joining failed; retrying", "err", err)
			continue
		}
		assigned := gen.Assignments[c.topic]
		g := &generation{id: gen.ID, gen: gen, committed: map[int]int64{}, hwm: map[int]int64{}}
		for _, pa := range assigned {
			g.partitions = append(g.partitions, pa.ID)
			if pa.Offset >= 0 {
				g.committed[pa.ID] = pa.Offset
			}
		}
		slices.Sort(g.partitions)
		c.mu.Lock()
		c.cur = g
		c.mu.Unlock()
		c.m.rebalances.WithLabelValues(c.topic, c.group).Inc()
		c.log.Info("consumer group: partitions assigned", "generation", gen.ID, "partitions", g.partitions)
		select {
		case c.changed <- struct{}{}:
		default:
		}
		for _, pa := range assigned {
			gen.Start(func(ctx context.Context) { c.readPartition(ctx, g, pa) })
		}
	}
}

// readPartition feeds one partition's messages into c.msgs until the
// generation ends. Returning ends the generation, which makes the group
// rebalance, so it returns on a non-context error only.
func (c *Consumer) readPartition(ctx context.Context, g *generation, pa kafka.PartitionAssignment) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        c.cfg.Brokers,
		Topic:          c.topic,
		Partition:      pa.ID,
		Dialer:         dialer(c.cfg),
		MinBytes:       c.cfg.MinBytes,
		MaxBytes:       c.cfg.MaxBytes,
		MaxWait:        c.cfg.MaxWait,
		QueueCapacity:  c.cfg.BatchSize,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: time.Second,
		// Among these: a committed offset already deleted by retention,
		// which kafka-go skips forward from; worth seeing.
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			detail := fmt.Sprintf(msg, args...)
			// An idle partition's long poll ending in a read timeout is
			// retried at once and says nothing an operator can act on.
			if strings.Contains(detail, "i/o timeout") {
				c.log.Debug("kafka partition reader", "partition", pa.ID, "detail", detail)
				return
			}
			c.log.Warn("kafka partition reader", "partition", pa.ID, "detail", detail)
		}),
	})
	defer r.Close()
	if err := r.SetOffset(pa.Offset); err != nil {
		c.log.Error("consumer group: cannot position partition reader", "partition", pa.ID, "offset", pa.Offset, "err", err)
		return
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("consumer group: fetch failed; rejoining", "partition", pa.ID, "err", err)
			}
			return
		}
		select {
		case c.msgs <- fetched{gen: g, msg: m}:
		case <-ctx.Done():
			return
		}
	}
}

// Fetch blocks until the next message of this member's partitions.
func (c *Consumer) Fetch(ctx context.Context) (Message, error) {
	for {
		c.announce()
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("bus: fetch from %s: %w", c.topic, ctx.Err())
		case <-c.ctx.Done():
			return Message{}, ErrClosed
		case <-c.changed:
		case f := <-c.msgs:
			if m, ok := c.accept(f); ok {
				c.consumed.Inc()
				c.updateLag()
				return m, nil
			}
		}
	}
}

// FetchBatch blocks for the first message, then gathers up to max
// messages for at most maxWait. It returns early when the assignment
// changes, so one batch never spans two generations.
func (c *Consumer) FetchBatch(ctx context.Context, max int, maxWait time.Duration) ([]Message, error) {
	if max < 1 {
		return nil, fmt.Errorf("bus: fetch batch from %s: max must be positive, got %d", c.topic, max)
	}
	first, err := c.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	batch := append(make([]Message, 0, min(max, len(c.msgs)+1)), first)
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	defer func() {
		// Counted once per batch: the first message was counted by Fetch.
		c.consumed.Add(float64(len(batch) - 1))
		c.updateLag()
	}()
	for len(batch) < max {
		// Take what is already buffered without waiting on the timer.
		select {
		case f := <-c.msgs:
			if m, ok := c.accept(f); ok {
				batch = append(batch, m)
			}
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return batch, nil
		case <-c.ctx.Done():
			return batch, nil
		case <-timer.C:
			return batch, nil
		case <-c.changed:
			// Leave the signal for the next Fetch to announce.
			select {
			case c.changed <- struct{}{}:
			default:
			}
			return batch, nil
		case f := <-c.msgs:
			if m, ok := c.accept(f); ok {
				batch = append(batch, m)
			}
		}
	}
	return batch, nil
}

// announce hands a new assignment to OnAssign once.
func (c *Consumer) announce() {
	c.mu.Lock()
	g := c.cur
	if g == nil || g == c.delivered {
		c.mu.Unlock()
		return
	}
	c.delivered = g
	parts := slices.Clone(g.partitions)
	c.mu.Unlock()
	if c.onAssign != nil {
		c.onAssign(parts)
	}
}

// accept turns f into a Message unless it belongs to an ended generation:
// those partitions are being re-read by their (possibly new) owner from
// the committed offset, so delivering them here would only duplicate.
func (c *Consumer) accept(f fetched) (Message, bool) {
	c.mu.Lock()
	g := c.cur
	if g == nil || f.gen != g {
		c.mu.Unlock()
		return Message{}, false
	}
	if f.msg.HighWaterMark > 0 {
		g.hwm[f.msg.Partition] = f.msg.HighWaterMark
	}
	fresh := g != c.delivered
	c.mu.Unlock()
	if fresh {
		c.announce()
	}
	return fromKafka(f.msg), true
}

// updateLag refreshes the lag gauge; the fetch paths call it once per
// message or batch handed out, not per message read.
func (c *Consumer) updateLag() {
	c.mu.Lock()
	if g := c.cur; g != nil {
		c.updateLagLocked(g)
	}
	c.mu.Unlock()
}

// updateLagLocked sets the lag gauge: high watermark minus committed
// offset, summed over owned partitions we have fetched from.
func (c *Consumer) updateLagLocked(g *generation) {
	var lag int64
	for p, h := range g.hwm {
		if d := h - g.committed[p]; d > 0 {
			lag += d
		}
	}
	c.lag.Set(float64(lag))
}

// Commit records that msgs are fully handled: for each partition, the
// offset after the highest message. Offsets of partitions this member no
// longer owns are skipped and counted (their new owner redelivers those
// messages), as are commits refused because a rebalance began; neither is
// an error, since at-least-once delivery already covers them.
func (c *Consumer) Commit(ctx context.Context, msgs ...Message) error {
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bus: commit on %s: %w", c.topic, err)
	}
	next := map[int]int64{}
	counts := map[int]int{}
	for _, m := range msgs {
		if m.Topic != c.topic {
			return fmt.Errorf("bus: commit on %s: message from topic %q", c.topic, m.Topic)
		}
		if m.Offset+1 > next[m.Partition] {
			next[m.Partition] = m.Offset + 1
		}
		counts[m.Partition]++
	}
	c.mu.Lock()
	g := c.cur
	offsets := map[int]int64{}
	skipped, committing := 0, 0
	if g != nil {
		for p, off := range next {
			switch {
			case !slices.Contains(g.partitions, p):
				skipped += counts[p]
			case off > g.committed[p]:
				offsets[p] = off
				committing += counts[p]
			}
		}
	} else {
		skipped = len(msgs)
	}
	c.mu.Unlock()
	if skipped > 0 {
		c.m.commitSkipped.WithLabelValues(c.topic, c.group).Add(float64(skipped))
		c.log.Debug("commit: partitions moved to another member; skipped", "messages", skipped)
	}
	if len(offsets) == 0 {
		return nil
	}
	err := g.gen.CommitOffsets(map[string]map[int]int64{c.topic: offsets})
	if err != nil {
		c.mu.Lock()
		ended := c.cur != g
		c.mu.Unlock()
		// kafka-go closes the generation's connection when it ends, so
		// a commit racing a rebalance fails with a closed connection or
		// with one of the group errors; both mean "redelivered later".
		if ended || errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) ||
			errors.Is(err, kafka.UnknownMemberId) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
			c.m.commitSkipped.WithLabelValues(c.topic, c.group).Add(float64(committing))
			c.log.Debug("commit: generation ended before the commit; messages will be redelivered", "err", err)
			return nil
		}
		return fmt.Errorf("bus: commit %d offsets on %s for group %s: %w", len(offsets), c.topic, c.group, err)
	}
	c.mu.Lock()
	for p, off := range offsets {
		if off > g.committed[p] {
			g.committed[p] = off
		}
	}
	c.updateLagLocked(g)
	c.mu.Unlock()
	c.m.committed.WithLabelValues(c.topic, c.group).Add(float64(committing))
	return nil
}

// Assigned returns the partitions this member owns in the current
// generation (nil before the first assignment).
func (c *Consumer) Assigned() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	return slices.Clone(c.cur.partitions)
}

// Close leaves the group (so the partitions move at once rather than after
// the session timeout) and stops the readers. Uncommitted messages are
// redelivered to whoever owns their partition next.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		if err := c.cg.Close(); err != nil {
			c.closeErr = fmt.Errorf("bus: close consumer %s on %s: %w", c.group, c.topic, err)
		}
		c.wg.Wait()
	})
	return c.closeErr
}

func fromKafka(m kafka.Message) Message {
	out := Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Time: m.Time}
	if len(m.Headers) > 0 {
		out.Headers = make(map[string]string, len(m.Headers))
		for _, h := range m.Headers {
			out.Headers[h.Key] = string(h.Value)
		}
	}
	return out
}
