package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestPostureCommand runs `agentwatch posture` on a SQLite store holding a
// decommissioned agent that still uses a static key and an unknown
// principal: every format renders, --agent filters, --fail-on exits 2 only
// when a finding reaches the severity, --save fills the posture_findings
// view.
func TestPostureCommand(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "agents.yaml")
	if err := os.WriteFile(inv, []byte(`agents:
  - id: old-bot
    owner: team-a
    contact: {slack_channel: "#a"}
    status: decommissioned
  - id: new-bot
    owner: team-b
    contact: {slack_channel: "#b"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"AGENTWATCH_DATA_DIR=" + dir, "AGENTWATCH_INVENTORY=" + inv}
	ctx := context.Background()
	st := migratedStore(t, environ)
	at := time.Now().UTC().Add(-time.Hour)
	evs := []schemas.AgentEvent{
		{EventID: "e1", Time: at, Source: "cloudtrail", AgentID: "old-bot", Action: "s3:GetObject", System: "aws:s3",
			Outcome: "success", CredentialID: "AKIAOLD", CredentialType: schemas.CredStaticKey},
		{EventID: "e2", Time: at, Source: "cloudtrail", AgentID: "arn:aws:iam::1:user/ghost", Principal: "arn:aws:iam::1:user/ghost",
			Action: "iam:ListUsers", System: "aws:iam", Outcome: "success", Unattributed: true},
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, _, err := cli(t, ctx, environ, "posture")
	if err != nil || !strings.Contains(out, "lifecycle.decommissioned_active") || !strings.Contains(out, "arn:aws:iam::1:user/ghost") {
		t.Fatalf("table: %v\n%s", err, out)
	}
	out, _, err = cli(t, ctx, environ, "posture", "--format", "json", "--agent", "old-bot")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []struct {
			Type    string `json:"type"`
			AgentID string `json:"agent_id"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Findings) == 0 {
		t.Fatalf("json: %v\n%s", err, out)
	}
	for _, f := range rep.Findings {
		if f.AgentID != "old-bot" {
			t.Errorf("--agent old-bot kept %+v", f)
		}
	}
	out, _, err = cli(t, ctx, environ, "posture", "--format", "sarif")
	if err != nil || !strings.Contains(out, `"version": "2.1.0"`) || !strings.Contains(out, `"uri": "`+inv+`"`) {
		t.Fatalf("sarif: %v\n%s", err, out)
	}
	if _, _, err = cli(t, ctx, environ, "posture", "--format", "csv"); err != nil {
		t.Fatal(err)
	}

	// --fail-on: critical (decommissioned and active) is there; with the
	// owner filter of team-b nothing is.
	_, _, err = cli(t, ctx, environ, "posture", "--fail-on", "critical", "--format", "json")
	var ef *errFindings
	if !errors.As(err, &ef) || ef.ExitCode() != 2 || ef.n < 1 {
		t.Fatalf("--fail-on critical: %v", err)
	}
	if _, _, err = cli(t, ctx, environ, "posture", "--fail-on", "high", "--owner", "team-b"); err != nil {
		t.Fatalf("--fail-on high --owner team-b: %v", err)
	}
	if _, _, err = cli(t, ctx, environ, "posture", "--fail-on", "severe"); err == nil || !strings.Contains(err.Error(), `"severe" is not one of`) {
		t.Errorf("bad --fail-on: %v", err)
	}
	if _, _, err = cli(t, ctx, environ, "posture", "--format", "xml"); err == nil {
		t.Error("--format xml accepted")
	}

	if _, _, err = cli(t, ctx, environ, "posture", "--save", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, ctx, environ, "sql", "--format", "csv", "SELECT type FROM posture_findings WHERE status = 'open' AND agent_id = 'old-bot' ORDER BY type")
	if err != nil || !strings.Contains(out, "lifecycle.decommissioned_active") {
		t.Fatalf("posture_findings after --save: %v\n%s", err, out)
	}
}

// TestPostureAt: replayed history judged against the wall clock shows
// every agent dormant and every permission unused; --at latest judges it
// as of the newest stored event, --at TIME as of that time.
func TestPostureAt(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "agents.yaml")
	if err := os.WriteFile(inv, []byte(`agents:
  - id: replayed-bot
    owner: team-a
    contact: {slack_channel: "#a"}
    created: 2020-01-01T00:00:00Z
    playground:
      systems: [aws:s3]
      statements:
        - sid: Read
          actions: ["s3:GetObject"]
          resources: ["arn:aws:s3:::lake/*"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"AGENTWATCH_DATA_DIR=" + dir, "AGENTWATCH_INVENTORY=" + inv}
	ctx := context.Background()
	st := migratedStore(t, environ)
	st.Close()
	// An empty store has no latest event.
	if _, _, err := cli(t, ctx, environ, "posture", "--at", "latest"); err == nil || !strings.Contains(err.Error(), "--at latest: the store holds no events") {
		t.Errorf("--at latest on an empty store: %v", err)
	}

	st = migratedStore(t, environ)
	// A week of history, a year ago.
	last := time.Date(2025, 3, 16, 22, 50, 39, 500_000_000, time.UTC)
	var evs []schemas.AgentEvent
	for d := range 7 {
		evs = append(evs, schemas.AgentEvent{EventID: fmt.Sprintf("e%d", d), Time: last.Add(-time.Duration(d) * 24 * time.Hour), Source: "cloudtrail",
			AgentID: "replayed-bot", Action: "s3:GetObject", System: "aws:s3", Resource: "arn:aws:s3:::lake/k", Outcome: "success"})
	}
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, _, err := cli(t, ctx, environ, "posture")
	if err != nil || !strings.Contains(out, "lifecycle.dormant") || !strings.Contains(out, "did not act in the last 30 days") {
		t.Fatalf("posture against the wall clock: %v\n%s", err, out)
	}
	out, _, err = cli(t, ctx, environ, "posture", "--at", "latest")
	if err != nil || !strings.HasPrefix(out, "Posture as of 2025-03-16 22:50Z (activity 2025-02-14 to 2025-03-16): 0 findings") {
		t.Fatalf("--at latest: %v\n%s", err, out)
	}
	// A date is its end: the history's second-to-last day is inside.
	out, _, err = cli(t, ctx, environ, "posture", "--at", "2025-03-15", "--format", "json")
	if err != nil || !strings.Contains(out, `"generated_at": "2025-03-16T00:00:00Z"`) || strings.Contains(out, "lifecycle.dormant") {
		t.Fatalf("--at 2025-03-15: %v\n%s", err, out)
	}
	// Long after the history, it is dormant again.
	out, _, err = cli(t, ctx, environ, "posture", "--at", "2025-06-01T00:00:00Z")
	if err != nil || !strings.Contains(out, "lifecycle.dormant") {
		t.Fatalf("--at 2025-06-01: %v\n%s", err, out)
	}
	if _, _, err := cli(t, ctx, environ, "posture", "--at", "yesterday"); err == nil || !strings.Contains(err.Error(), "--at") {
		t.Errorf("--at yesterday: %v", err)
	}
}

// migratedStore opens and migrates the store the environment configures.
func migratedStore(t *testing.T, environ []string) store.Store {
	t.Helper()
	cfg, err := pipeline.Load(config.Sources{Environ: func() []string { return environ }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := pipeline.OpenStore(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st
}
