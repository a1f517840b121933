package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

const awsAccount = "123456789012"

// newAgent declares the n-th agent of kind: its owner, playground,
// instances, network and credentials.
func newAgent(kind string, n int, start time.Time) *agent {
	id := agentName(kind, n)
	a := &agent{id: id, kind: kind, ordinal: n}
	created := start.AddDate(0, -6, 0)
	d := inventory.Agent{ID: id, Kind: kind, Status: inventory.StatusActive, Created: &created}
	// Each kind lives in its own /16; further agents of a kind get their own /24.
	third := byte(1 + n)
	var second byte
	switch kind {
	case KindSupport:
		second = 20
		d.DisplayName = "Customer support assistant"
		d.Owner = "team-support-platform"
		d.Contact = inventory.Contact{Email: "support-platform@acme.example", SlackChannel: "#support-bot-alerts", PagerDutyService: "PSUPBOT"}
		d.Purpose = "Answers customer tickets: reads the ticket and the customer's record on the customer's behalf and replies."
		d.Instances = 4
		d.Playground = inventory.Playground{
			Systems: []string{"mcp:zendesk", "mcp:crm", "mcp:kb"},
			Actions: []string{"tools/call:get_ticket", "tools/call:add_comment", "tools/call:update_ticket", "tools/call:escalate_ticket",
				"tools/call:merge_tickets", "tools/call:get_customer", "tools/call:update_customer", "tools/call:search_articles"},
			Resources:  []string{"zendesk://tickets/*", "crm://customers/*", "kb://articles/*"},
			Hours:      []string{"* 00:00-24:00"},
			Delegators: []string{"customer:*"},
			CredentialPolicy: inventory.CredentialPolicy{
				AllowedTypes: []string{schemas.CredOAuthToken}, MaxAge: inventory.Duration(2 * time.Hour)},
		}
		a.insts = podNames(id, "6d8f9", 3)
		a.ua = "support-bot/2.3.1 langchain/0.3.7 python-httpx/0.27"
		a.role = "svc-support-bot@acme.example"
	case KindCI:
		second = 30
		d.DisplayName = "CI/CD deploy agent"
		d.Owner = "team-platform"
		d.Contact = inventory.Contact{Email: "platform@acme.example", SlackChannel: "#platform-deploys", PagerDutyService: "PPLATFORM"}
		d.Purpose = "Builds images, pushes them to ECR and rolls them out to staging and prod."
		d.Instances = 2
		d.Playground = inventory.Playground{
			Systems:   []string{"github", "aws:ecr", "k8s"},
			Actions:   []string{"actions.*", "repos.get", "ecr:*", "k8s:get deployments", "k8s:patch deployments", "k8s:list replicasets", "k8s:list pods"},
			Resources: []string{"repos/acme/*", "arn:aws:ecr:eu-west-1:" + awsAccount + ":repository/*", "staging/**", "prod/**"},
			Hours:     []string{"Mon-Fri 06:00-21:00", "Sat,Sun 09:00-18:00"},
			CredentialPolicy: inventory.CredentialPolicy{
				AllowedTypes: []string{schemas.CredJWT, schemas.CredSTSSession}, MaxAge: inventory.Duration(24 * time.Hour)},
		}
		a.insts = []string{fmt.Sprintf("%s-runner-0", id), fmt.Sprintf("%s-runner-1", id)}
		a.ua = "kubectl/v1.31.2 (linux/amd64) argo-rollouts/1.7"
		a.role = "arn:aws:iam::" + awsAccount + ":role/" + id
	case KindData:
		second = 40
		d.DisplayName = "Data analysis agent"
		d.Owner = "team-analytics"
		d.Contact = inventory.Contact{Email: "analytics@acme.example", SlackChannel: "#analytics-agents", PagerDutyService: "PANALYTICS"}
		d.Purpose = "Runs Athena queries over the analytics lake and writes daily and monthly reports."
		d.Instances = 1
		d.Playground = inventory.Playground{
			Systems:   []string{"aws:s3", "aws:athena", "aws:glue"},
			Actions:   []string{"s3:GetObject", "s3:ListBucket", "s3:PutObject", "athena:*", "glue:Get*"},
			Resources: []string{"arn:aws:s3:::analytics-lake", "arn:aws:s3:::analytics-lake/**", "arn:aws:athena:eu-west-1:" + awsAccount + ":workgroup/analytics", "arn:aws:glue:eu-west-1:" + awsAccount + ":table/**"},
			Hours:     []string{"* 00:00-24:00"},
			CredentialPolicy: inventory.CredentialPolicy{
				AllowedTypes: []string{schemas.CredSTSSession}, MaxAge: inventory.Duration(12 * time.Hour)},
		}
		a.insts = []string{id + "-worker-0"}
		a.ua = "aws-sdk-python/1.35.36 Python/3.12.7 pandas-agent/0.9"
		a.role = "arn:aws:iam::" + awsAccount + ":role/" + id
	case KindSales:
		second = 50
		d.DisplayName = "Sales outreach e-mail agent"
		d.Owner = "team-growth"
		d.Contact = inventory.Contact{Email: "growth@acme.example", SlackChannel: "#growth-agents"}
		d.Purpose = "Drafts and sends outreach e-mails to leads from Salesforce through SendGrid."
		d.Instances = 1
		d.Playground = inventory.Playground{
			Systems: []string{"mcp:sendgrid", "mcp:salesforce"},
			Actions: []string{"tools/call:send_email", "tools/call:*_template", "tools/call:get_contact", "tools/call:update_contact",
				"tools/call:get_lead", "tools/call:get_opportunity"},
			Resources: []string{"mailto:*", "salesforce://contacts/*", "salesforce://leads/*", "salesforce://opportunities/*", "sendgrid://templates/*"},
			Hours:     []string{"Mon-Fri 07:00-20:00"},
			CredentialPolicy: inventory.CredentialPolicy{
				AllowedTypes: []string{schemas.CredStaticKey, schemas.CredOAuthToken}, MaxAge: inventory.Duration(365 * 24 * time.Hour)},
		}
		a.insts = []string{id + "-0"}
		a.ua = "sales-mailer/1.8.0 node/20.18.0"
		a.role = "integration-user:" + id
		// The fleet's one long-lived key: a SendGrid/Salesforce API key
		// issued about nine months before the simulation starts.
		a.staticID = fmt.Sprintf("key-sg-%s-%04x", id, hash32(id, "static")&0xffff)
		a.issued = start.AddDate(0, -9, 0)
	case KindOps:
		second = 60
		d.DisplayName = "Ops remediation agent"
		d.Owner = "team-sre"
		d.Contact = inventory.Contact{Email: "sre@acme.example", SlackChannel: "#sre-agents", PagerDutyService: "PSRE"}
		d.Purpose = "Watches alarms, reads logs and restarts unhealthy services; reads its own ops secrets when rotating them."
		d.Instances = 2
		d.Playground = inventory.Playground{
			Systems: []string{"k8s", "aws:cloudwatch", "mcp:pagerduty", "aws:secretsmanager", "aws:rds"},
			Actions: []string{"k8s:list pods", "k8s:get pods/log", "k8s:get deployments", "k8s:patch deployments", "k8s:patch nodes",
				"cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms", "tools/call:get_incident", "tools/call:add_note",
				"secretsmanager:GetSecretValue", "rds:RebootDBInstance"},
			Resources: []string{"prod/**", "staging/**", "nodes/*", "arn:aws:cloudwatch:eu-west-1:" + awsAccount + ":alarm:*",
				"pagerduty://incidents/*", "arn:aws:secretsmanager:eu-west-1:" + awsAccount + ":secret:ops/*", "arn:aws:rds:eu-west-1:" + awsAccount + ":db:*"},
			Hours: []string{"* 00:00-24:00"},
			CredentialPolicy: inventory.CredentialPolicy{
				AllowedTypes: []string{schemas.CredSTSSession, schemas.CredJWT}, MaxAge: inventory.Duration(24 * time.Hour)},
		}
		a.insts = podNames(id, "5c7b2", 2)
		a.ua = "ops-agent/0.14.2 aws-sdk-go-v2/1.32.4 client-go/0.31"
		a.role = "arn:aws:iam::" + awsAccount + ":role/" + id
	}
	d.Labels = map[string]string{"env": "prod", "kind": kind}
	a.decl = d
	a.network = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, second, third, 0}), 24)
	return a
}

// newLegacyAgent declares the decommissioned report bot: it was replaced
// by the data-analysis agent, but its long-lived key was never revoked.
func newLegacyAgent(start time.Time) *agent {
	created := start.AddDate(-2, 0, 0)
	expires := start.AddDate(0, -2, 0)
	a := &agent{id: DecommissionedID, kind: "report-bot"}
	a.decl = inventory.Agent{
		ID: DecommissionedID, DisplayName: "Legacy nightly report bot", Kind: "report-bot",
		Owner:   "team-analytics",
		Contact: inventory.Contact{Email: "analytics@acme.example", SlackChannel: "#analytics-agents", PagerDutyService: "PANALYTICS"},
		Purpose: "Replaced by data-analyst; kept in the inventory so any use of its identity pages.",
		Status:  inventory.StatusDecommissioned, Created: &created, Expires: &expires,
		Playground: inventory.Playground{
			Systems: []string{"aws:s3"}, Actions: []string{"s3:GetObject", "s3:ListBucket"},
			Resources:        []string{"arn:aws:s3:::analytics-lake/reports/**"},
			CredentialPolicy: inventory.CredentialPolicy{AllowedTypes: []string{schemas.CredStaticKey}},
		},
		Labels: map[string]string{"env": "prod", "kind": "report-bot"},
	}
	a.insts = []string{"cron-reports-01"}
	a.network = netip.MustParsePrefix("10.70.8.0/24")
	a.ua = "aws-sdk-go/1.44.122 (go1.19; linux; amd64)"
	a.role = "arn:aws:iam::" + awsAccount + ":user/legacy-report-bot"
	a.staticID = "AKIA" + upperID("legacy", 16)
	a.issued = start.AddDate(-2, 0, 0)
	return a
}

// podNames returns n stable pod names for a deployment.
func podNames(id, rs string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%s-%s", id, rs, lowerID(fmt.Sprint(id, i), 5))
	}
	return out
}

const lowerAlphabet = "bcdfghjklmnpqrstvwxz2456789"
const upperAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func lowerID(seed string, n int) string { return encodeID(seed, n, lowerAlphabet) }
func upperID(seed string, n int) string { return encodeID(seed, n, upperAlphabet) }

func encodeID(seed string, n int, alphabet string) string {
	b := make([]byte, n)
	h := hash32(seed)
	for i := range b {
		if i%5 == 0 {
			h = hash32(seed, fmt.Sprint(i))
		}
		b[i] = alphabet[h%uint32(len(alphabet))]
		h /= uint32(len(alphabet))
	}
	return string(b)
}

// identity fills the who-fields of an event for agent a's instance inst at
// t: principal, credential, source address and user agent. It is a pure
// function of (agent, instance, time) so that incidents and injected
// events carry exactly the identity the agent had at that moment.
func (a *agent) identity(ev *schemas.AgentEvent, inst string, t time.Time) {
	ev.AgentID = a.id
	ev.AgentInstance = inst
	ev.UserAgent = a.userAgent(t)
	ev.SrcIP = a.addr(inst, t)
	switch a.kind {
	case KindSupport:
		// An OAuth client-credentials token, renewed hourly; the id is the
		// token's jti.
		h := t.Truncate(time.Hour)
		ev.Principal = a.role
		ev.CredentialType = schemas.CredOAuthToken
		ev.CredentialID = "jti-" + lowerID(fmt.Sprint(a.id, inst, h.Unix()), 12)
		setValidity(ev, h, time.Hour+5*time.Minute)
	case KindSales, "report-bot":
		ev.Principal = a.role
		ev.CredentialType = schemas.CredStaticKey
		id, iss := a.staticKey(t)
		ev.CredentialID = id
		ev.CredentialIssuedAt = &iss
	default:
		// An STS session per instance, refreshed at the top of each hour
		// (AWS shows a fresh ASIA... access key id for each).
		h := t.Truncate(time.Hour)
		ev.Principal = "arn:aws:sts::" + awsAccount + ":assumed-role/" + a.id + "/" + inst
		ev.CredentialType = schemas.CredSTSSession
		ev.CredentialID = "ASIA" + upperID(fmt.Sprint(a.id, inst, h.Unix()), 16)
		setValidity(ev, h, time.Hour)
	}
}

// k8sIdentity switches an event to the agent's Kubernetes service-account
// token (a projected JWT rotated daily), as seen in the k8s audit log.
func (a *agent) k8sIdentity(ev *schemas.AgentEvent, t time.Time) {
	ns := "ci"
	if a.kind == KindOps {
		ns = "ops"
	}
	ev.Principal = "system:serviceaccount:" + ns + ":" + a.id
	ev.CredentialType = schemas.CredJWT
	ev.CredentialID = "sa-token-" + lowerID(fmt.Sprint(a.id, t.Truncate(24*time.Hour).Unix()), 10)
	setValidity(ev, t.Truncate(24*time.Hour), 24*time.Hour)
}

func setValidity(ev *schemas.AgentEvent, issued time.Time, ttl time.Duration) {
	iss, exp := issued, issued.Add(ttl)
	ev.CredentialIssuedAt, ev.CredentialExpiresAt = &iss, &exp
}

// addr is the instance's address: stable per instance within the agent's
// /24, or within the new /24 after a subnet change.
func (a *agent) addr(inst string, t time.Time) string {
	p := a.network
	for _, c := range a.changes {
		if c.Type == ChangeSubnet && c.active(t) {
			p = c.prefix
		}
	}
	b := p.Addr().As4()
	b[3] = byte(10 + hash32(a.id, inst)%200)
	return netip.AddrFrom4(b).String()
}

func (a *agent) userAgent(t time.Time) string {
	ua := a.ua
	for _, c := range a.changes {
		if c.Type == ChangeUserAgent && c.active(t) {
			ua = c.UserAgent
		}
	}
	return ua
}

// instances lists the instances running at t (a scale-out adds one).
func (a *agent) instances(t time.Time) []string {
	out := a.insts
	for _, c := range a.changes {
		if c.Type == ChangeNewInstance && c.active(t) {
			out = append(append([]string(nil), out...), c.Instance)
		}
	}
	return out
}
