package detect

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// An agent onboarded from its IAM policy, with the playground's newer
// boundaries: statements, delegators: none, networks, clients, a monthly
// run and key rotation.
const iamAgents = `
agents:
  - id: reporter
    owner: team-analytics
    playground:
      systems: [aws:s3, aws:ec2, aws:glue]
      statements:
        - sid: Discover
          actions: ["ec2:Describe*"]
          resources: ["*"]
        - sid: ReadDocs
          actions: ["s3:GetObject"]
          resources: ["arn:aws:s3:::acme-lake/docs/*"]
        - sid: ListLake
          actions: ["s3:ListBucket"]
          resources: ["arn:aws:s3:::acme-lake"]
        - sid: Catalog
          actions: ["glue:GetTable"]
          resources: ["arn:aws:glue:eu-west-1:123456789012:table/analytics/*"]
      delegators: none
      networks: [10.20.0.0/16]
      clients: [boto3]
      hours: ["Mon-Fri 06:00-20:00", "1st 04:00-05:00"]
      credentials:
        rotate_every: 90d
`

func iamEngine(t *testing.T) *Engine {
	t.Helper()
	inv, err := inventory.Parse("agents.yaml", []byte(iamAgents))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var awsN int

// awsEv is a reporter call from its usual place, client and key.
func awsEv(at time.Time, system, action, resource string) *schemas.AgentEvent {
	awsN++
	return &schemas.AgentEvent{EventID: fmt.Sprintf("aws-%06d", awsN), Time: at, Source: "cloudtrail", AgentID: "reporter",
		AgentInstance: "worker-1", Action: action, System: system, Resource: resource, Outcome: schemas.OutcomeSuccess,
		SrcIP: "10.20.3.4", UserAgent: "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0", CredentialID: "ASIAEXAMPLE01",
		CredentialType: schemas.CredSTSSession, Principal: "arn:aws:sts::123456789012:assumed-role/reporter/worker-1"}
}

func TestStatementsJudgeActionAndResourceTogether(t *testing.T) {
	e := iamEngine(t)
	at := t0.Add(9 * time.Hour) // Monday 09:00
	quiet := []*schemas.AgentEvent{
		awsEv(at, "aws:ec2", "ec2:DescribeInstances", ""),
		awsEv(at, "aws:s3", "s3:GetObject", "arn:aws:s3:::acme-lake/docs/2026/03/q1/report.pdf"), // a sub-folder
		awsEv(at, "aws:s3", "s3:ListObjects", "arn:aws:s3:::acme-lake"),                          // IAM's s3:ListBucket
		awsEv(at, "aws:glue", "glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/analytics/events"),
	}
	for _, ev := range quiet {
		if as := e.Process(ev); len(as) != 0 {
			t.Fatalf("%s on %s: %v %s", ev.Action, ev.Resource, detectors(as), as[0].Reason)
		}
	}
	// GetObject outside docs/: allowed only on its statement's resources.
	as := e.Process(awsEv(at, "aws:s3", "s3:GetObject", "arn:aws:s3:::acme-lake/finance/payroll.csv"))
	if len(as) != 1 || as[0].Detector != DPlaygroundDeclared {
		t.Fatalf("alerts = %v", detectors(as))
	}
	if want := "outside the declared playground: s3:GetObject is allowed only on [arn:aws:s3:::acme-lake/docs/*] (ReadDocs)"; as[0].Reason != want {
		t.Fatalf("reason = %q, want %q", as[0].Reason, want)
	}
	// An action of no statement: the same incident (the declared
	// playground crossed again) grows, and says why.
	as = e.Process(awsEv(at, "aws:s3", "s3:PutObject", "arn:aws:s3:::acme-lake/docs/x"))
	if len(as) != 1 || !strings.Contains(as[0].Reason, "action not in [ec2:Describe*, s3:GetObject, s3:ListBucket, glue:GetTable]") ||
		!slices.Contains(as[0].SubjectExamples, "action:s3:PutObject") {
		t.Fatalf("alerts = %+v", as)
	}
}

func TestDeclaredNetworksClientsDelegatorsHours(t *testing.T) {
	e := iamEngine(t)
	at := t0.Add(9 * time.Hour)
	from := awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")
	from.SrcIP = "198.51.100.7"
	if got := detectors(e.Process(from)); !reflect.DeepEqual(got, []string{DNetworkUndeclared + "/firing"}) {
		t.Fatalf("outside networks: %v", got)
	}
	tf := awsEv(at, "aws:ec2", "ec2:DescribeVpcs", "")
	tf.UserAgent = "APN/1.0 HashiCorp/1.0 Terraform/1.5.2 (+https://www.terraform.io) terraform-provider-aws/5.7.0 aws-sdk-go/1.44.294"
	as := e.Process(tf)
	if len(as) != 1 || as[0].Detector != DClientUndeclared || as[0].Subject != "terraform" {
		t.Fatalf("undeclared client: %+v", as)
	}
	// Athena reading the catalog for the agent: no address, a service's
	// user agent; not the agent's client.
	svc := awsEv(at, "aws:glue", "glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/analytics/events")
	svc.SrcIP, svc.UserAgent = "", "athena.amazonaws.com"
	if as := e.Process(svc); len(as) != 0 {
		t.Fatalf("service call: %v", detectors(as))
	}
	// delegators: none — acting for anyone is outside.
	obo := awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")
	obo.OnBehalfOf = "ana@acme.example"
	as = e.Process(obo)
	if len(as) != 1 || as[0].Detector != DDelegNotAllowed || !strings.Contains(as[0].Reason, "acts for nobody") {
		t.Fatalf("delegators none: %+v", as)
	}
	// The monthly run on the 1st at 04:00 is declared; the 2nd is not.
	first := time.Date(2026, 4, 1, 4, 20, 0, 0, time.UTC) // a Wednesday
	// (The month that passed resolves the alerts above.)
	if got := firing(e.Process(awsEv(first, "aws:ec2", "ec2:DescribeInstances", ""))); len(got) != 0 {
		t.Fatalf("monthly run: %v", got)
	}
	if got := firing(e.Process(awsEv(first.AddDate(0, 0, 1), "aws:ec2", "ec2:DescribeInstances", ""))); !reflect.DeepEqual(got, []string{DOutsideHours + "/firing"}) {
		t.Fatalf("the 2nd at 04:20: %v", got)
	}
}

func firing(as []schemas.Alert) []string {
	var out []string
	for _, d := range detectors(as) {
		if strings.HasSuffix(d, "/firing") {
			out = append(out, d)
		}
	}
	return out
}

func TestCredentialRotation(t *testing.T) {
	e := iamEngine(t)
	at := t0.Add(9 * time.Hour)
	key := func(at time.Time) *schemas.AgentEvent {
		ev := awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")
		ev.CredentialID, ev.CredentialType = "AKIAEXAMPLE0000001", schemas.CredStaticKey
		return ev
	}
	// A long-lived key with no issue date: its age counts from the first
	// time the agent was seen using it.
	for d := 0; d < 90; d += 7 {
		day := at.AddDate(0, 0, d)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		if as := e.Process(key(day)); len(as) != 0 {
			t.Fatalf("day %d: %v", d, detectors(as))
		}
	}
	as := e.Process(key(at.AddDate(0, 0, 92)))
	if len(as) != 1 || as[0].Detector != DCredNotRotated || as[0].Subject != "AKIAEXAMPLE0000001" || !strings.Contains(as[0].Summary, "first seen 92d ago") {
		t.Fatalf("not rotated: %+v", as)
	}
	// A key whose source says when it was issued is judged on that.
	old := key(at)
	old.CredentialID = "AKIAEXAMPLE0000002"
	issued := at.AddDate(-1, 0, 0)
	old.CredentialIssuedAt = &issued
	if as := e.Process(old); len(as) != 1 || as[0].Detector != DCredNotRotated || !strings.Contains(as[0].Summary, "issued 365d ago") {
		t.Fatalf("issued a year ago: %+v", as)
	}
	// Short-lived sessions without an issue date are not judged.
	for _, d := range firing(e.Process(awsEv(at.AddDate(0, 0, 200), "aws:ec2", "ec2:DescribeInstances", ""))) {
		if d == DCredNotRotated+"/firing" {
			t.Fatal("a session without an issue date was judged on rotation")
		}
	}
}

// The playground check's suggestion for a playground with statements: an
// action allowed only on other resources, recurring, becomes a statement
// of its own; what the playground declares besides (networks, clients,
// delegators: none, rotate_every) is kept in the YAML to paste.
func TestSuggestionWithStatements(t *testing.T) {
	inv, err := inventory.Parse("agents.yaml", []byte(iamAgents))
	if err != nil {
		t.Fatal(err)
	}
	ag := inv.Get("reporter")
	x := newCrossings()
	at := t0.Add(9 * time.Hour)
	for h := 0; h < 3; h++ {
		ev := awsEv(at.Add(time.Duration(h)*time.Hour), "aws:s3", "s3:GetObject", fmt.Sprintf("arn:aws:s3:::acme-lake/exports/2026/0%d/part-1.csv", h+1))
		x.record(ag, DPlaygroundDeclared, ev)
	}
	x.record(ag, DPlaygroundDeclared, awsEv(at, "aws:s3", "s3:GetObject", "arn:aws:s3:::acme-lake/tmp/x"))
	s, ok := suggest(ag, x)
	if !ok || len(s.Added) != 1 || len(s.Skipped) != 1 {
		t.Fatalf("suggestion = %+v", s)
	}
	out := RenderSuggestions([]Suggestion{s})
	parsed, err := inventory.Parse("suggestion.yaml", []byte(out))
	if err != nil {
		t.Fatalf("suggestion does not parse: %v\n%s", err, out)
	}
	p := &parsed.Get("reporter").Playground
	if !p.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/exports/2026/07/part-9.csv") || p.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/tmp/x") {
		t.Fatalf("widened playground:\n%s", out)
	}
	if len(p.Statements) != 5 || !p.ActsForNobody() || len(p.Networks) != 1 || p.Clients[0] != "boto3" || p.CredentialPolicy.RotateEvery == 0 ||
		!p.AllowsActionOn("ec2:DescribeInstances", "") {
		t.Fatalf("the rest of the playground was lost:\n%s", out)
	}
}
