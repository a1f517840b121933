package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDryRunAndPlaygroundCheck: `run --dry-run` records the incidents and
// notifies nobody, and prints (and keeps in the data directory) the
// playground report at exit; `playground check` then replays the stored
// events and suggests the widening that quiets them.
func TestDryRunAndPlaygroundCheck(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "agents.yaml")
	if err := os.WriteFile(inv, []byte("agents:\n  - id: bot\n    owner: team\n    playground:\n      systems: [crm]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, metrics := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var out, errb syncBuffer
	go func() {
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: func() []string { return nil }}
		done <- runCLI(ctx, env, []string{"run", "--dry-run", "--data-dir", dir, "--inventory", inv, "--set", "http.listen=" + listen,
			"--set", "http.metrics_listen=" + metrics, "--log-level", "warn", "--set", "store.retention_days=0"})
	}()
	waitRunReady(t, metrics, &errb)
	// The agent reads payroll, outside its declared systems, in two
	// different hours: a habit its owner forgot to declare.
	var lines []string
	for i := 0; i < 30; i++ {
		sys := "crm"
		if i%10 == 9 {
			sys = "payroll"
		}
		lines = append(lines, fmt.Sprintf(`{"event_id":"e%d","time":"2026-03-02T%02d:%02d:00Z","source":"test","agent_id":"bot","action":"read","system":"%s","outcome":"success"}`,
			i, 10+i/10, i, sys))
	}
	resp, err := http.Post("http://"+listen+"/v1/events", "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitMetric(t, metrics, `agentwatch_stage_events_total{result="out",stage="alerts"}`)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run exited with %v\n%s", err, errb.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("run did not drain and exit")
	}
	stdout := out.String()
	if strings.Contains(stdout, "score=") {
		t.Errorf("a dry run notified the console:\n%s", stdout)
	}
	for _, want := range []string{"dry-run report: what agentwatch would have raised since", "bot    playground.declared  both      1          3",
		"1 incidents in all."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	kept, err := os.ReadFile(filepath.Join(dir, dryRunReport))
	if err != nil || !strings.Contains(string(kept), "bot    playground.declared") {
		t.Fatalf("kept report: %v\n%s", err, kept)
	}
	o, e, err := cli(t, context.Background(), nil, "sql", "SELECT detector, dry_run, count FROM alerts", "--data-dir", dir, "--format", "csv")
	if err != nil || strings.TrimSpace(o) != "detector,dry_run,count\nplayground.declared,1,3" {
		t.Fatalf("alerts table: %q %v %s", o, err, e)
	}

	// The replay finds the same incident and suggests declaring payroll.
	o, e, err = cli(t, context.Background(), nil, "playground", "check", "bot", "--days", "2", "--until", "2026-03-02", "--data-dir", dir, "--inventory", inv)
	if err != nil {
		t.Fatalf("playground check: %v %s", err, e)
	}
	for _, want := range []string{"playground check: bot, 2 days of stored events (2026-03-01 00:00 to 2026-03-03 00:00 UTC)",
		"30 events from 2026-03-02 10:00 to 2026-03-02 12:29 UTC", "bot    playground.declared  both      1          3",
		"        - payroll  # added: 3 events in 3 hours"} {
		if !strings.Contains(o, want) {
			t.Errorf("playground check lacks %q:\n%s", want, o)
		}
	}
	// An empty period says where the events are.
	o, _, err = cli(t, context.Background(), nil, "playground", "check", "--days", "1", "--until", "2026-01-01", "--data-dir", dir, "--inventory", inv)
	if err != nil || !strings.Contains(o, "quiet: no incident") || !strings.Contains(o, "the latest stored event is at 2026-03-02T12:29:00Z") {
		t.Fatalf("empty period: %v\n%s", err, o)
	}
	if _, _, err := cli(t, context.Background(), nil, "playground", "check", "--until", "yesterday", "--data-dir", dir); err == nil ||
		!strings.Contains(err.Error(), `--until: "yesterday" is neither RFC 3339`) {
		t.Fatalf("bad --until: %v", err)
	}
}
