package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// childEnv carries a JSON Config to a copy of the test binary that runs
// one stage as its own process, so a test can kill it with SIGKILL.
const childEnv = "AGENTWATCH_TEST_CHILD_CONFIG"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec, os.Getenv("AGENTWATCH_TEST_CHILD_STAGE")))
	}
	os.Exit(m.Run())
}

func runChild(spec, stage string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	a, err := Open(ctx, cfg, Options{Inventory: inventory.Empty(), Log: NewLogger(LogConfig{Level: "warn", Format: "text"}, os.Stderr)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		return 2
	}
	defer a.Close()
	if err := a.RunStages(ctx, []string{stage}, Hooks{}); err != nil {
		fmt.Fprintln(os.Stderr, "child run:", err)
		return 1
	}
	return 0
}

func startChild(t *testing.T, cfg Config, stage string) *exec.Cmd {
	t.Helper()
	spec, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec), "AGENTWATCH_TEST_CHILD_STAGE="+stage)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	return cmd
}

func queryInt(t *testing.T, st store.Store, q string) int64 {
	t.Helper()
	res, err := st.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var n int64
	fmt.Sscan(fmt.Sprint(res.Rows[0][0]), &n)
	return n
}

// TestProductionWorkerKilledMidStream runs two baseline workers as separate
// processes in one consumer group on real Kafka and ClickHouse, kills one
// with SIGKILL while both are busy, and checks with SQL that the survivor
// took over and every event is counted exactly once, in the events table
// and in the windows.
func TestProductionWorkerKilledMidStream(t *testing.T) {
	cfg := prodConfig(t)
	cfg.Store.ClickHouse.BatchSize = 200
	cfg.Pipeline.BatchSize = 100
	cfg.Pipeline.BaselineBatchSize = 100
	ctx := context.Background()
	if err := bus.EnsureTopics(ctx, cfg.Bus); err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	const agents, perAgent = 30, 200 // 6000 events, 10 per hour per agent
	var evs []schemas.AgentEvent
	for i := 0; i < perAgent; i++ {
		for a := 0; a < agents; a++ {
			ev := supportEvent(i*agents+a, day0.Add(time.Duration(i)*6*time.Minute), "tickets.read", "mcp:zendesk")
			ev.AgentID = fmt.Sprintf("agent-%02d", a)
			evs = append(evs, ev)
		}
	}
	prod, err := bus.NewProducer(cfg.Bus, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	publish := func(evs []schemas.AgentEvent) {
		msgs := make([]bus.Message, len(evs))
		for i := range evs {
			b, _ := json.Marshal(&evs[i])
			msgs[i] = bus.Message{Topic: cfg.Bus.Topics.Events, Key: []byte(evs[i].AgentID), Value: b}
		}
		if err := prod.Publish(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}

	a := startChild(t, cfg, StageBaseline)
	b := startChild(t, cfg, StageBaseline)
	publish(evs)
	waitFor(t, 60*time.Second, "the workers to store a first part", func() bool {
		return queryInt(t, st, "SELECT uniqExact(event_id) FROM events") >= int64(len(evs))/5
	})
	if err := a.Process.Kill(); err != nil { // SIGKILL: no drain, no flush, no commit
		t.Fatal(err)
	}
	_, _ = a.Process.Wait()

	waitFor(t, 90*time.Second, "the survivor to store every event", func() bool {
		return queryInt(t, st, "SELECT uniqExact(event_id) FROM events") == int64(len(evs))
	})
	// One event per agent two hours later closes every agent's windows.
	var closers []schemas.AgentEvent
	for i := 0; i < agents; i++ {
		ev := supportEvent(len(evs)+i, day0.Add(time.Duration(perAgent)*6*time.Minute+2*time.Hour), "tickets.read", "mcp:zendesk")
		ev.AgentID = fmt.Sprintf("agent-%02d", i)
		closers = append(closers, ev)
	}
	publish(closers)
	windowEvents := `SELECT sum(events) FROM (
		SELECT agent_id, window_start, argMax(events, updated_at) AS events
		FROM agent_windows GROUP BY agent_id, window_start)`
	waitFor(t, 90*time.Second, "every window to close", func() bool {
		return queryInt(t, st, windowEvents) >= int64(len(evs))
	})
	if err := b.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = b.Wait()

	if n := queryInt(t, st, "SELECT uniqExact(event_id) FROM events"); n != int64(len(evs)+agents) {
		t.Errorf("distinct events stored = %d, want %d", n, len(evs)+agents)
	}
	if n := queryInt(t, st, windowEvents); n != int64(len(evs)) {
		t.Errorf("events counted in windows = %d, want %d (each exactly once)", n, len(evs))
	}
	if n := queryInt(t, st, "SELECT count() FROM (SELECT agent_id, window_start FROM agent_windows GROUP BY agent_id, window_start)"); n != int64(agents*perAgent/10) {
		t.Errorf("windows = %d, want %d", n, agents*perAgent/10)
	}
}
