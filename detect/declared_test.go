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

// renderParsed renders suggestions and parses them back as agents.yaml,
// failing the test when they do not parse.
func renderParsed(t *testing.T, sugs ...Suggestion) (string, *inventory.Inventory) {
	t.Helper()
	out := RenderSuggestions(sugs)
	parsed, err := inventory.Parse("suggestion.yaml", []byte(out))
	if err != nil {
		t.Fatalf("suggestion does not parse: %v\n%s", err, out)
	}
	return out, parsed
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
	out, parsed := renderParsed(t, s)
	p := &parsed.Get("reporter").Playground
	if !p.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/exports/2026/07/part-9.csv") || p.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/tmp/x") {
		t.Fatalf("widened playground:\n%s", out)
	}
	if len(p.Statements) != 5 || !p.ActsForNobody() || len(p.Networks) != 1 || p.Clients[0] != "boto3" || p.CredentialPolicy.RotateEvery == 0 ||
		!p.AllowsActionOn("ec2:DescribeInstances", "") {
		t.Fatalf("the rest of the playground was lost:\n%s", out)
	}
}

// TestActionsIAMNeverDenies: sts:GetCallerIdentity needs no permission,
// so no policy names it, yet it is inside any AWS playground; in a
// playground about other systems it is still outside.
func TestActionsIAMNeverDenies(t *testing.T) {
	e := iamEngine(t)
	who := awsEv(t0.Add(9*time.Hour), "aws:sts", "sts:GetCallerIdentity", "")
	if as := e.Process(who); len(as) != 0 {
		t.Fatalf("GetCallerIdentity in an AWS playground: %v", detectors(as))
	}
	e = newEngine(t, nil)
	var g gen
	ev := g.ev("support-bot", t0.Add(9*time.Hour), "sts:GetCallerIdentity", "")
	ev.System = "aws:sts"
	if as := e.Process(ev); len(as) != 1 || as[0].Detector != DPlaygroundDeclared {
		t.Fatalf("GetCallerIdentity from a helpdesk agent: %v", detectors(as))
	}
}

// TestDeclaredSlotQuietsWeeklyHabits: reporter works weekdays 06:00-20:00
// and runs a declared monthly job on the 1st at 04:00. On the 1st, at an
// hour it has never been busy, it reads a declared resource with an
// action it has never used: inside its declared slot and statements, the
// learned hour and first-use detectors stay quiet. The same call outside
// the slot is a first use; a call outside its statements in the slot is
// still declared-outside.
func TestDeclaredSlotQuietsWeeklyHabits(t *testing.T) {
	e := iamEngine(t)
	for d := 0; d < 28; d++ {
		day := t0.AddDate(0, 0, d)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for h := 6; h < 20; h++ {
			for i := 0; i < 6; i++ {
				if as := e.Process(awsEv(day.Add(time.Duration(h)*time.Hour+time.Duration(i*10)*time.Minute), "aws:ec2", "ec2:DescribeInstances", "")); len(as) != 0 {
					t.Fatalf("warm-up raised %v", detectors(as))
				}
			}
		}
	}
	first := time.Date(2026, 4, 1, 4, 5, 0, 0, time.UTC) // a Wednesday, the 1st
	var got []string
	for i := 0; i < 20; i++ {
		got = append(got, firing(e.Process(awsEv(first.Add(time.Duration(i)*time.Minute), "aws:s3", "s3:GetObject",
			fmt.Sprintf("arn:aws:s3:::acme-lake/docs/close/%d.pdf", i))))...)
	}
	if len(got) != 0 {
		t.Fatalf("the declared monthly run raised %v", got)
	}
	if got := firing(e.Process(awsEv(first.Add(30*time.Minute), "aws:s3", "s3:PutObject", "arn:aws:s3:::acme-lake/docs/x"))); len(got) != 1 || got[0] != DPlaygroundDeclared+"/firing" {
		t.Fatalf("an undeclared action in the slot: %v", got)
	}
	later := time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC) // Thursday, inside the weekday hours
	if got := firing(e.Process(awsEv(later, "aws:ec2", "ec2:DescribeVpcs", ""))); len(got) != 1 || got[0] != DFirstAction+"/firing" {
		t.Fatalf("a first use outside the slot: %v", got)
	}
}

// TestCredentialsMadeForAnAgent: a node assuming an agent's role (given
// to the agent by an attribution rule on request parameters; the node is
// a known principal) is not the agent's own call: neither its declared
// playground nor its learned habits judge it, and it is not learned. A
// credential made for a decommissioned agent is still news.
func TestCredentialsMadeForAnAgent(t *testing.T) {
	e := iamEngine(t)
	ev := awsEv(t0.Add(3*time.Hour), "aws:sts", "sts:AssumeRole", "arn:aws:iam::123456789012:role/reporter")
	ev.Principal, ev.PrincipalKind = "arn:aws:sts::123456789012:assumed-role/eks-node/i-0abc", schemas.PrincipalInfrastructure
	ev.SrcIP, ev.UserAgent = "192.0.2.7", "credd/1.0 aws-sdk-go-v2/1.30"
	if as := e.Process(ev); len(as) != 0 {
		t.Fatalf("a node assuming the agent's role: %v", detectors(as))
	}
	if a := e.Tracker().Get("reporter"); a != nil && (len(a.Actions) > 0 || len(a.Networks) > 0) {
		t.Fatalf("the node's call was learned as the agent's: %d actions, %d networks", len(a.Actions), len(a.Networks))
	}
	e = newEngine(t, nil)
	var g gen
	made := g.ev("old-bot", t0, "sts:AssumeRole", "arn:aws:iam::123456789012:role/old-bot")
	made.PrincipalKind = schemas.PrincipalInfrastructure
	if as := e.Process(made); len(as) != 1 || as[0].Detector != DDecommissioned {
		t.Fatalf("credentials made for a decommissioned agent: %v", detectors(as))
	}
}

// TestSuggestionLeavesOutWhatIAMRefused: a crossing the source refused
// every time (AccessDenied) is not added, however often it recurred:
// the playground says what the policy allows.
func TestSuggestionLeavesOutWhatIAMRefused(t *testing.T) {
	inv, err := inventory.Parse("agents.yaml", []byte(iamAgents))
	if err != nil {
		t.Fatal(err)
	}
	ag := inv.Get("reporter")
	x := newCrossings()
	at := t0.Add(9 * time.Hour)
	for h := 0; h < 3; h++ {
		ev := awsEv(at.Add(time.Duration(h)*time.Hour), "aws:s3", "s3:GetObject", "arn:aws:s3:::acme-lake/finance/payroll.csv")
		ev.Outcome = schemas.OutcomeDenied
		x.record(ag, DPlaygroundDeclared, ev)
		x.record(ag, DPlaygroundDeclared, awsEv(at.Add(time.Duration(h)*time.Hour), "aws:s3", "s3:GetObject", "arn:aws:s3:::acme-lake/exports/x.csv"))
	}
	s, ok := suggest(ag, x)
	if !ok || len(s.Added) != 1 || len(s.Denied) != 1 || !strings.Contains(s.Denied[0].Value, "acme-lake/finance/") {
		t.Fatalf("suggestion = %+v", s)
	}
	out, parsed := renderParsed(t, s)
	p := &parsed.Get("reporter").Playground
	if p.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/finance/payroll.csv") || !p.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/exports/x.csv") ||
		!strings.Contains(out, "refused by the source every time") {
		t.Fatalf("widened playground:\n%s", out)
	}
}

// TestSuggestionNetworksAndClients: recurring undeclared sources are
// suggested as the public address itself (a NAT gateway) or, for private
// ones, by /24, folded into the /16 once three /24s of it recur; a client
// family that recurs is added; one-offs are listed, not added.
func TestSuggestionNetworksAndClients(t *testing.T) {
	inv, err := inventory.Parse("agents.yaml", []byte(iamAgents))
	if err != nil {
		t.Fatal(err)
	}
	ag := inv.Get("reporter")
	x := newCrossings()
	at := t0.Add(9 * time.Hour)
	for h := 0; h < 2; h++ {
		for _, ip := range []string{"54.208.77.12", "10.30.1.9", "10.30.2.9", "10.30.3.9"} {
			ev := awsEv(at.Add(time.Duration(h)*time.Hour), "aws:ec2", "ec2:DescribeInstances", "")
			ev.SrcIP = ip
			x.record(ag, DNetworkUndeclared, ev)
		}
		tf := awsEv(at.Add(time.Duration(h)*time.Hour), "aws:ec2", "ec2:DescribeVpcs", "")
		tf.UserAgent = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.6"
		x.record(ag, DClientUndeclared, tf)
	}
	once := awsEv(at, "aws:ec2", "ec2:DescribeInstances", "")
	once.SrcIP = "198.51.100.9"
	x.record(ag, DNetworkUndeclared, once)
	s, ok := suggest(ag, x)
	if !ok || len(s.Added) != 3 || len(s.Skipped) != 1 {
		t.Fatalf("suggestion = %+v", s)
	}
	out, parsed := renderParsed(t, s)
	p := &parsed.Get("reporter").Playground
	if !p.AllowsNetwork("54.208.77.12") || p.AllowsNetwork("54.208.77.13") || !p.AllowsNetwork("10.30.200.1") || !p.AllowsNetwork("10.20.1.1") ||
		p.AllowsNetwork("198.51.100.9") || !p.AllowsClient("Terraform/1.9.8 terraform-provider-aws/5.80.0", "10.20.1.1") {
		t.Fatalf("widened playground:\n%s", out)
	}
}
