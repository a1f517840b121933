package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
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
	cfg, err := pipeline.Load(config.Sources{Environ: func() []string { return environ }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := pipeline.OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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
