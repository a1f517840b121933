package ingest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// vaultRules attribute Vault records by each of the token's traits: the
// entity id, the AppRole role name (session name) and a policy.
var vaultRules = []Rule{
	{Name: "vault-entity-support-bot", Formats: []string{FormatVault}, SessionName: `(?:^| )entity=9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4(?: |$)`, Agent: "support-bot"},
	{Name: "vault-policy", Formats: []string{FormatVault}, SessionName: `(?:^| )policies=(?:\S*,)?(?P<agent>data-analyst)(?:,|$)`},
	{Name: "vault-approle", Formats: []string{FormatVault}, SessionName: `(?:^| )role=(?P<agent>[a-z][a-z-]*)(?: |$)`},
}

func TestVaultAuditMapping(t *testing.T) {
	data, err := os.ReadFile("testdata/vault_audit.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	n := newTestNormalizer(t, vaultRules...)
	evs, dead := normalizeAll(t, n, "vault_audit.ndjson", data)
	if len(evs) != 8 || len(dead) != 1 {
		t.Fatalf("got %d events and %d dead letters, want 8 and 1: %+v", len(evs), len(dead), dead)
	}
	if d := dead[0]; d.Line != 9 || d.Format != FormatVault || !strings.Contains(d.Reason, `bad_record: vault: type: "metric" is not request or response`) {
		t.Errorf("dead letter = line %d format %s reason %q", d.Line, d.Format, d.Reason)
	}
	for _, ev := range evs {
		if ev.Source != FormatVault {
			t.Errorf("%s: source %q", ev.EventID, ev.Source)
		}
	}

	// The login's request entry has no token yet: unattributed, no
	// principal. Its response names the identity and the token it got.
	login, loginResp := evs[0], evs[1]
	if login.AgentID != UnknownPrincipal || !login.Unattributed || login.Outcome != schemas.OutcomeUnknown {
		t.Errorf("login request: agent %q unattributed %v outcome %s", login.AgentID, login.Unattributed, login.Outcome)
	}
	if loginResp.AgentID != "ci-deploy" || loginResp.Action != "vault:update" || loginResp.System != "vault:approle" ||
		loginResp.Resource != "auth/approle/login" || loginResp.Outcome != schemas.OutcomeSuccess ||
		loginResp.CredentialType != schemas.CredSTSSession || loginResp.CredentialID != "hmac-sha256:a11ce55" ||
		loginResp.Attributes["vault.auth"] != "approle" || loginResp.EventID != "vault:6b1c2e7a-0f3d-4a51-9c1e-2d0b8f0a7c11:response" {
		t.Errorf("login response mapped to %+v", loginResp)
	}
	if loginResp.CredentialExpiresAt == nil || !loginResp.CredentialExpiresAt.Equal(time.Date(2026, 11, 26, 10, 0, 1, 0, time.UTC)) {
		t.Errorf("login token expiry = %v, want issue time + token_ttl", loginResp.CredentialExpiresAt)
	}

	read := evs[3]
	if read.AgentID != "ci-deploy" || read.Action != "vault:read" || read.System != "vault:kv" || read.Resource != "secret/data/ci/registry" ||
		read.UserAgent != "ci-deploy/2.4.1 (instance=runner-7)" || read.SrcIP != "10.20.1.15" || read.Attributes["vault.policies"] != "ci-deploy,default" {
		t.Errorf("kv read mapped to %+v", read)
	}
	denied := evs[5]
	if denied.AgentID != "support-bot" || denied.Outcome != schemas.OutcomeDenied || denied.ErrorCode != "permission denied" ||
		denied.Principal != "kubernetes-agents-support-bot" || denied.Attributes["vault.auth"] != "kubernetes" {
		t.Errorf("denied read mapped to %+v", denied)
	}
	lease := evs[6]
	if lease.AgentID != "data-analyst" || lease.System != "vault:database" || lease.Attributes["vault.lease_id"] != "database/creds/analytics-ro/2f6QW1c8ZrXy0tKpUe9sL3aB" ||
		lease.Attributes["vault.token_ttl"] != "1800" {
		t.Errorf("dynamic secret read mapped to %+v", lease)
	}
	// Before Vault 1.15 there is no mount_type: the mount path stands in.
	// A root token has no TTL: a long-lived credential.
	root := evs[7]
	if root.AgentID != "root" || !root.Unattributed || root.System != "vault:sys" || root.Resource != "team-a/sys/policies/acl" ||
		root.CredentialType != schemas.CredStaticKey || root.Action != "vault:list" {
		t.Errorf("root token entry mapped to %+v", root)
	}
}

func TestVaultDetectedWithoutFormat(t *testing.T) {
	n := newTestNormalizer(t)
	line := `{"time":"2026-11-26T09:00:02Z","type":"response","auth":{"display_name":"token","token_ttl":60},"request":{"id":"r1","operation":"read","path":"secret/data/a"},"response":{}}`
	evs, dead := n.Normalize(Record{Raw: []byte(line)})
	if len(dead) != 0 || len(evs) != 1 || evs[0].Source != FormatVault {
		t.Fatalf("events %+v dead %+v", evs, dead)
	}
	// An MCP gateway line also has request and response members, but it
	// names a server or session: it must stay MCP.
	mcp := `{"time":"2026-11-26T09:00:02Z","type":"call","server":"github","session_id":"s-1","request":{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}}`
	evs, dead = n.Normalize(Record{Raw: []byte(mcp)})
	if len(dead) != 0 || len(evs) != 1 || evs[0].Source != FormatMCP {
		t.Fatalf("mcp line: events %+v dead %+v", evs, dead)
	}
}

func TestVaultErrorText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"permission denied", "permission denied"},
		{"1 error occurred:\n\t* permission denied\n\n", "permission denied"},
		{"2 errors occurred:\n\t* a\n\t* b\n\n", "a; b"},
		{"invalid role or secret ID", "invalid role or secret ID"},
	} {
		if got := vaultErrorText(c.in); got != c.want {
			t.Errorf("vaultErrorText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if !vaultDenied("invalid token") || vaultDenied("internal error") {
		t.Error("vaultDenied misclassifies")
	}
}
