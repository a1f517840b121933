package posture

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// reportOn evaluates evs against the inventory text at now.
func reportOn(t *testing.T, invText string, evs []schemas.AgentEvent) *Report {
	t.Helper()
	r, _ := evaluate(t, invText, evs, nil, nil, now)
	return r
}

// lakeInventory is an IAM-style playground, as import-iam writes one.
const lakeInventory = `
agents:
  - id: lake
    owner: team-lake
    contact: {slack_channel: "#lake"}
    created: 2026-01-01T00:00:00Z
    playground:
      systems: [aws:s3, aws:ec2, aws:iam, aws:kms]
      statements:
        - sid: ReadDocs
          actions: ["s3:GetObject", "s3:GetObjectTagging"]
          resources: ["arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-old/*"]
        - sid: ListLake
          actions: ["s3:ListBucket"]
          resources: ["arn:aws:s3:::acme-lake", "arn:aws:s3:::acme-old"]
        - sid: Discover
          actions: ["ec2:Describe*"]
          resources: ["*"]
        - sid: WriteReports
          actions: ["s3:PutObject", "s3:GetObject"]
          resources: ["arn:aws:s3:::acme-reports/*"]
        - sid: Admin
          actions: ["iam:*"]
          resources: ["arn:aws:iam::123456789012:role/lake-*"]
        - actions: ["kms:Decrypt"]
          resources: ["arn:aws:kms:eu-west-1:123456789012:key/k1"]
      networks: [10.20.0.0/16, 203.0.113.7]
      clients: [boto3, aws-cli]
      delegators: none
`

// lakeEvent is one of lake's own calls, from its VPC with boto3.
func lakeEvent(id, action, resource string, mut func(*schemas.AgentEvent)) schemas.AgentEvent {
	return ev(id, "lake", now.Add(-24*time.Hour), func(e *schemas.AgentEvent) {
		svc, _, _ := strings.Cut(action, ":")
		e.System, e.Action, e.Resource = "aws:"+svc, action, resource
		e.SrcIP, e.UserAgent = "10.20.3.4", "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux"
		if mut != nil {
			mut(e)
		}
	})
}

// TestUnusedStatements: each statement is judged as IAM pairs its actions
// with its resources: an action used through another statement is unused
// in this one, a resource no call of the statement's actions named is
// unused, a statement none of whose actions was called goes whole; the
// policy change is per statement; networks and clients never seen are
// unused too.
func TestUnusedStatements(t *testing.T) {
	evs := []schemas.AgentEvent{
		// Inside ReadDocs only (not WriteReports, whose resources differ).
		lakeEvent("1", "s3:GetObject", "arn:aws:s3:::acme-lake/docs/2026/q1/board.pdf", nil),
		// CloudTrail's ListObjects is IAM's ListBucket.
		lakeEvent("2", "s3:ListObjects", "arn:aws:s3:::acme-lake", nil),
		// Describe calls name no resource: IAM checks them against "*".
		lakeEvent("3", "ec2:DescribeInstances", "", nil),
		lakeEvent("4", "ec2:DescribeVpcs", "", nil),
		lakeEvent("5", "ec2:DescribeVpcs", "", nil),
		lakeEvent("6", "s3:PutObject", "arn:aws:s3:::acme-reports/2026/11.csv", nil),
		lakeEvent("7", "kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/k1", nil),
	}
	r := reportOn(t, lakeInventory, evs)
	f := find(r, TUnusedPermissions, "lake", "")
	if f == nil {
		t.Fatalf("no privilege.unused; findings: %v", types(r))
	}
	if f.Severity != schemas.SeverityMedium {
		t.Errorf("severity %s", f.Severity)
	}
	// 4 systems + 8 actions + 8 resources + 2 networks + 2 clients = 24;
	// unused: aws:iam; Admin (iam:* and its role); GetObjectTagging;
	// WriteReports' GetObject; acme-old/* and acme-old; a network; a client.
	if !strings.Contains(f.Summary, "did not use 9 of its 24 declared permissions") {
		t.Errorf("summary %q", f.Summary)
	}
	for feature, want := range map[string]string{
		"unused_systems":             "aws:iam",
		"unused_statements":          "Admin",
		"unused_statement_actions":   "ReadDocs: s3:GetObjectTagging; WriteReports: s3:GetObject",
		"unused_statement_resources": "ReadDocs: arn:aws:s3:::acme-old/*; ListLake: arn:aws:s3:::acme-old",
		"unused_networks":            "203.0.113.7",
		"unused_clients":             "aws-cli",
		"unused_actions":             "",
		"suggested_playground":       "", // statements: the policy change says it
	} {
		if got := evidenceOf(f, feature); got != want {
			t.Errorf("%s = %q, want %q", feature, got, want)
		}
	}
	diff := f.PolicyDiff
	for _, want := range []string{
		// ReadDocs loses an action and a resource, and keeps the rest.
		"     \"Sid\": \"ReadDocs\",\n     \"Effect\": \"Allow\",\n     \"Action\": [\n       \"s3:GetObject\",\n-      \"s3:GetObjectTagging\",\n     ],\n     \"Resource\": [\n       \"arn:aws:s3:::acme-lake/docs/*\",\n-      \"arn:aws:s3:::acme-old/*\",\n",
		"     \"Sid\": \"ListLake\",\n     \"Effect\": \"Allow\",\n     \"Action\": [\n       \"s3:ListBucket\",\n     ],\n     \"Resource\": [\n       \"arn:aws:s3:::acme-lake\",\n-      \"arn:aws:s3:::acme-old\",\n",
		// The wildcard becomes the actions called through it, with counts.
		"-      \"ec2:Describe*\",\n+      \"ec2:DescribeInstances\",  // 1 call\n+      \"ec2:DescribeVpcs\",  // 2 calls\n",
		"     \"Sid\": \"WriteReports\",\n     \"Effect\": \"Allow\",\n     \"Action\": [\n       \"s3:PutObject\",\n-      \"s3:GetObject\",\n",
		// Admin goes whole.
		"-  {\n-    \"Sid\": \"Admin\",\n-    \"Effect\": \"Allow\",\n-    \"Action\": [\n-      \"iam:*\",\n-    ],\n-    \"Resource\": [\n-      \"arn:aws:iam::123456789012:role/lake-*\",\n-    ]\n-  },\n",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("policy diff lacks\n%s\nin\n%s", want, diff)
		}
	}
	// The statement used in full is not part of the change.
	if strings.Contains(diff, "kms:Decrypt") || strings.Contains(diff, "statements[5]") {
		t.Errorf("unchanged statement in the diff:\n%s", diff)
	}
}

// TestUnusedJudgement: what counts as a statement's use, case by case.
func TestUnusedJudgement(t *testing.T) {
	const inv = `
agents:
  - id: a
    owner: team-a
    created: 2026-01-01T00:00:00Z
    playground:
      systems: [aws:s3, aws:glue, aws:bedrock, aws:ssm, aws:iam, aws:lambda]
      statements:
        - sid: Read
          actions: ["s3:GetObject"]
          resources: ["arn:aws:s3:::a/*"]
        - sid: ReadToo
          actions: ["s3:GetObject"]
          resources: ["arn:aws:s3:::b/*"]
        - sid: Catalog
          actions: ["glue:GetTable"]
          resources: ["arn:aws:glue:us-east-1:123456789012:catalog", "arn:aws:glue:us-east-1:123456789012:database/lake",
                      "arn:aws:glue:us-east-1:123456789012:table/lake/*", "arn:aws:glue:us-east-1:123456789012:database/old"]
        - sid: Models
          actions: ["bedrock:InvokeModel"]
          resources: ["arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4*",
                      "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4*",
                      "arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0"]
        - sid: Restart
          actions: ["ssm:SendCommand"]
          resources: ["arn:aws:ssm:us-east-1:123456789012:document/Restart", "arn:aws:ec2:us-east-1:123456789012:instance/*"]
        - sid: Deploy
          actions: ["lambda:UpdateFunctionCode", "iam:PassRole"]
          resources: ["arn:aws:lambda:us-east-1:123456789012:function:*", "arn:aws:iam::123456789012:role/svc-*"]
`
	at := func(id, action, resource string) schemas.AgentEvent {
		return ev(id, "a", now.Add(-time.Hour), func(e *schemas.AgentEvent) {
			svc, _, _ := strings.Cut(action, ":")
			e.System, e.Action, e.Resource = "aws:"+svc, action, resource
		})
	}
	r := reportOn(t, inv, []schemas.AgentEvent{
		// On a bucket neither statement names: it crossed the playground.
		// The action stays used in both (removing it could break the
		// agent), no resource is.
		at("1", "s3:GetObject", "arn:aws:s3:::elsewhere/x"),
		// A Glue table call is checked against its catalog and database.
		at("2", "glue:GetTable", "arn:aws:glue:us-east-1:123456789012:table/lake/events"),
		// Converse through an inference profile is InvokeModel on the
		// profile and on the model behind it.
		at("3", "bedrock:Converse", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0"),
		// SendCommand is checked against the document too.
		at("4", "ssm:SendCommand", "arn:aws:ec2:us-east-1:123456789012:instance/i-1"),
		// A deploy; iam:PassRole is in no record, so never called unused.
		at("5", "lambda:UpdateFunctionCode20150331v2", "arn:aws:lambda:us-east-1:123456789012:function:api"),
	})
	f := find(r, TUnusedPermissions, "a", "")
	if f == nil {
		t.Fatalf("no privilege.unused; findings: %v", types(r))
	}
	if got := evidenceOf(f, "unused_statement_actions"); got != "" {
		t.Errorf("unused statement actions = %q, want none", got)
	}
	// Read and ReadToo keep their resources: their action was called
	// outside them only, and a statement needs resources.
	want := "Catalog: arn:aws:glue:us-east-1:123456789012:database/old; " +
		"Models: arn:aws:bedrock:*::foundation-model/amazon.titan-embed-text-v2:0; Deploy: arn:aws:iam::123456789012:role/svc-*"
	if got := evidenceOf(f, "unused_statement_resources"); got != want {
		t.Errorf("unused statement resources\n got %q\nwant %q", got, want)
	}
	// aws:iam saw no call, but iam:PassRole stays, and a playground
	// cannot name an action of a system it does not declare.
	if got := evidenceOf(f, "unused_systems"); got != "" {
		t.Errorf("unused systems = %q, want none", got)
	}
	if f.Severity != schemas.SeverityLow {
		t.Errorf("only resources unused: severity %s, want low", f.Severity)
	}
}

// TestUnusedNetworksAndClientsOnly: declared networks and clients never
// seen are a finding of their own, informational.
func TestUnusedNetworksAndClientsOnly(t *testing.T) {
	const inv = `
agents:
  - id: a
    owner: team-a
    created: 2026-01-01T00:00:00Z
    playground:
      systems: [aws:s3]
      networks: [10.0.0.0/8, 198.51.100.0/24]
      clients: [boto3, terraform]
`
	r := reportOn(t, inv, []schemas.AgentEvent{
		ev("1", "a", now.Add(-time.Hour), func(e *schemas.AgentEvent) {
			e.SrcIP, e.UserAgent = "10.1.2.3", "Boto3/1.34.2 md/Botocore#1.34.2"
		}),
		// An AWS service acting for the agent: no address, not its client.
		ev("2", "a", now.Add(-time.Hour), func(e *schemas.AgentEvent) { e.SrcIP, e.UserAgent = "", "athena.amazonaws.com" }),
	})
	f := find(r, TUnusedPermissions, "a", "")
	if f == nil || f.Severity != schemas.SeverityInfo || evidenceOf(f, "unused_networks") != "198.51.100.0/24" ||
		evidenceOf(f, "unused_clients") != "terraform" || !strings.Contains(f.Summary, "(1 network, 1 client)") {
		t.Fatalf("finding %+v", f)
	}
	if f.PolicyDiff != "" {
		t.Errorf("policy diff for networks and clients:\n%s", f.PolicyDiff)
	}
}

// madeFor is a credential a platform node made for agent: its
// sts:AssumeRole of the agent's role, attributed to the agent by request
// parameters.
func madeFor(id, agent string, at time.Time) schemas.AgentEvent {
	return ev(id, agent, at, func(e *schemas.AgentEvent) {
		e.Principal, e.PrincipalKind = "arn:aws:sts::1:assumed-role/eks-node-role/i-node1", schemas.PrincipalInfrastructure
		e.System, e.Action, e.Resource = "aws:sts", "sts:AssumeRole", "arn:aws:iam::123456789012:role/agent-"+agent
		e.SrcIP, e.UserAgent, e.OnBehalfOf = "203.0.113.7", "aws-cli/2.22.0 Python/3.12.6", "bob@corp.example"
		e.AgentInstance = "pod-" + id
		e.CredentialID, e.CredentialType, e.CredentialIssuedAt = "ASIAMADE"+id, schemas.CredSTSSession, &at
	})
}

// TestCredentialsMadeForAnAgent: a node assuming an agent's role is not
// the agent's use (no permission, network, client or delegator of its
// own, no activity, no credential source), but a decommissioned agent
// whose role is still assumed for it still holds credentials, an expired
// one too, and a dormant one is told it still gets them.
func TestCredentialsMadeForAnAgent(t *testing.T) {
	const inv = `
agents:
  - id: lake
    owner: team-lake
    contact: {slack_channel: "#lake"}
    created: 2026-01-01T00:00:00Z
    playground:
      systems: [aws:sts]
      statements:
        - sid: Assume
          actions: ["sts:AssumeRole"]
          resources: ["arn:aws:iam::123456789012:role/*"]
      networks: [203.0.113.7]
      clients: [aws-cli]
      delegators: none
  - id: gone
    owner: team-a
    contact: {slack_channel: "#a"}
    status: decommissioned
    decommissioned_at: 2026-11-01T00:00:00Z
  - id: gone-clean
    owner: team-a
    contact: {slack_channel: "#a"}
    status: decommissioned
    decommissioned_at: 2026-11-28T00:00:00Z
  - id: past-due
    owner: team-a
    contact: {slack_channel: "#a"}
    created: 2025-01-01T00:00:00Z
    expires: 2026-11-01T00:00:00Z
`
	day := func(d int) time.Time { return now.Add(-time.Duration(d) * 24 * time.Hour) }
	var evs []schemas.AgentEvent
	for i := range 3 {
		evs = append(evs, madeFor(fmt.Sprintf("l%d", i), "lake", day(1+i)))
	}
	// lake acted itself only long ago: it is dormant.
	evs = append(evs, ev("own", "lake", day(45), nil))
	evs = append(evs, madeFor("g1", "gone", day(2)), madeFor("g2", "gone", day(1)))
	evs = append(evs, madeFor("c1", "gone-clean", day(3))) // before its decommissioned_at
	evs = append(evs, madeFor("p1", "past-due", day(2)))
	r := reportOn(t, inv, evs)

	f := find(r, TUnusedPermissions, "lake", "")
	if f == nil || !strings.Contains(f.Summary, "did not act in the last 30 days") ||
		evidenceOf(f, "unused_statements") != "Assume" || evidenceOf(f, "unused_networks") != "203.0.113.7" ||
		evidenceOf(f, "unused_clients") != "aws-cli" {
		t.Errorf("lake's unused permissions: %+v", f)
	}
	if f := find(r, TUndeclaredDeleg, "lake", ""); f != nil {
		t.Errorf("a node's on_behalf_of counted as lake's delegation: %s", f.Summary)
	}
	d := find(r, TDormant, "lake", "")
	if d == nil || !strings.Contains(d.Summary, "yet credentials are still made for it (last "+day(1).Format(time.RFC3339)+")") ||
		!strings.Contains(evidenceOf(d, "credentials_made_for_it"), "3 role assumptions by arn:aws:sts::1:assumed-role/eks-node-role/*") ||
		!strings.Contains(d.Fix, "still gets credentials") {
		t.Errorf("dormant lake: %+v", d)
	}
	for _, s := range r.Sources {
		if s.AgentID == "lake" || s.AgentID == "gone" {
			t.Errorf("credential source for an agent that did not act: %+v", s)
		}
	}

	g := find(r, TDecommissionedUsed, "gone", "")
	if g == nil || g.Severity != schemas.SeverityCritical ||
		!strings.Contains(g.Summary, "decommissioned agent gone still holds credentials: its role is still assumed for it, 2 role assumptions") ||
		!strings.Contains(evidenceOf(g, "sessions_made"), "ASIAMADEg1") || evidenceOf(g, "decommissioned_at") != "2026-11-01T00:00:00Z" ||
		!strings.Contains(g.Fix, "still assumes gone's role") {
		t.Errorf("decommissioned gone: %+v", g)
	}
	if g := find(r, TDecommissionedUsed, "gone-clean", ""); g != nil {
		t.Errorf("credentials made before decommissioned_at: %s", g.Summary)
	}
	p := find(r, TExpired, "past-due", "")
	if p == nil || p.Severity != schemas.SeverityHigh || !strings.Contains(p.Summary, "credentials are still made for it") {
		t.Errorf("expired past-due: %+v", p)
	}
	// The node's network is not the sessions' network.
	for _, x := range r.Findings {
		if x.Type == TCredentialNetworks || (x.Type == TUnknownPrincipal && x.AgentID != "unknown") {
			t.Errorf("unexpected %s: %s", x.Type, x.Summary)
		}
	}
}

// TestDelegatorsNone: with "delegators: none" any on_behalf_of is
// undeclared delegation, said as such.
func TestDelegatorsNone(t *testing.T) {
	const inv = `
agents:
  - id: solo
    owner: team-a
    contact: {slack_channel: "#a"}
    playground:
      delegators: none
`
	r := reportOn(t, inv, []schemas.AgentEvent{
		ev("1", "solo", now.Add(-time.Hour), func(e *schemas.AgentEvent) { e.OnBehalfOf = "svc:billing" }),
		ev("2", "solo", now.Add(-time.Hour), func(e *schemas.AgentEvent) { e.OnBehalfOf = "none" }),
		ev("3", "solo", now.Add(-time.Hour), nil),
	})
	f := find(r, TUndeclaredDeleg, "solo", "")
	if f == nil || f.Severity != schemas.SeverityHigh ||
		!strings.Contains(f.Summary, "acts for nobody (delegators: none) yet acted on behalf of 2 identities") ||
		f.Evidence[0].Baseline != "nobody (delegators: none)" || !strings.Contains(f.Evidence[0].Observed, "svc:billing") {
		t.Fatalf("finding %+v", f)
	}
	if find(r, THumanDelegation, "solo", "") != nil {
		t.Error("human delegation reported beside delegators: none")
	}
}

// TestInstancesAtOnce: a deployment replaced twice a week has many pod
// names in a month but never more than its replicas at once; a copied
// credential running beside them is.
func TestInstancesAtOnce(t *testing.T) {
	const inv = `
agents:
  - id: web
    owner: team-a
    contact: {slack_channel: "#a"}
    instances: 2
`
	var evs []schemas.AgentEvent
	// Nine generations of two pods, each living three days, busy hourly.
	for g := range 9 {
		for p := range 2 {
			for h := 0; h < 72; h += 6 {
				at := now.Add(-time.Duration(28-3*g)*24*time.Hour + time.Duration(h)*time.Hour)
				evs = append(evs, ev(fmt.Sprintf("w%d-%d-%d", g, p, h), "web", at, func(e *schemas.AgentEvent) {
					e.AgentInstance = fmt.Sprintf("web-gen%d-%d", g, p)
				}))
			}
		}
	}
	if f := find(reportOn(t, inv, evs), TInstances, "web", ""); f != nil {
		t.Fatalf("redeploys reported: %s", f.Summary)
	}
	// Three more instances during the last generation.
	last := now.Add(-2 * 24 * time.Hour)
	for i := range 3 {
		evs = append(evs, ev(fmt.Sprintf("x%d", i), "web", last.Add(time.Duration(i)*time.Minute), func(e *schemas.AgentEvent) {
			e.AgentInstance = fmt.Sprintf("copied-%d", i)
		}))
	}
	f := find(reportOn(t, inv, evs), TInstances, "web", "")
	if f == nil || !strings.Contains(f.Summary, "ran 5 instances at once") || evidenceOf(f, "distinct_in_window") != "21" ||
		!strings.Contains(evidenceOf(f, "running_then"), "copied-0") {
		t.Fatalf("copied credential: %+v", f)
	}
}
