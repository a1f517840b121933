package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

func clickhouseScript(t *testing.T, verb string) {
	t.Helper()
	script, err := filepath.Abs("../deploy/local/clickhouse.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, verb).CombinedOutput()
	if err != nil {
		t.Fatalf("clickhouse.sh %s: %v\n%s", verb, err, out)
	}
}

// TestProductionClickHouseOutage stops ClickHouse for 30 s while the
// pipeline is under load on real Kafka: the baseline stage backs off and
// holds its offsets, and after ClickHouse returns it catches up with every
// event stored and counted exactly once.
func TestProductionClickHouseOutage(t *testing.T) {
	if os.Getenv("AGENTWATCH_TEST_CLICKHOUSE_OUTAGE") == "" {
		t.Skip("AGENTWATCH_TEST_CLICKHOUSE_OUTAGE=1 is not set (the test stops the server with deploy/local/clickhouse.sh)")
	}
	cfg := prodConfig(t)
	p := startPipeline(t, cfg, mustInventory(t))
	st := p.app.Store

	const agents, perAgent = 20, 120 // two events per agent per hour, 60 hours
	mk := func(from, to int) []schemas.AgentEvent {
		var evs []schemas.AgentEvent
		for i := from; i < to; i++ {
			for a := 0; a < agents; a++ {
				ev := supportEvent(i*agents+a, day0.Add(time.Duration(i)*30*time.Minute), "tickets.read", "mcp:zendesk")
				ev.AgentID = fmt.Sprintf("agent-%02d", a)
				evs = append(evs, ev)
			}
		}
		return evs
	}
	first, second := mk(0, perAgent/2), mk(perAgent/2, perAgent)
	total := len(first) + len(second)
	p.shipEvents(first)
	waitFor(t, 60*time.Second, "the first half stored", func() bool {
		return queryInt(t, st, "SELECT uniqExact(event_id) FROM events") == int64(len(first))
	})

	clickhouseScript(t, "stop")
	stopped := true
	t.Cleanup(func() {
		if stopped {
			clickhouseScript(t, "start")
		}
	})
	p.shipEvents(second)
	down := time.Now()
	// While ClickHouse is down the baseline stage cannot make the second
	// half durable, so it must not commit it.
	for time.Since(down) < 30*time.Second {
		if c := p.app.Committed(StageBaseline); c > int64(len(first)) {
			t.Fatalf("baseline stage committed %d messages while ClickHouse was down (only %d were stored)", c, len(first))
		}
		time.Sleep(200 * time.Millisecond)
	}
	clickhouseScript(t, "start")
	stopped = false

	waitFor(t, 120*time.Second, "every event stored after the outage", func() bool {
		return p.app.Committed(StageBaseline) >= int64(total)
	})
	var closers []schemas.AgentEvent
	for a := 0; a < agents; a++ {
		ev := supportEvent(total+a, day0.Add(time.Duration(perAgent)*30*time.Minute+2*time.Hour), "tickets.read", "mcp:zendesk")
		ev.AgentID = fmt.Sprintf("agent-%02d", a)
		closers = append(closers, ev)
	}
	p.shipEvents(closers)
	windowEvents := `SELECT sum(events) FROM (
		SELECT agent_id, window_start, argMax(events, updated_at) AS events
		FROM agent_windows GROUP BY agent_id, window_start)`
	waitFor(t, 60*time.Second, "every window closed", func() bool { return queryInt(t, st, windowEvents) >= int64(total) })
	if n := queryInt(t, st, "SELECT uniqExact(event_id) FROM events"); n != int64(total+agents) {
		t.Errorf("distinct events = %d, want %d", n, total+agents)
	}
	if n := queryInt(t, st, windowEvents); n != int64(total) {
		t.Errorf("events counted in windows = %d, want %d", n, total)
	}
}
