package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/schemas"
)

// trailStore writes a few events and one incident into data_dir's store.
func trailStore(t *testing.T) string {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Second)
	var evs []schemas.AgentEvent
	for i, who := range []string{"alice", "bob", "alice"} {
		evs = append(evs, schemas.AgentEvent{EventID: fmt.Sprintf("t%d", i), Time: now.Add(-time.Duration(3-i) * time.Hour), Source: "mcp",
			AgentID: "support-bot", AgentInstance: fmt.Sprintf("pod-%d", i%2), OnBehalfOf: who, CredentialID: "tok-1",
			CredentialType: schemas.CredOAuthToken, Action: "tickets.read", System: "mcp:zendesk", Resource: fmt.Sprintf("tickets/%d", i), Outcome: schemas.OutcomeSuccess})
	}
	evs = append(evs, schemas.AgentEvent{EventID: "old", Time: now.Add(-48 * time.Hour), Source: "mcp", AgentID: "support-bot",
		Action: "tickets.read", System: "mcp:zendesk", Outcome: schemas.OutcomeSuccess})
	if err := st.InsertEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	al := schemas.Alert{ID: "inc-1", DedupKey: "support-bot|playground.declared|action:users.export", Detector: "playground.declared",
		Severity: schemas.SeverityHigh, Score: 75, Boundary: schemas.BoundaryDeclared, Identity: schemas.Identity{AgentID: "support-bot"},
		Subject: "action:users.export", Summary: "x", FirstSeen: now, LastSeen: now, Count: 1, Status: schemas.StatusFiring}
	if err := st.UpsertAlerts(context.Background(), []schemas.Alert{al}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runIn(t *testing.T, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: func() []string { return []string{"USER=tester"} }}
	err := runCLI(context.Background(), env, args)
	return out.String(), errb.String(), err
}

func TestTrail(t *testing.T) {
	dir := trailStore(t)
	out, _, err := runIn(t, "trail", "support-bot", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "support-bot → pod-0 → for alice → tok-1 (oauth_token)") || !strings.Contains(lines[1], "tickets/2") {
		t.Errorf("trail (last 24h, newest first):\n%s", out)
	}
	out, _, err = runIn(t, "trail", "support-bot", "--data-dir", dir, "--on-behalf-of", "bob", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ev schemas.AgentEvent
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.EventID != "t1" || ev.AgentInstance != "pod-1" {
		t.Errorf("trail --on-behalf-of bob --format json = %s (%v)", out, err)
	}
	out, _, _ = runIn(t, "trail", "support-bot", "--data-dir", dir, "--since", "0", "--instance", "pod-0")
	if strings.Count(out, "\n") != 3 {
		t.Errorf("trail --since 0 --instance pod-0:\n%s", out)
	}
	if _, _, err := runIn(t, "trail", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "AGENT") {
		t.Errorf("trail without an agent: %v", err)
	}
}

func TestAcceptAndResolveCommands(t *testing.T) {
	dir := trailStore(t)
	if _, _, err := runIn(t, "accept", "inc-1", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("accept without --reason: %v", err)
	}
	out, _, err := runIn(t, "accept", "inc-1", "--data-dir", dir, "--reason", "approved export", "--for", "48h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "accept of incident inc-1 recorded") || !strings.Contains(out, `add "users.export" to playground.actions`) {
		t.Errorf("accept output:\n%s", out)
	}
	if _, _, err := runIn(t, "resolve", "inc-1", "--data-dir", dir, "--reason", "done"); err == nil || !strings.Contains(err.Error(), "already resolved") {
		t.Errorf("resolve after accept: %v", err)
	}
	st, err := sqlite.OpenReadOnly(filepath.Join(dir, "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.LoadActions(context.Background(), store.ActionFilter{})
	if err != nil || len(rows) != 1 || rows[0].Actor != "tester" || rows[0].Reason != "approved export" {
		t.Errorf("actions = %+v %v", rows, err)
	}
}
