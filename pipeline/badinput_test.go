package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestBadInputGoesToDLQ ships malformed, incomplete and oversized records
// among good ones: each bad one lands on the dead-letter topic with its
// reason and raw bytes, no record is lost, and the good ones after them
// are still processed.
func TestBadInputGoesToDLQ(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Ingest.MaxRecordBytes = 64 << 10
	p := startPipeline(t, cfg, mustInventory(t))

	good := func(i int) []byte {
		ev := supportEvent(i, day0.Add(time.Duration(i)*time.Minute), "tickets.read", "mcp:zendesk")
		b, _ := json.Marshal(&ev)
		return b
	}
	noAgent := supportEvent(100, day0, "tickets.read", "mcp:zendesk")
	// With no agent id but a principal, a record is kept as unattributed
	// activity (itself a finding); with neither, nobody acted.
	noAgent.AgentID, noAgent.Principal = "", ""
	noAgentJSON, _ := json.Marshal(&noAgent)
	noTime := strings.Replace(string(good(101)), `"time":"2026-03-02T01:41:00Z",`, "", 1)
	if strings.Contains(noTime, `"time"`) {
		t.Fatalf("test bug: time not removed from %s", noTime)
	}
	huge := supportEvent(102, day0, "tickets.read", "mcp:zendesk")
	huge.Attributes = map[string]string{"blob": strings.Repeat("x", 100<<10)}
	hugeJSON, _ := json.Marshal(&huge)

	bad := map[string]struct {
		raw    []byte
		reason string
	}{
		"malformed": {[]byte(`{"event_id": "x", "time":`), "json"},
		"no agent":  {noAgentJSON, "agent_id"},
		"no time":   {[]byte(noTime), "time"},
		"oversized": {hugeJSON, "bytes"},
	}
	var records [][]byte
	records = append(records, good(1), good(2))
	for _, b := range bad {
		records = append(records, b.raw)
	}
	records = append(records, good(3), good(4))
	p.ship(map[string]string{"format": "canonical"}, records...)

	waitFor(t, 30*time.Second, "every stage to catch up", func() bool { return p.app.Drained(int64(len(records))) })
	if got := p.app.eventsOut.Load(); got != 4 {
		t.Errorf("canonical events out = %d, want 4", got)
	}

	var dead []ingest.DeadLetter
	waitForSoft(t, 3*time.Second, "four dead letters", func() bool {
		dead = dead[:0]
		err := bus.ReadAll(context.Background(), p.app.Brokers, cfg.Bus.Topics.DLQ, func(m bus.Message) error {
			dead = append(dead, ingest.DeadLetterFromMessage(m))
			return nil
		})
		return err == nil && len(dead) >= 4
	})
	for _, d := range dead {
		t.Logf("dead: %s %s %q", d.Source, d.Format, d.Reason)
	}
	if len(dead) != 4 {
		t.Fatalf("dead letters = %d, want 4", len(dead))
	}
	for name, b := range bad {
		found := false
		for _, d := range dead {
			if string(d.Raw) == string(b.raw) {
				found = true
				if !strings.Contains(strings.ToLower(d.Reason), b.reason) {
					t.Errorf("%s: reason %q does not mention %q", name, d.Reason, b.reason)
				}
				if d.Source == "" {
					t.Errorf("%s: dead letter has no source", name)
				}
			}
		}
		if !found {
			t.Errorf("%s: not on the dead-letter topic with its raw bytes", name)
		}
	}
	res, err := p.app.Store.Query(context.Background(), "SELECT count(*) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0]; n != int64(4) {
		t.Errorf("stored events = %v (%T), want 4", n, n)
	}

	// The pipeline keeps running after the bad input.
	later := supportEvent(200, day0.Add(2*time.Hour), "tickets.read", "mcp:zendesk")
	p.shipEvents([]schemas.AgentEvent{later})
	waitFor(t, 30*time.Second, "the later event", func() bool { return p.app.Drained(int64(len(records) + 1)) })
}
