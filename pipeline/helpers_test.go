package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// pipeline is an embedded agentwatch run inside a test.
type pipeline struct {
	t      *testing.T
	app    *App
	cancel context.CancelFunc
	done   chan error
	disp   *alerts.Dispatcher

	mu     sync.Mutex
	alerts []schemas.Alert
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("AGENTWATCH_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig(dataDir string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	cfg.HTTP.Listen = ""
	cfg.HTTP.MetricsListen = ""
	cfg.Bus.Partitions = 1
	cfg.Bus.Embedded.Partitions = 1
	cfg.Pipeline.BatchWait = 10 * time.Millisecond
	cfg.Pipeline.DrainTimeout = 10 * time.Second
	// The tests' events are from March 2026; retention would drop them.
	cfg.Store.RetentionDays = 0
	cfg.resolvePaths()
	return cfg
}

// startPipeline opens an App on cfg and runs every stage.
func startPipeline(t *testing.T, cfg Config, inv *inventory.Inventory) *pipeline {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg, Options{Log: testLogger(t), Inventory: inv})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &pipeline{t: t, app: a, cancel: cancel, done: make(chan error, 1)}
	disp, err := alerts.NewDispatcher(cfg.Alerts, inv, alerts.WithRegisterer(a.Reg), alerts.WithLogger(a.Log), alerts.WithConsole(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	hooks := Hooks{Dispatcher: disp, OnAlert: func(al schemas.Alert) {
		p.mu.Lock()
		p.alerts = append(p.alerts, al)
		p.mu.Unlock()
	}}
	go func() { p.done <- a.RunStages(ctx, AllStages, hooks) }()
	p.disp = disp
	t.Cleanup(func() { p.stop(); disp.Close() })
	return p
}

// stop drains the pipeline and closes it; safe to call twice.
func (p *pipeline) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("pipeline stopped with error: %v", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Errorf("pipeline did not stop within 30s")
	}
	p.app.Close()
	p.cancel = nil
}

// ship publishes raw records on the ingest topic with a plain kafka-go
// writer, as an external shipper would.
func (p *pipeline) ship(headers map[string]string, records ...[]byte) {
	p.t.Helper()
	p.shipKeyed(headers, nil, records...)
}

// shipKeyed is ship with a message key per record (nil keys: none). A
// shipper that keys by agent keeps each agent's records in order across
// the ingest topic's partitions.
func (p *pipeline) shipKeyed(headers map[string]string, keys [][]byte, records ...[]byte) {
	p.t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(p.app.Brokers...), Topic: p.app.Cfg.Bus.Topics.Ingest, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Balancer: &kafka.Hash{}}
	defer w.Close()
	msgs := make([]kafka.Message, len(records))
	for i, r := range records {
		msgs[i] = kafka.Message{Value: r}
		if keys != nil {
			msgs[i].Key = keys[i]
		}
		for k, v := range headers {
			msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 1000)
		err := w.WriteMessages(ctx, msgs[:n]...)
		// A topic created a moment ago may not have a leader yet on a
		// busy machine; the broker says so, and the shipper tries again
		// until the deadline, as a real shipper would.
		if errors.Is(err, kafka.UnknownTopicOrPartition) || errors.Is(err, kafka.LeaderNotAvailable) || errors.Is(err, kafka.NotLeaderForPartition) {
			select {
			case <-ctx.Done():
				p.t.Fatalf("ship: %v (and %v)", ctx.Err(), err)
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			p.t.Fatalf("ship: %v", err)
		}
		msgs = msgs[n:]
	}
}

func (p *pipeline) shipEvents(evs []schemas.AgentEvent) {
	p.t.Helper()
	recs := make([][]byte, len(evs))
	keys := make([][]byte, len(evs))
	for i := range evs {
		keys[i] = []byte(evs[i].AgentID)
		b, err := json.Marshal(&evs[i])
		if err != nil {
			p.t.Fatal(err)
		}
		recs[i] = b
	}
	p.shipKeyed(map[string]string{"format": "canonical"}, keys, recs...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// firing returns the alerts seen so far, latest state per alert id.
func (p *pipeline) firing() map[string]schemas.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]schemas.Alert{}
	for _, a := range p.alerts {
		out[a.ID] = a
	}
	return out
}

// waitForSoft polls like waitFor but only reports the timeout, so the
// assertions after it can say what was found.
func waitForSoft(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out after %s waiting for %s", d, what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// prodConfig is a production-mode configuration on the real Kafka and
// ClickHouse named by AGENTWATCH_TEST_KAFKA and AGENTWATCH_TEST_CLICKHOUSE,
// with topics, groups and a database of its own so tests do not see each
// other's data. It skips the test when either is unset.
func prodConfig(t *testing.T) Config {
	t.Helper()
	kafkaAddr, chAddr := os.Getenv("AGENTWATCH_TEST_KAFKA"), os.Getenv("AGENTWATCH_TEST_CLICKHOUSE")
	if kafkaAddr == "" || chAddr == "" {
		t.Skip("needs real Kafka and ClickHouse: set AGENTWATCH_TEST_KAFKA and AGENTWATCH_TEST_CLICKHOUSE")
	}
	suffix := fmt.Sprintf("%s_%d", strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())), time.Now().UnixNano()%1e9)
	cfg := testConfig(t.TempDir())
	cfg.Mode = "production"
	cfg.Bus.Embedded.Enabled = false
	cfg.Bus.Brokers = strings.Split(kafkaAddr, ",")
	cfg.Bus.Partitions = 3
	cfg.Bus.SessionTimeout = 3 * time.Second
	cfg.Bus.HeartbeatInterval = 300 * time.Millisecond
	cfg.Bus.Topics.Ingest += "." + suffix
	cfg.Bus.Topics.Events += "." + suffix
	cfg.Bus.Topics.Alerts += "." + suffix
	cfg.Bus.Topics.DLQ += "." + suffix
	cfg.Pipeline.Groups.Ingest += "-" + suffix
	cfg.Pipeline.Groups.Baseline += "-" + suffix
	cfg.Pipeline.Groups.Detect += "-" + suffix
	cfg.Pipeline.Groups.Alerts += "-" + suffix
	cfg.Store.Backend = "clickhouse"
	cfg.Store.ClickHouse.Addr = strings.Split(chAddr, ",")
	cfg.Store.ClickHouse.Database = "aw_" + suffix
	cfg.Store.ClickHouse.FlushInterval = 100 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}
