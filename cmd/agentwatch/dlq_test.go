package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentwatch/agentwatch/internal/bus"
)

// TestDLQListReadsTheEmbeddedLog: dead letters of an embedded run stay in
// its log, so `dlq list` reads them after the run; while another process
// holds the log, it says so.
func TestDLQListReadsTheEmbeddedLog(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events.ndjson")
	good := `{"event_id":"e1","time":"2026-03-02T10:00:00Z","source":"test","agent_id":"bot","action":"read","system":"crm","outcome":"success"}`
	if err := os.WriteFile(file, []byte(good+"\n"+`{"event_id":"broken`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ctx := context.Background()
	if _, e, err := cli(t, ctx, nil, "ingest", "--file", file, "--data-dir", data, "--log-level", "error", "--set", "store.retention_days=0"); err != nil {
		t.Fatalf("ingest --file: %v\n%s", err, e)
	}
	out, e, err := cli(t, ctx, nil, "dlq", "list", "--data-dir", data, "--log-level", "error")
	if err != nil {
		t.Fatalf("dlq list: %v\n%s", err, e)
	}
	if !strings.Contains(out, "1 dead letters") || !strings.Contains(out, `{"event_id":"broken`) {
		t.Errorf("dlq list after an embedded load:\n%s\nwant the one broken line", out)
	}

	ecfg := bus.DefaultConfig().Embedded
	ecfg.Enabled, ecfg.Dir = true, filepath.Join(data, "broker")
	emb, err := bus.StartEmbedded(ctx, ecfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	if _, _, err := cli(t, ctx, nil, "dlq", "list", "--data-dir", data, "--log-level", "error"); err == nil || !strings.Contains(err.Error(), "in use by another agentwatch process") {
		t.Errorf("dlq list while another process holds the log: %v", err)
	}
}
