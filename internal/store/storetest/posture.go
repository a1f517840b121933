package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

func finding(id, status string, at time.Time) schemas.PostureFindingRow {
	return schemas.PostureFindingRow{ID: id, Type: "secrets.long_lived_key", Severity: schemas.SeverityHigh,
		AgentID: "agent-a", Owner: "team-a", Subject: "AKIA1", Summary: "long-lived key AKIA1 in use",
		Evidence: `[{"feature":"age","observed":"400d","baseline":"at most 90d"}]`, Fix: "rotate it", Status: status,
		FirstSeen: base, LastSeen: at, EvaluatedAt: at, Version: at.UnixNano()}
}

// testPostureFindings: the newest evaluation's state of a finding wins,
// whatever order the writes arrive in, through the method and the view.
func testPostureFindings(t *testing.T, s store.Store) {
	open := finding("pf-1", schemas.FindingOpen, base)
	fixed := finding("pf-1", schemas.FindingFixed, base.Add(time.Hour))
	other := finding("pf-2", schemas.FindingOpen, base)
	other.Severity = schemas.SeverityLow
	must(t, s.UpsertPostureFindings(ctx(t), []schemas.PostureFindingRow{open, other}))
	must(t, s.UpsertPostureFindings(ctx(t), []schemas.PostureFindingRow{fixed}))
	must(t, s.UpsertPostureFindings(ctx(t), []schemas.PostureFindingRow{open})) // late redelivery
	got, err := s.LoadPostureFindings(ctx(t))
	must(t, err)
	if len(got) != 2 || got[0].ID != "pf-1" || got[1].ID != "pf-2" {
		t.Fatalf("loaded %+v", got)
	}
	if !reflect.DeepEqual(got[0], fixed) {
		t.Errorf("pf-1 = %+v\nwant %+v", got[0], fixed)
	}
	rows := queryText(t, s, "SELECT id, status, severity_rank FROM posture_findings ORDER BY severity_rank DESC, id")
	want := [][]string{{"pf-1", "fixed", "3"}, {"pf-2", "open", "1"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("posture_findings = %v, want %v", rows, want)
	}
}

// testUnusedPermissionsView: declared entries (systems and the top-level
// lists) no event of the agent's own in the last 30 days matched, with
// globs; a statement's entries are not mistaken for the top-level lists,
// and a credential made for the agent by a known principal uses nothing.
func testUnusedPermissionsView(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	must(t, s.UpsertAgents(ctx(t), []schemas.AgentRow{
		{AgentID: "agent-a", Status: "active", UpdatedAt: now,
			Declared: `{"systems":["aws:s3","aws:kms"],"actions":["s3:Get*","s3:PutObject","kms:Decrypt"],"resources":["arn:aws:s3:::b/**","arn:aws:s3:::c"]}`},
		{AgentID: "agent-b", Status: "active", UpdatedAt: now,
			Declared: `{"systems":["aws:s3","aws:sts"],"statements":[{"sid":"Read","actions":["s3:GetObject"],"resources":["arn:aws:s3:::d/*"]}],"delegators":["none"]}`},
	}))
	recent := Event("e1", "agent-a", now.Add(-time.Hour))
	recent.System, recent.Action, recent.Resource = "aws:s3", "s3:GetObject", "arn:aws:s3:::b/k/1"
	old := Event("e2", "agent-a", now.Add(-40*24*time.Hour))
	old.System, old.Action, old.Resource = "aws:kms", "kms:Decrypt", "arn:aws:s3:::c"
	made := Event("e3", "agent-b", now.Add(-time.Hour))
	made.System, made.Action, made.PrincipalKind = "aws:sts", "sts:AssumeRole", schemas.PrincipalInfrastructure
	must(t, s.InsertEvents(ctx(t), []schemas.AgentEvent{recent, old, recent, made}))
	rows := queryText(t, s, "SELECT agent_id, kind, pattern FROM agent_unused_permissions ORDER BY agent_id, kind, pattern")
	want := [][]string{
		{"agent-a", "action", "kms:Decrypt"}, {"agent-a", "action", "s3:PutObject"},
		{"agent-a", "resource", "arn:aws:s3:::c"}, {"agent-a", "system", "aws:kms"},
		{"agent-b", "system", "aws:s3"}, {"agent-b", "system", "aws:sts"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("agent_unused_permissions = %v\nwant %v", rows, want)
	}
}
