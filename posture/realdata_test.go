package posture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

const realDir = "../../shared/data/real"

// realInventory declares the IAM user that drives the Stratus Red Team
// capture as an automation agent, with a playground wider than what the
// twenty minutes of logs use.
const realInventory = `
agents:
  - id: stratus-operator
    owner: team-redteam
    contact: {slack_channel: "#redteam"}
    created: 2023-01-01T00:00:00Z
    playground:
      systems: [aws:ssm, aws:ec2, aws:secretsmanager, aws:iam, aws:s3, aws:sts, aws:cloudtrail, aws:logs, aws:kms, aws:dynamodb]
      actions: ["ssm:*", "ec2:Describe*", "ec2:RunInstances", "ec2:Create*", "ec2:AssociateRouteTable", "ec2:TerminateInstances",
                "secretsmanager:*", "iam:*", "s3:*", "sts:AssumeRole", "cloudtrail:*", "logs:*", "kms:*",
                "dynamodb:DeleteTable", "s3:DeleteBucket"]
      resources: ["arn:aws:iam::123837392027:role/**", "arn:aws:s3:::stratus-*", "arn:aws:s3:::prod-backups/**"]
      credentials:
        rotate_every: 30d
`

// realEvents normalises every CloudTrail delivery file of the real
// capture, attributing the bert-jan IAM user to stratus-operator.
func realEvents(t *testing.T) []schemas.AgentEvent {
	t.Helper()
	files, _ := filepath.Glob(realDir + "/aws-cloudtrail/invictus-ir_aws_dataset/*.json")
	if len(files) == 0 {
		t.Skipf("real logs not present under %s", realDir)
	}
	cfg := ingest.DefaultConfig()
	cfg.Attribution = []ingest.Rule{{Name: "operator", Principal: "arn:aws:iam::123837392027:user/bert-jan", Agent: "stratus-operator"}}
	n, err := ingest.NewNormalizer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []schemas.AgentEvent
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, dead := n.Normalize(ingest.Record{Raw: raw, Source: "file:" + f})
		if len(dead) > 0 {
			t.Fatalf("%s: %d dead letters, first: %s", f, len(dead), dead[0].Reason)
		}
		evs = append(evs, e...)
	}
	return evs
}

func realReport(t *testing.T) (*Report, *inventory.Inventory) {
	t.Helper()
	return evaluate(t, realInventory, realEvents(t), nil, nil, time.Date(2023, 7, 12, 9, 0, 0, 0, time.UTC))
}

func find(r *Report, typ, agent, subject string) *Finding {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Type == typ && (agent == "*" || f.AgentID == agent) && (subject == "*" || f.Subject == subject) {
			return f
		}
	}
	return nil
}

func evidenceOf(f *Finding, feature string) string {
	for _, e := range f.Evidence {
		if e.Feature == feature {
			return e.Observed
		}
	}
	return ""
}

func TestRealCloudTrailLongLivedKeyInUse(t *testing.T) {
	r, _ := realReport(t)
	f := find(r, TLongLivedKey, "stratus-operator", "AKIATFQR7NSC8Q4X20BJ")
	if f == nil {
		t.Fatalf("no long-lived key finding for AKIATFQR7NSC8Q4X20BJ; findings: %v", types(r))
	}
	if f.Severity != schemas.SeverityHigh || f.Owner != "team-redteam" {
		t.Errorf("severity %s owner %q", f.Severity, f.Owner)
	}
	if got := evidenceOf(f, "last_used"); !strings.HasPrefix(got, "2023-07-10T12:0") {
		t.Errorf("last_used = %q, want the capture's last use", got)
	}
	if !strings.Contains(f.Fix, "aws iam update-access-key --access-key-id AKIATFQR7NSC8Q4X20BJ --status Inactive") {
		t.Errorf("fix = %q", f.Fix)
	}
	// The capture's temporary ASIA session keys are not long-lived.
	for _, x := range r.Findings {
		if x.Type == TLongLivedKey && strings.HasPrefix(x.Subject, "ASIA") {
			t.Errorf("session key reported as long-lived: %s", x.Summary)
		}
	}
	// Benjamin's AKIA keys act for a principal nobody owns: high.
	if f := find(r, TLongLivedKey, "*", "AKIATFQZ7NSC8Q4X21BJ"); f == nil || f.Severity != schemas.SeverityHigh {
		t.Errorf("benjamin's key: %+v", f)
	}
}

func TestRealCloudTrailUnusedDeclaredPermission(t *testing.T) {
	r, _ := realReport(t)
	f := find(r, TUnusedPermissions, "stratus-operator", "")
	if f == nil {
		t.Fatalf("no unused-permissions finding; findings: %v", types(r))
	}
	unusedActions := evidenceOf(f, "unused_actions")
	for _, want := range []string{"dynamodb:DeleteTable", "s3:DeleteBucket", "ec2:TerminateInstances"} {
		if !strings.Contains(unusedActions, want) {
			t.Errorf("unused actions %q lack %s", unusedActions, want)
		}
	}
	for _, used := range []string{"ssm:*", "secretsmanager:*", "ec2:Describe*"} {
		if strings.Contains(unusedActions, used) {
			t.Errorf("used action %s reported unused", used)
		}
	}
	if got := evidenceOf(f, "unused_systems"); got != "aws:dynamodb" {
		t.Errorf("unused systems = %q, want aws:dynamodb", got)
	}
	if got := evidenceOf(f, "unused_resources"); !strings.Contains(got, "arn:aws:s3:::prod-backups/**") {
		t.Errorf("unused resources = %q", got)
	}
	// The policy diff removes what went unused and narrows the used
	// wildcards to the actions used.
	for _, want := range []string{`-      "dynamodb:DeleteTable",`, `-      "ssm:*",`, `+      "ssm:PutParameter",`, `+      "secretsmanager:GetSecretValue",`} {
		if !strings.Contains(f.PolicyDiff, want) {
			t.Errorf("policy diff lacks %s:\n%s", want, f.PolicyDiff)
		}
	}
	if sugg := evidenceOf(f, "suggested_playground"); !strings.Contains(sugg, "ssm:PutParameter") || strings.Contains(sugg, "dynamodb") {
		t.Errorf("suggested playground = %q", sugg)
	}
}

func TestRealCloudTrailUnknownPrincipals(t *testing.T) {
	r, _ := realReport(t)
	f := find(r, TUnknownPrincipal, "arn:aws:iam::123837392027:user/benjamin", "*")
	if f == nil {
		t.Fatalf("benjamin not reported as unknown principal; findings: %v", types(r))
	}
	// benjamin used AKIA keys: high. Volume, actions and first/last seen
	// are in the evidence.
	if f.Severity != schemas.SeverityHigh || evidenceOf(f, "events") == "" || !strings.Contains(evidenceOf(f, "actions"), "s3:Get") ||
		!strings.HasPrefix(evidenceOf(f, "first_seen"), "2023-07-10T") {
		t.Errorf("benjamin finding: %+v", f)
	}
	// An assumed role is one identity whatever its session names, so the
	// finding (and its id) survives new sessions.
	role := find(r, TUnknownPrincipal, "arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-get-password-data-role/*", "*")
	if role == nil || role.Severity != schemas.SeverityMedium || evidenceOf(role, "events") != "29" {
		t.Errorf("stratus role: %+v", role)
	}
	// AWS acting for itself is infrastructure: informational only.
	if svc := find(r, TUnknownPrincipal, "ec2.amazonaws.com", "*"); svc == nil || svc.Severity != schemas.SeverityInfo {
		t.Errorf("ec2.amazonaws.com: %+v", svc)
	}
	if find(r, TUnknownPrincipal, "stratus-operator", "*") != nil {
		t.Error("the attributed agent is reported as unknown")
	}
}

func TestFindingIDsStable(t *testing.T) {
	a, _ := realReport(t)
	b, _ := realReport(t)
	if len(a.Findings) == 0 || len(a.Findings) != len(b.Findings) {
		t.Fatalf("%d vs %d findings", len(a.Findings), len(b.Findings))
	}
	seen := map[string]bool{}
	for i := range a.Findings {
		if a.Findings[i].ID != b.Findings[i].ID {
			t.Errorf("finding %d: id %s then %s", i, a.Findings[i].ID, b.Findings[i].ID)
		}
		if seen[a.Findings[i].ID] {
			t.Errorf("id %s used twice", a.Findings[i].ID)
		}
		seen[a.Findings[i].ID] = true
	}
	if got := FindingID(TLongLivedKey, "a", "k"); got != "pf-"+got[3:] || len(got) != 19 {
		t.Errorf("id shape %q", got)
	}
}

func types(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Type+"/"+f.AgentID+"/"+f.Subject)
	}
	return out
}
