package detect

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestVaultSecretPathOutsidePlayground: a Vault audit entry is judged
// like any other record: a secret path read outside the agent's declared
// resources raises playground.declared, one inside does not.
func TestVaultSecretPathOutsidePlayground(t *testing.T) {
	raw, err := os.ReadFile("../ingest/testdata/vault_audit.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.DefaultConfig()
	cfg.Attribution = []ingest.Rule{{Name: "vault-role", Formats: []string{ingest.FormatVault}, SessionName: `(?:^| )role=(?P<agent>[a-z][a-z-]*)(?: |$)`}}
	n, err := ingest.NewNormalizer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("agents.yaml", []byte(`
agents:
  - id: support-bot
    owner: team-support
    contact: {slack_channel: "#support"}
    playground:
      systems: [vault:kv]
      actions: ["vault:read"]
      resources: ["secret/data/support/**"]
  - id: ci-deploy
    owner: team-platform
    contact: {slack_channel: "#platform"}
    playground:
      systems: [vault:kv, vault:approle]
      actions: ["vault:read", "vault:update"]
      resources: ["secret/data/ci/**", "auth/approle/login"]
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	var got []schemas.Alert
	for i, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		evs, _ := n.Normalize(ingest.Record{Raw: line, Line: i + 1, Time: time.Now()})
		for j := range evs {
			got = append(got, e.Process(&evs[j])...)
		}
	}
	var declared []schemas.Alert
	for _, a := range got {
		if a.Detector == DPlaygroundDeclared {
			declared = append(declared, a)
		}
	}
	if len(declared) == 0 {
		t.Fatalf("no playground.declared alert; alerts: %v", detectors(got))
	}
	for _, a := range declared {
		if a.Identity.AgentID != "support-bot" || a.Subject != "resource:secret/data/prod/payments/stripe" || a.Identity.Owner != "team-support" {
			t.Errorf("alert %s for %s subject %q", a.Detector, a.Identity.AgentID, a.Subject)
		}
	}
}
