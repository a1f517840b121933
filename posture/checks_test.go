package posture

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

var now = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

const checksInventory = `
agents:
  - id: ok-agent
    owner: team-a
    contact: {slack_channel: "#a"}
    created: 2026-01-01T00:00:00Z
    instances: 2
    playground:
      systems: [aws:s3]
      actions: ["s3:GetObject", "s3:DeleteObject"]
      delegators: ["customer:*"]
      credentials: {max_age: 1h, allowed_types: [sts_session]}
  - id: no-owner
    contact: {email: x@example.com}
  - id: no-contact
    owner: team-b
  - id: expired-agent
    owner: team-a
    contact: {slack_channel: "#a"}
    created: 2025-01-01T00:00:00Z
    expires: 2026-06-01T00:00:00Z
  - id: retired
    owner: team-a
    contact: {slack_channel: "#a"}
    status: decommissioned
  - id: retired-on-time
    owner: team-a
    contact: {slack_channel: "#a"}
    status: decommissioned
    decommissioned_at: 2026-11-29T12:00:00Z
  - id: sleepy
    owner: team-a
    contact: {slack_channel: "#a"}
    created: 2026-01-01T00:00:00Z
  - id: helper
    owner: team-c
    contact: {slack_channel: "#c"}
    created: 2026-01-01T00:00:00Z
    playground:
      credentials: {rotate_every: 30d, allowed_types: [static_key]}
  - id: vaulted
    owner: team-c
    contact: {slack_channel: "#c"}
    created: 2026-01-01T00:00:00Z
principals:
  - match: "arn:aws:sts::1:assumed-role/eks-node-role/*"
    kind: infrastructure
    actions: ["sts:AssumeRole"]
`

func ev(id, agent string, at time.Time, mut func(*schemas.AgentEvent)) schemas.AgentEvent {
	e := schemas.AgentEvent{EventID: id, Time: at, Source: "cloudtrail", AgentID: agent, Principal: "p-" + agent,
		Action: "s3:GetObject", System: "aws:s3", Resource: "arn:aws:s3:::b/k", Outcome: schemas.OutcomeSuccess, SrcIP: "10.0.0.1"}
	if mut != nil {
		mut(&e)
	}
	return e
}

// evaluate parses the inventory text, stores the events and learned
// playground rows, and evaluates them as of at with the default
// configuration.
func evaluate(t *testing.T, invText string, evs []schemas.AgentEvent, pg []schemas.PlaygroundRow, failed []alerts.Notification, at time.Time) (*Report, *inventory.Inventory) {
	t.Helper()
	inv, err := inventory.Parse("agents.yaml", []byte(invText))
	if err != nil {
		t.Fatal(err)
	}
	st := basetest.New()
	ctx := context.Background()
	if err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertPlayground(ctx, pg); err != nil {
		t.Fatal(err)
	}
	e, err := NewEvaluator(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Evaluate(ctx, Input{Store: st, Inventory: inv, Failed: failed, Now: at, DormantAfter: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return r, inv
}

func checksReport(t *testing.T, evs []schemas.AgentEvent, failed []alerts.Notification, pg []schemas.PlaygroundRow) *Report {
	t.Helper()
	r, _ := evaluate(t, checksInventory, evs, pg, failed, now)
	return r
}

func TestChecks(t *testing.T) {
	day := func(d int) time.Time { return now.Add(-time.Duration(d) * 24 * time.Hour) }
	issued := day(2)
	var evs []schemas.AgentEvent
	// ok-agent: 7 instances (declared 2), a session past max_age, acting
	// for an employee outside customer:*.
	for i := range 7 {
		evs = append(evs, ev(fmt.Sprintf("ok-%d", i), "ok-agent", day(1).Add(time.Duration(i)*time.Minute), func(e *schemas.AgentEvent) {
			e.AgentInstance = fmt.Sprintf("pod-%d", i)
			e.CredentialID, e.CredentialType, e.CredentialIssuedAt = "ASIAOK", schemas.CredSTSSession, &issued
			e.OnBehalfOf = "customer:42"
		}))
	}
	evs = append(evs, ev("ok-x", "ok-agent", day(1), func(e *schemas.AgentEvent) { e.OnBehalfOf = "bob@corp.example" }))
	// expired-agent still acts; retired (decommissioned) still acts with a key.
	evs = append(evs, ev("exp-1", "expired-agent", day(3), nil))
	evs = append(evs, ev("ret-1", "retired", day(2), func(e *schemas.AgentEvent) { e.CredentialID, e.CredentialType = "AKIARETIRED", schemas.CredStaticKey }))
	// helper: a static key (allowed) shared with vaulted, from four
	// networks, first seen 200 days ago in the learned playground; acts for
	// a person without declared delegators.
	for i, n := range []string{"10.1.0.9", "10.2.0.9", "10.3.0.9", "10.4.0.9"} {
		evs = append(evs, ev(fmt.Sprintf("h-%d", i), "helper", day(5), func(e *schemas.AgentEvent) {
			e.CredentialID, e.CredentialType, e.SrcIP = "AKIAHELPER", schemas.CredStaticKey, n
			e.OnBehalfOf = "alice@corp.example"
		}))
	}
	evs = append(evs, ev("v-0", "vaulted", day(4), func(e *schemas.AgentEvent) { e.CredentialID, e.CredentialType = "AKIAHELPER", schemas.CredStaticKey }))
	// vaulted also reads a dynamic database credential from Vault.
	evs = append(evs, ev("v-1", "vaulted", day(4), func(e *schemas.AgentEvent) {
		e.Source, e.System, e.Action, e.Resource = "vault", "vault:database", "vault:read", "database/creds/ro"
		e.CredentialID, e.CredentialType = "hmac-sha256:abc", schemas.CredSTSSession
		e.Attributes = map[string]string{"vault.type": "response", "vault.lease_id": "database/creds/ro/xyz", "vault.auth": "approle"}
	}))
	// A Vault login's request entry: no identity, must not be an unknown principal.
	evs = append(evs, ev("vl", "unknown", day(1), func(e *schemas.AgentEvent) {
		e.Source, e.Principal, e.Unattributed, e.Outcome, e.System = "vault", "", true, schemas.OutcomeUnknown, "vault:approle"
	}))
	// retired-on-time acted only before its decommissioned_at.
	decommissioned := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	evs = append(evs, ev("rot-1", "retired-on-time", decommissioned.Add(-time.Hour), nil))
	// Known principals are no unknown principals: the nodes assuming
	// roles (listed in the inventory) and a person marked at ingest; an
	// unknown user is reported.
	for i, n := range []string{"i-1", "i-2"} {
		evs = append(evs, ev(fmt.Sprintf("node-%d", i), "arn:aws:sts::1:assumed-role/eks-node-role/"+n, day(1), func(e *schemas.AgentEvent) {
			e.Principal, e.Unattributed, e.Action, e.System = e.AgentID, true, "sts:AssumeRole", "aws:sts"
		}))
	}
	evs = append(evs, ev("human", "arn:aws:iam::1:user/alice", day(1), func(e *schemas.AgentEvent) {
		e.Principal, e.Unattributed, e.PrincipalKind = e.AgentID, true, schemas.PrincipalHuman
	}))
	evs = append(evs, ev("mallory", "arn:aws:iam::1:user/mallory", day(1), func(e *schemas.AgentEvent) { e.Principal, e.Unattributed = e.AgentID, true }))
	failed := []alerts.Notification{
		{Receiver: "slack", Target: "#c", LastError: "channel_not_found", UpdatedAt: day(1), Alert: schemas.Alert{Identity: schemas.Identity{AgentID: "helper", Owner: "team-c"}}},
		{Receiver: "slack", Target: "#c", LastError: "channel_not_found", UpdatedAt: day(2), Alert: schemas.Alert{Identity: schemas.Identity{AgentID: "vaulted"}}},
	}
	pg := []schemas.PlaygroundRow{{AgentID: "helper", Kind: schemas.PlayCredential, Value: "AKIAHELPER", FirstSeen: day(200), LastSeen: day(5), Version: 1}}
	r := checksReport(t, evs, failed, pg)

	cases := []struct {
		typ, agent, subject string
		sev                 schemas.Severity
		contains            string
	}{
		{TNoOwner, "no-owner", "", schemas.SeverityHigh, "has no owner"},
		{TNoContact, "no-contact", "", schemas.SeverityMedium, "has no contact"},
		{TContactFailing, "", "slack → #c", schemas.SeverityHigh, "2 notifications"},
		{TInstances, "ok-agent", "", schemas.SeverityMedium, "7 instances at once"},
		{TSessionTooOld, "ok-agent", "", schemas.SeverityMedium, "older than its max_age 1h0m0s"},
		{TUndeclaredDeleg, "ok-agent", "", schemas.SeverityHigh, "outside its declared delegators"},
		{TExpired, "expired-agent", "", schemas.SeverityHigh, "still acting"},
		{TDecommissionedUsed, "retired", "", schemas.SeverityCritical, "AKIARETIRED"},
		{TDormant, "sleepy", "", schemas.SeverityLow, "never seen acting"},
		{TLongLivedKey, "", "AKIAHELPER", schemas.SeverityHigh, "in use by helper, vaulted"},
		{TSharedCredential, "", "AKIAHELPER", schemas.SeverityHigh, "2 agents"},
		{TCredentialNetworks, "", "AKIAHELPER", schemas.SeverityMedium, "5 networks"},
		{TNotRotated, "", "AKIAHELPER", schemas.SeverityMedium, "has not rotated for 200d"},
		{THumanDelegation, "helper", "", schemas.SeverityMedium, "on behalf of 1 people"},
		{TStaticSource, "helper", "", schemas.SeverityLow, "static credentials"},
		{TUnusedPermissions, "ok-agent", "", schemas.SeverityMedium, "did not use 1 of its 3 declared permissions"},
		{TUnknownPrincipal, "arn:aws:iam::1:user/mallory", "arn:aws:iam::1:user/mallory", schemas.SeverityMedium, "maps to no agent"},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			f := find(r, c.typ, c.agent, c.subject)
			if f == nil {
				t.Fatalf("missing; findings: %v", types(r))
			}
			if f.Severity != c.sev || !strings.Contains(f.Summary, c.contains) || f.Fix == "" {
				t.Errorf("got %s %q (fix %q)", f.Severity, f.Summary, f.Fix)
			}
		})
	}
	// What must not be reported.
	for _, c := range []struct{ typ, agent, subject string }{
		{TStaticSource, "vaulted", ""},      // takes leases from Vault
		{TUnknownPrincipal, "unknown", "*"}, // a Vault login request
		{TUnknownPrincipal, "arn:aws:sts::1:assumed-role/eks-node-role/*", "arn:aws:sts::1:assumed-role/eks-node-role/*"}, // listed infrastructure
		{TUnknownPrincipal, "arn:aws:iam::1:user/alice", "arn:aws:iam::1:user/alice"},                                     // marked human at ingest
		{TDormant, "ok-agent", ""},             // active yesterday
		{TSessionTooOld, "helper", ""},         // no max_age
		{TUnusedPermissions, "no-contact", ""}, // declares nothing
		{TLongLivedKey, "ok-agent", "ASIAOK"},  // a session
		{TDecommissionedUsed, "expired-agent", ""},
		{TDecommissionedUsed, "retired-on-time", ""}, // acted before decommissioned_at only
	} {
		if f := find(r, c.typ, c.agent, c.subject); f != nil {
			t.Errorf("unexpected %s: %s", c.typ, f.Summary)
		}
	}
	// Where credentials come from.
	src := map[string]string{}
	for _, s := range r.Sources {
		src[s.AgentID] = s.Source
	}
	if src["vaulted"] != SourceVaultDynamic || src["helper"] != SourceStatic || src["ok-agent"] != SourceShortLived {
		t.Errorf("sources = %v", src)
	}
}

func TestSaveTracksNewFixedOpen(t *testing.T) {
	st := basetest.New()
	ctx := context.Background()
	mk := func(at time.Time, ids ...string) *Report {
		r := &Report{GeneratedAt: at}
		for _, id := range ids {
			r.Findings = append(r.Findings, Finding{ID: id, Type: TDormant, Severity: schemas.SeverityLow, AgentID: id, Summary: "s", Evidence: []schemas.Evidence{}})
		}
		return r
	}
	ch, err := Save(ctx, st, mk(now, "a", "b"))
	if err != nil || strings.Join(ch.New, ",") != "a,b" || len(ch.Fixed)+len(ch.Open) != 0 {
		t.Fatalf("first save: %+v %v", ch, err)
	}
	ch, err = Save(ctx, st, mk(now.Add(time.Hour), "b", "c"))
	if err != nil || strings.Join(ch.New, ",") != "c" || strings.Join(ch.Fixed, ",") != "a" || strings.Join(ch.Open, ",") != "b" {
		t.Fatalf("second save: %+v %v", ch, err)
	}
	rows, _ := st.LoadPostureFindings(ctx)
	state := map[string]string{}
	for _, r := range rows {
		state[r.ID] = r.Status
		if r.ID == "b" && !r.FirstSeen.Equal(now) {
			t.Errorf("b first_seen = %v, want the first evaluation", r.FirstSeen)
		}
	}
	if state["a"] != schemas.FindingFixed || state["b"] != schemas.FindingOpen || state["c"] != schemas.FindingOpen {
		t.Errorf("states = %v", state)
	}
	// A finding that comes back after being fixed is new again.
	ch, _ = Save(ctx, st, mk(now.Add(2*time.Hour), "a", "b", "c"))
	if strings.Join(ch.New, ",") != "a" {
		t.Errorf("reopened: %+v", ch)
	}
}

func TestSchedule(t *testing.T) {
	s, err := ParseSchedule("Mon 09:00")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-11-30 is a Monday.
	for _, c := range []struct{ at, last, next string }{
		{"2026-11-30T09:00:00Z", "2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z"},
		{"2026-11-30T08:59:59Z", "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"},
		{"2026-12-03T12:00:00Z", "2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if got := s.Last(at).Format(time.RFC3339); got != c.last {
			t.Errorf("Last(%s) = %s, want %s", c.at, got, c.last)
		}
		if got := s.Next(at).Format(time.RFC3339); got != c.next {
			t.Errorf("Next(%s) = %s, want %s", c.at, got, c.next)
		}
	}
	d, _ := ParseSchedule("* 07:30")
	if got := d.Next(now); !got.Equal(time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("daily next = %v", got)
	}
	for _, bad := range []string{"", "Monday 09:00", "Mon 9:00", "Mon 24:00", "Mon"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}
