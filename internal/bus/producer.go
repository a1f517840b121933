package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/agentwatch/agentwatch/internal/retry"
)

// Producer publishes messages with acks=all, keys hashed with murmur2
// exactly as the Java client's default partitioner does, so a shipper
// that keys by agent_id and agentwatch agree on the partition of every
// agent.
//
// It sends one produce request per partition (split at BatchBytes) with
// kafka-go's Client rather than its Writer: the Writer looks the topic's
// metadata up once per message and hands every message through its own
// batching goroutines, which cost more CPU than the rest of a publish.
// Publish already holds a whole batch, so no further batching is needed.
type Producer struct {
	client *kafka.Client
	// transport is ours, so Close must release its pooled connections.
	transport *kafka.Transport
	cfg       Config
	codec     kafka.Compression
	m         *metrics
	log       *slog.Logger

	mu         sync.Mutex
	partitions map[string]topicPartitions // cached per topic
}

type topicPartitions struct {
	ids     []int
	fetched time.Time
}

// partitionsTTL bounds how long a topic's partition list is trusted;
// partitions added to a topic are picked up within it.
const partitionsTTL = 30 * time.Second

// produceRetry bounds the retries of one partition's request on a
// retriable error (leader moving, broker restarting).
var produceRetry = retry.Policy{Initial: 100 * time.Millisecond, Max: time.Second, Attempts: 10}

var _ Publisher = (*Producer)(nil)

// NewProducer builds a producer; it connects lazily on the first Publish.
func NewProducer(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus: new producer: %w", err)
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("bus: new producer: bus.brokers is empty (start the embedded broker first and use Config.WithBrokers)")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	transport := &kafka.Transport{
		ClientID:    cfg.ClientID,
		DialTimeout: cfg.DialTimeout,
		Dial:        (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
		MetadataTTL: partitionsTTL,
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: transport, Timeout: 30 * time.Second}
	codec, _ := codec(cfg.Compression) // validated above
	return &Producer{client: client, transport: transport, cfg: cfg, codec: codec, m: newMetrics(reg), log: log, partitions: map[string]topicPartitions{}}, nil
}

// Publish writes msgs and returns nil once the broker has acknowledged all
// of them. Each message must name its Topic. On failure the error says how
// many of the messages failed; the caller must not commit what produced
// them, and may publish them again (consumers are idempotent).
func (p *Producer) Publish(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	type target struct {
		topic     string
		partition int
	}
	groups := map[target][]int{} // message indexes, in publish order
	order := []target{}
	bal := kafka.Murmur2Balancer{}
	now := time.Now()
	var topic string // of the previous message: batches are mostly one topic
	var parts []int
	for i := range msgs {
		m := &msgs[i]
		if m.Topic == "" {
			return fmt.Errorf("bus: publish: message %d has no topic", i)
		}
		if m.Topic != topic {
			var err error
			if parts, err = p.topicPartitions(ctx, m.Topic); err != nil {
				p.m.publishErrors.WithLabelValues(m.Topic).Add(float64(len(msgs)))
				return fmt.Errorf("bus: publish %d messages: %w", len(msgs), err)
			}
			topic = m.Topic
		}
		// Keyed messages: murmur2(key) mod partitions, as in Java.
		// Messages without a key are spread at random.
		t := target{m.Topic, bal.Balance(kafka.Message{Key: m.Key}, parts...)}
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], i)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for gi, t := range order {
		wg.Go(func() {
			errs[gi] = p.produce(ctx, t.topic, t.partition, msgs, groups[t], now)
		})
	}
	wg.Wait()
	failed := 0
	var first error
	ok := map[string]int{}
	bad := map[string]int{}
	for gi, t := range order {
		n := len(groups[t])
		if errs[gi] != nil {
			failed += n
			bad[t.topic] += n
			if first == nil {
				first = fmt.Errorf("%s/%d: %w", t.topic, t.partition, errs[gi])
			}
		} else {
			ok[t.topic] += n
		}
	}
	for t, n := range ok {
		p.m.published.WithLabelValues(t).Add(float64(n))
	}
	for t, n := range bad {
		p.m.publishErrors.WithLabelValues(t).Add(float64(n))
	}
	if first != nil {
		return fmt.Errorf("bus: publish: %d of %d messages failed: %w", failed, len(msgs), first)
	}
	return nil
}

// produce sends the messages at idx to one partition, in order, in
// requests of at most BatchBytes, retrying retriable errors.
func (p *Producer) produce(ctx context.Context, topic string, partition int, msgs []Message, idx []int, now time.Time) error {
	for len(idx) > 0 {
		n, size := 0, 0
		for n < len(idx) {
			m := &msgs[idx[n]]
			s := len(m.Key) + len(m.Value) + 32
			for k, v := range m.Headers {
				s += len(k) + len(v) + 8
			}
			if int64(s) > p.cfg.BatchBytes {
				return fmt.Errorf("message of %d bytes is larger than bus.batch_bytes (%d)", s, p.cfg.BatchBytes)
			}
			if n > 0 && int64(size+s) > p.cfg.BatchBytes {
				break
			}
			size += s
			n++
		}
		if err := p.produceOnce(ctx, topic, partition, msgs, idx[:n], now); err != nil {
			return err
		}
		idx = idx[n:]
	}
	return nil
}

func (p *Producer) produceOnce(ctx context.Context, topic string, partition int, msgs []Message, idx []int, now time.Time) error {
	records := make([]kafka.Record, len(idx))
	return retry.Do(ctx, produceRetry, func(ctx context.Context) error {
		// A record's key and value are readers, used up by a request:
		// every attempt builds its records afresh.
		for j, i := range idx {
			m := &msgs[i]
			r := kafka.Record{Time: m.Time, Value: kafka.NewBytes(m.Value)}
			if r.Time.IsZero() {
				r.Time = now
			}
			if m.Key != nil {
				r.Key = kafka.NewBytes(m.Key)
			}
			if len(m.Headers) > 0 {
				r.Headers = make([]kafka.Header, 0, len(m.Headers))
				for k, v := range m.Headers {
					r.Headers = append(r.Headers, kafka.Header{Key: k, Value: []byte(v)})
				}
			}
			records[j] = r
		}
		res, err := p.client.Produce(ctx, &kafka.ProduceRequest{
			Topic: topic, Partition: partition, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(records...), Compression: p.codec,
		})
		if err == nil && res != nil {
			err = res.Error
			if err == nil && len(res.RecordErrors) > 0 {
				for _, e := range res.RecordErrors {
					err = fmt.Errorf("%d records rejected: %w", len(res.RecordErrors), e)
					break
				}
			}
		}
		if err != nil && !retriable(err) {
			return retry.Permanent(err)
		}
		return err
	}, func(attempt int, err error, wait time.Duration) {
		p.log.Warn("kafka produce failed; retrying", "topic", topic, "partition", partition, "attempt", attempt, "wait", wait, "err", err)
		// The partition may have moved or the topic changed: look again.
		p.forget(topic)
	})
}

// retriable reports whether a produce error may pass by itself.
func retriable(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded)
}

// topicPartitions returns the topic's partition ids, from the cache while
// it is fresh. A topic that does not exist is an error: topics are
// created by EnsureTopics with the configured partition count, and a typo
// in a name should fail rather than create a stray topic.
func (p *Producer) topicPartitions(ctx context.Context, topic string) ([]int, error) {
	p.mu.Lock()
	tp, ok := p.partitions[topic]
	p.mu.Unlock()
	if ok && time.Since(tp.fetched) < partitionsTTL {
		return tp.ids, nil
	}
	res, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of topic %s: %w", topic, err)
	}
	for _, t := range res.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", topic, t.Error)
		}
		if len(t.Partitions) == 0 {
			return nil, fmt.Errorf("topic %s: %w", topic, kafka.UnknownTopicOrPartition)
		}
		ids := make([]int, len(t.Partitions))
		for i, pt := range t.Partitions {
			ids[i] = pt.ID
		}
		slices.Sort(ids)
		p.mu.Lock()
		p.partitions[topic] = topicPartitions{ids: ids, fetched: time.Now()}
		p.mu.Unlock()
		return ids, nil
	}
	return nil, fmt.Errorf("topic %s: %w", topic, kafka.UnknownTopicOrPartition)
}

func (p *Producer) forget(topic string) {
	p.mu.Lock()
	delete(p.partitions, topic)
	p.mu.Unlock()
}

// Close releases the producer's connections. Publish is synchronous, so
// nothing is left to flush.
func (p *Producer) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}
