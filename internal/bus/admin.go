package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// EnsureTopics creates the four configured topics that do not exist yet
// (cfg.Partitions partitions, cfg.ReplicationFactor replicas) and waits
// until every one of them has a leader for each partition, so a producer
// started right after does not race topic creation.
func EnsureTopics(ctx context.Context, cfg Config) error {
	if len(cfg.Brokers) == 0 {
		return errors.New("bus: ensure topics: bus.brokers is empty")
	}
	client := newClient(cfg.Brokers, cfg)
	defer closeClient(client)
	topics := cfg.Topics.List()
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		if err := validTopic(t); err != nil {
			return fmt.Errorf("bus: ensure topics: %w", err)
		}
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor})
	}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("bus: ensure topics %v on %v: %w", topics, cfg.Brokers, err)
	}
	var errs []error
	for t, e := range resp.Errors {
		if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", t, e))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bus: ensure topics: %w", err)
	}
	return waitTopics(ctx, client, topics)
}

// waitTopics polls metadata until every topic has a leader for each of
// its partitions, for at most 30 seconds.
func waitTopics(ctx context.Context, client *kafka.Client, topics []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var missing string
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err == nil {
			missing = firstUnready(meta, topics)
		} else {
			missing = err.Error()
		}
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: ensure topics: waiting for topic leaders (%s): %w", missing, ctx.Err())
		case <-tick.C:
		}
	}
}

func firstUnready(meta *kafka.MetadataResponse, topics []string) string {
	for _, want := range topics {
		i := slices.IndexFunc(meta.Topics, func(t kafka.Topic) bool { return t.Name == want })
		if i < 0 {
			return want + ": not in metadata"
		}
		t := meta.Topics[i]
		if t.Error != nil {
			return fmt.Sprintf("%s: %v", want, t.Error)
		}
		if len(t.Partitions) == 0 {
			return want + ": no partitions"
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return fmt.Sprintf("%s/%d: no leader", want, p.ID)
			}
		}
	}
	return ""
}

// ReadAll calls fn for every message of topic, partition by partition,
// from the first retained offset up to the end as it was when ReadAll
// started, without a consumer group (nothing is committed). It stops at
// the first error fn returns.
func ReadAll(ctx context.Context, brokers []string, topic string, fn func(Message) error) error {
	if len(brokers) == 0 {
		return errors.New("bus: read all: no broker address")
	}
	cfg := DefaultConfig().WithBrokers(brokers)
	client := newClient(brokers, cfg)
	defer closeClient(client)
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("bus: read all %s: metadata: %w", topic, err)
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		var terr error = errors.New("topic missing from metadata")
		if len(meta.Topics) == 1 {
			terr = meta.Topics[0].Error
		}
		return fmt.Errorf("bus: read all %s: %w", topic, terr)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return fmt.Errorf("bus: read all %s: list offsets: %w", topic, err)
	}
	parts := offs.Topics[topic]
	slices.SortFunc(parts, func(a, b kafka.PartitionOffsets) int { return a.Partition - b.Partition })
	for _, po := range parts {
		if po.Error != nil {
			return fmt.Errorf("bus: read all %s/%d: list offsets: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= po.FirstOffset {
			continue
		}
		if err := readRange(ctx, cfg, topic, po.Partition, po.FirstOffset, po.LastOffset, fn); err != nil {
			return err
		}
	}
	return nil
}

// readRange reads offsets [first, end) of one partition. Our topics are
// written without transactions, so every offset below end holds a record
// and the last one ends the read.
func readRange(ctx context.Context, cfg Config, topic string, partition int, first, end int64, fn func(Message) error) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Topic: topic, Partition: partition, Dialer: dialer(cfg),
		MinBytes: 1, MaxBytes: cfg.MaxBytes, MaxWait: cfg.MaxWait,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return fmt.Errorf("bus: read all %s/%d: seek to %d: %w", topic, partition, first, err)
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("bus: read all %s/%d at offset %d: %w", topic, partition, r.Offset(), err)
		}
		if err := fn(fromKafka(m)); err != nil {
			return fmt.Errorf("bus: read all %s/%d offset %d: %w", topic, partition, m.Offset, err)
		}
		if m.Offset+1 >= end {
			return nil
		}
	}
}

func newClient(brokers []string, cfg Config) *kafka.Client {
	return &kafka.Client{
		Addr:    kafka.TCP(brokers...),
		Timeout: cfg.DialTimeout,
		Transport: &kafka.Transport{
			ClientID:    cfg.ClientID,
			DialTimeout: cfg.DialTimeout,
			Dial:        (&net.Dialer{Timeout: cfg.DialTimeout}).DialContext,
		},
	}
}

// closeClient releases the pooled connections of a client from newClient.
func closeClient(c *kafka.Client) {
	if t, ok := c.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
}
