package bus

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestPublishFetchCommitResume(t *testing.T) {
	b := newTestBus(t)
	cfg := b.topics(t, 3)
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p, err := NewProducer(cfg, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	first := keyed(cfg.Topics.Events, "a", 30, 7)
	first[0].Headers = map[string]string{"reason": "x"}
	if err := p.Publish(ctx, first...); err != nil {
		t.Fatalf("publish: %v", err)
	}

	var assigned [][]int
	c, err := NewConsumer(cfg, "g1", cfg.Topics.Events, reg, testLogger(t), OnAssign(func(ps []int) { assigned = append(assigned, ps) }))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Message{}
	for len(got) < len(first) {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatalf("fetch after %d messages: %v", len(got), err)
		}
		got[string(m.Value)] = m
		if err := c.Commit(ctx, m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	if len(assigned) != 1 || !slices.Equal(assigned[0], []int{0, 1, 2}) {
		t.Errorf("OnAssign calls = %v, want one call with [0 1 2]", assigned)
	}
	if h := got["a-0"].Headers["reason"]; h != "x" {
		t.Errorf("header reason = %q, want x", h)
	}
	// Every message of one key lands on one partition: the key's murmur2.
	for _, m := range got {
		if want := javaPartition(m.Key, 3); m.Partition != want {
			t.Errorf("key %s on partition %d, want %d", m.Key, m.Partition, want)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// A new member of the same group starts at the committed offsets:
	// it sees only what was published after.
	second := keyed(cfg.Topics.Events, "b", 10, 7)
	if err := p.Publish(ctx, second...); err != nil {
		t.Fatalf("publish: %v", err)
	}
	c2, err := NewConsumer(cfg, "g1", cfg.Topics.Events, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	var seen []string
	for len(seen) < len(second) {
		batch, err := c2.FetchBatch(ctx, 100, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("fetch batch: %v", err)
		}
		for _, m := range batch {
			seen = append(seen, string(m.Value))
		}
		if err := c2.Commit(ctx, batch...); err != nil {
			t.Fatalf("commit batch: %v", err)
		}
	}
	for _, v := range seen {
		if v[0] != 'b' {
			t.Errorf("resumed consumer saw %q, published before the commit", v)
		}
	}
	if len(seen) != len(second) {
		t.Errorf("resumed consumer saw %d messages, want %d", len(seen), len(second))
	}
	if n := value(t, c2.m.published.WithLabelValues(cfg.Topics.Events)); n != 40 {
		t.Errorf("published counter = %v, want 40", n)
	}
	if n := value(t, c2.m.committed.WithLabelValues(cfg.Topics.Events, "g1")); n != 40 {
		t.Errorf("committed counter = %v, want 40", n)
	}
	if n := value(t, c2.m.lag.WithLabelValues(cfg.Topics.Events, "g1")); n != 0 {
		t.Errorf("lag after committing everything = %v, want 0", n)
	}
	if !slices.Equal(c2.Assigned(), []int{0, 1, 2}) {
		t.Errorf("Assigned() = %v, want [0 1 2]", c2.Assigned())
	}
}

func TestReadAll(t *testing.T) {
	b := newTestBus(t)
	cfg := b.topics(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProducer(cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Publish(ctx, keyed(cfg.Topics.DLQ, "d", 25, 5)...); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = ReadAll(ctx, cfg.Brokers, cfg.Topics.DLQ, func(m Message) error { got = append(got, string(m.Value)); return nil })
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	if len(got) != 25 {
		t.Fatalf("read %d messages, want 25: %v", len(got), got)
	}
	slices.Sort(got)
	if got = slices.Compact(got); len(got) != 25 {
		t.Errorf("duplicates in read all")
	}
	// An empty topic reads as nothing, at once.
	n := 0
	if err := ReadAll(ctx, cfg.Brokers, cfg.Topics.Alerts, func(Message) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("read all of empty topic: n=%d err=%v", n, err)
	}
	// fn's error stops the read and is wrapped.
	stop := fmt.Errorf("stop here")
	if err := ReadAll(ctx, cfg.Brokers, cfg.Topics.DLQ, func(Message) error { return stop }); err == nil || !errorsIs(err, stop) {
		t.Errorf("read all with failing fn: err = %v, want wrapping %v", err, stop)
	}
	if err := ReadAll(ctx, cfg.Brokers, "no.such.topic", func(Message) error { return nil }); err == nil {
		t.Errorf("read all of a missing topic: want an error")
	}
}

// value reads a counter's or gauge's current value.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestCompressedRoundTrip publishes with each codec and reads back every
// key, value and header intact.
func TestCompressedRoundTrip(t *testing.T) {
	b := newTestBus(t)
	for _, codec := range []string{"lz4", "snappy", "gzip", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			cfg := b.topics(t, 2)
			cfg.Compression = codec
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			p, err := NewProducer(cfg, nil, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			msgs := keyed(cfg.Topics.Events, codec, 200, 5)
			for i := range msgs {
				msgs[i].Headers = map[string]string{"format": "canonical", "n": strconv.Itoa(i)}
			}
			if err := p.Publish(ctx, msgs...); err != nil {
				t.Fatalf("publish: %v", err)
			}
			c, err := NewConsumer(cfg, "g-"+codec, cfg.Topics.Events, nil, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := map[string]Message{}
			for len(got) < len(msgs) {
				batch, err := c.FetchBatch(ctx, 500, 50*time.Millisecond)
				if err != nil {
					t.Fatalf("fetch after %d: %v", len(got), err)
				}
				for _, m := range batch {
					got[string(m.Value)] = m
				}
			}
			for i, m := range msgs {
				g, ok := got[string(m.Value)]
				if !ok || string(g.Key) != string(m.Key) || g.Headers["n"] != strconv.Itoa(i) || g.Headers["format"] != "canonical" {
					t.Fatalf("message %d read back as %+v (found %v)", i, g, ok)
				}
			}
		})
	}
}
