package console

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

// An agent onboarded from its IAM policy: statements, delegators: none,
// networks, clients, calendar hours and a rotation period.
const iamInventory = `agents:
  - id: lake-reader
    display_name: Lake reader
    kind: reporting
    owner: team-analytics
    playground:
      systems: [aws:s3, aws:glue, aws:ec2]
      statements:
        - sid: ReadDocs
          actions: ["s3:GetObject"]
          resources: ["arn:aws:s3:::acme-lake/docs/*"]
        - sid: ListLake
          actions: ["s3:ListBucket"]
          resources: ["arn:aws:s3:::acme-lake"]
        - sid: Catalog
          actions: ["glue:GetTable", "glue:GetPartitions"]
          resources: ["arn:aws:glue:eu-west-1:123456789012:table/curated/*"]
        - sid: Discover
          actions: ["ec2:Describe*"]
          resources: ["*"]
      delegators: none
      networks: [10.40.0.0/16, 203.0.113.7, 192.0.2.0/24]
      clients: [boto3, aws-cli, aws-sdk-go-v2, aws-cdk]
      hours: ["Mon-Fri 06:00-20:00", "1st 04:00-05:00"]
      credentials:
        allowed_types: [static_key]
        rotate_every: 90d
`

const (
	uaBoto3     = "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.6"
	uaCLI       = "aws-cli/2.22.0 md/awscrt#0.22.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.6"
	uaGoV2      = "aws-sdk-go-v2/1.32.5 os/linux lang/go#1.23.4 md/GOOS#linux md/GOARCH#amd64 api/glue#1.102.0"
	uaTerraform = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.5"
)

// iamFixture is a store holding lake-reader's habits (through the real
// baseline worker) and the incidents the real detector raised on them.
type iamFixture struct {
	st     store.Store
	inv    *inventory.Inventory
	alerts map[string]schemas.Alert // by detector
}

func newIAMFixture(t *testing.T) *iamFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return seedIAM(t, st)
}

// seedIAM fills st with lake-reader's habits and incidents.
func seedIAM(t *testing.T, st store.Store) *iamFixture {
	t.Helper()
	ctx := context.Background()
	inv, err := inventory.Parse("agents.yaml", []byte(iamInventory))
	if err != nil {
		t.Fatal(err)
	}
	w, err := baseline.NewWorker(baseline.DefaultConfig(), st, inv, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := detect.NewEngine(detect.DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	var items []baseline.Item
	byID := map[string]schemas.Alert{}
	n := 0
	add := func(ev schemas.AgentEvent) {
		n++
		ev.EventID = fmt.Sprintf("ev-%05d", n)
		ev.Source, ev.AgentID, ev.Principal, ev.Outcome = "cloudtrail", "lake-reader", "arn:aws:iam::123456789012:user/lake-reader", schemas.OutcomeSuccess
		if ev.CredentialID == "" {
			ev.CredentialID, ev.CredentialType = "AKIAEXAMPLELAKE01", schemas.CredStaticKey
		}
		if ev.SrcIP == "" {
			ev.SrcIP = "10.40.1.5"
		}
		if ev.UserAgent == "" {
			ev.UserAgent = uaBoto3
		}
		items = append(items, baseline.Item{Event: ev, Offset: int64(n)})
		for _, a := range eng.Process(&ev) {
			byID[a.ID] = a
		}
	}
	// Three working days of ordinary work, 09:00 to 17:00.
	for d := 0; d < 3; d++ {
		for h := 9; h < 17; h++ {
			at := start.Add(time.Duration(d*24+h) * time.Hour)
			add(schemas.AgentEvent{Time: at, Action: "s3:GetObject", System: "aws:s3",
				Resource: fmt.Sprintf("arn:aws:s3:::acme-lake/docs/2026/q1/board-%d.pdf", h)})
			add(schemas.AgentEvent{Time: at.Add(10 * time.Minute), Action: "glue:GetTable", System: "aws:glue",
				Resource: "arn:aws:glue:eu-west-1:123456789012:table/curated/events", UserAgent: uaCLI})
			add(schemas.AgentEvent{Time: at.Add(20 * time.Minute), Action: "ec2:DescribeInstances", System: "aws:ec2", SrcIP: "203.0.113.7", UserAgent: uaGoV2})
			// ListBucket, but never on the bucket its statement names.
			add(schemas.AgentEvent{Time: at.Add(30 * time.Minute), Action: "s3:ListObjects", System: "aws:s3", Resource: "arn:aws:s3:::scratch"})
		}
		// Every SDK asks who it is: no policy names it, IAM never denies it.
		add(schemas.AgentEvent{Time: start.Add(time.Duration(d*24+9) * time.Hour), Action: "sts:GetCallerIdentity", System: "aws:sts"})
	}
	// Then, on Wednesday afternoon, one of each thing it may not do.
	at := start.Add(2*24*time.Hour + 17*time.Hour)
	add(schemas.AgentEvent{Time: at, Action: "s3:GetObject", System: "aws:s3", Resource: "arn:aws:s3:::acme-lake/finance/payroll.csv"})
	add(schemas.AgentEvent{Time: at.Add(time.Minute), Action: "s3:GetObject", System: "aws:s3", Resource: "arn:aws:s3:::acme-lake/docs/a.pdf", SrcIP: "198.51.100.9"})
	add(schemas.AgentEvent{Time: at.Add(2 * time.Minute), Action: "ec2:DescribeVpcs", System: "aws:ec2", UserAgent: uaTerraform})
	add(schemas.AgentEvent{Time: at.Add(3 * time.Minute), Action: "ec2:DescribeVpcs", System: "aws:ec2", OnBehalfOf: "user:mallory"})
	issued := start.Add(-120 * 24 * time.Hour)
	add(schemas.AgentEvent{Time: at.Add(4 * time.Minute), Action: "ec2:DescribeVpcs", System: "aws:ec2",
		CredentialID: "AKIAEXAMPLEOLD02", CredentialType: schemas.CredStaticKey, CredentialIssuedAt: &issued})
	// A graver event joins the playground incident: its severity rises.
	add(schemas.AgentEvent{Time: at.Add(5 * time.Minute), Action: "iam:CreateAccessKey", System: "aws:iam",
		Resource: "arn:aws:iam::123456789012:user/mallory"})
	// A later ordinary event closes the window, so the learned
	// playground holds all of the above.
	add(schemas.AgentEvent{Time: at.Add(2 * time.Hour), Action: "ec2:DescribeInstances", System: "aws:ec2"})
	if err := w.HandleBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var all []schemas.Alert
	f := &iamFixture{st: st, inv: inv, alerts: map[string]schemas.Alert{}}
	for _, a := range byID {
		all = append(all, a)
		f.alerts[a.Detector] = a
	}
	if err := st.UpsertAlerts(ctx, all); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *iamFixture) server(t *testing.T) *httptest.Server {
	t.Helper()
	fx := &fixture{st: f.st, inv: f.inv, now: start.Add(4 * 24 * time.Hour)}
	return fx.server(t, pipeline.ConsoleConfig{})
}

var (
	trRE = regexp.MustCompile(`(?s)<tr>.*?</tr>`)
	liRE = regexp.MustCompile(`(?s)<li><code class="mono">.*?</li>`)
)

// piece returns the first table row or declared item of page holding
// text.
func piece(re *regexp.Regexp, page, text string) string {
	for _, m := range re.FindAllString(page, -1) {
		if strings.Contains(m, text) {
			return m
		}
	}
	return ""
}

// section cuts page from the heading holding from to the next one holding
// to.
func section(page, from, to string) string {
	i := strings.Index(page, from)
	if i < 0 {
		return ""
	}
	page = page[i:]
	if j := strings.Index(page, to); j >= 0 {
		page = page[:j]
	}
	return page
}

func TestAgentPagePlaygroundMarks(t *testing.T) { testPlaygroundMarks(t, newIAMFixture(t)) }
func TestAgentPagePlaygroundMarksClickHouse(t *testing.T) {
	testPlaygroundMarks(t, seedIAM(t, openClickHouse(t)))
}

func testPlaygroundMarks(t *testing.T, f *iamFixture) {
	status, page := get(t, f.server(t), "/agents/lake-reader")
	if status != 200 {
		t.Fatalf("agent page = %d: %.500s", status, page)
	}
	decl := section(page, "Declared in the inventory", "Learned from its events")
	learned := section(page, "Learned from its events", `id="seen-h"`)
	if decl == "" || learned == "" {
		t.Fatalf("agent page lacks the playground columns:\n%s", page)
	}
	const never = `>never used</span>`
	for _, c := range []struct {
		what, mark, title string // mark "" means unmarked
	}{
		// Statements, with the resources their actions apply to.
		{"s3:GetObject", "", ""},
		{"arn:aws:s3:::acme-lake/docs/*", "", ""},
		// ListBucket was used, but only on a bucket its statement leaves
		// out: not used for this statement.
		{"s3:ListBucket", never, "used only on resources this statement leaves out (such as s3:ListObjects on arn:aws:s3:::scratch)"},
		{"arn:aws:s3:::acme-lake</code>", never, ""},
		// The learned pattern names the account {n}: the declared
		// account is one of the values it stands for.
		{"glue:GetTable", "", ""},
		{"arn:aws:glue:eu-west-1:123456789012:table/curated/*", "", ""},
		{"glue:GetPartitions", never, ""},
		{"ec2:Describe*", "", ""},
		{`<code class="mono">*</code>`, "", ""},
		// delegators: none, crossed once.
		{`<code class="mono">none</code>`, `>1 seen</span>`, "it acted on behalf of 1 principal"},
		{"10.40.0.0/16", "", ""},
		{"203.0.113.7", "", ""},
		{"192.0.2.0/24", never, "declared, but no call came from it"},
		{"boto3", "", ""},
		{"aws-cli", "", ""},
		// The learned user agent keeps "aws-sdk-go-{v}": still this family.
		{`<code class="mono">aws-sdk-go-v2</code>`, "", ""},
		{"aws-cdk", never, "declared, but no user agent of this family was seen"},
		// Hours as written, day of the month included.
		{"1st 04:00-05:00", "", ""},
		{"static_key", "", ""},
		{"rotated every 90d", `>1 overdue</span>`, ""},
	} {
		li := piece(liRE, decl, c.what)
		if li == "" {
			t.Errorf("declared column lacks %q", c.what)
			continue
		}
		if c.mark == "" && strings.Contains(li, `class="badge`) {
			t.Errorf("declared %q is marked: %s", c.what, li)
		}
		if c.mark != "" && !strings.Contains(li, c.mark) {
			t.Errorf("declared %q lacks %s: %s", c.what, c.mark, li)
		}
		if c.title != "" && !strings.Contains(li, c.title) {
			t.Errorf("declared %q: title lacks %q: %s", c.what, c.title, li)
		}
	}
	for _, w := range []string{"ReadDocs", "ListLake", "Catalog", "Discover", "acts for nobody", "UTC"} {
		if !strings.Contains(decl, w) {
			t.Errorf("declared column lacks %q", w)
		}
	}
	const notDeclared = `>not declared</span>`
	for _, c := range []struct {
		what, mark, title string
	}{
		{"aws:s3 · s3:GetObject · arn:aws:s3:::acme-lake/finance/*", notDeclared, "s3:GetObject is allowed only on [arn:aws:s3:::acme-lake/docs/*] (ReadDocs)"},
		{"aws:s3 · s3:GetObject · arn:aws:s3:::acme-lake/docs/{n}/q1/*", "", ""},
		{"aws:glue · glue:GetTable · arn:aws:glue:eu-west-1:{n}:table/curated/events", "", ""},
		{"aws:s3 · s3:ListObjects · arn:aws:s3:::scratch", notDeclared, "s3:ListObjects is allowed only on [arn:aws:s3:::acme-lake] (ListLake)"},
		{"aws:ec2 · ec2:DescribeVpcs", "", ""},
		// Inside any AWS playground, as detection holds it.
		{"aws:sts · sts:GetCallerIdentity", "", ""},
		{"aws:iam · iam:CreateAccessKey", notDeclared, "system aws:iam is not in the declared systems"},
		{"198.51.100.0/24", notDeclared, "outside the declared networks [10.40.0.0/16, 203.0.113.7, 192.0.2.0/24]"},
		// Only 203.0.113.7 is declared: the habit keeps the /24, so it
		// is not called undeclared (detection judged each address).
		{"203.0.113.0/24", "", "(partly in the declared networks)"},
		{"10.40.1.0/24", "", ""},
		// Terraform's user agent names aws-sdk-go-v2, but its family is
		// terraform.
		{"Terraform/{v}", notDeclared, "client family terraform is not in the declared clients"},
		{"aws-sdk-go-{v}/{v} os/linux", "", ""},
		{"aws-cli/{v}", "", ""},
		{"user:mallory", notDeclared, "acts for nobody (delegators: none)"},
		{"AKIAEXAMPLEOLD02", `>not rotated</span>`, "keys must rotate every 90d"},
		{"AKIAEXAMPLELAKE01", "", ""},
	} {
		tr := piece(trRE, learned, c.what)
		if tr == "" {
			t.Errorf("learned column lacks %q", c.what)
			continue
		}
		if c.mark == "" && strings.Contains(tr, `class="badge`) {
			t.Errorf("learned %q is marked: %s", c.what, tr)
		}
		if c.mark != "" && !strings.Contains(tr, c.mark) {
			t.Errorf("learned %q lacks %s: %s", c.what, c.mark, tr)
		}
		if c.title != "" && !strings.Contains(tr, c.title) {
			t.Errorf("learned %q: title lacks %q: %s", c.what, c.title, tr)
		}
	}
	// What it may not do comes first: the first habits of their kinds are
	// the marked ones.
	if i, j := strings.Index(learned, "198.51.100.0/24"), strings.Index(learned, "10.40.1.0/24"); i < 0 || j < 0 || i > j {
		t.Error("an undeclared network is not listed before the declared ones")
	}
}

// A habit one of whose events the declared playground allows is never
// marked "not declared": the inventory's pattern judgement agrees with
// the baseline's generalisation on real resource names.
func TestLearnedPatternsKeepAllowedEvents(t *testing.T) {
	declared := []string{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake", "arn:aws:glue:eu-west-1:123456789012:table/curated/*",
		"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/summarise:*", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db*",
		"arn:aws:athena:eu-west-1:123456789012:workgroup/reporting", "zendesk://tickets/*", "crm://customers/**", "kb/article-?", "*"}
	resources := []string{"arn:aws:s3:::acme-lake/docs/2026/q1/board-7.pdf", "arn:aws:s3:::acme-lake/docs/a.pdf", "arn:aws:s3:::acme-lake",
		"arn:aws:s3:::acme-lake/finance/payroll-2026-03.csv", "arn:aws:glue:eu-west-1:123456789012:table/curated/events_20260302",
		"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/summarise:log-stream:2026/03/02/[$LATEST]ab12cd34ef56ab12cd34ef56ab12cd34",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123", "arn:aws:athena:eu-west-1:123456789012:workgroup/reporting",
		"zendesk://tickets/48213", "zendesk://tickets/48213/comments/2", "crm://customers/cus_00042/orders/7f3e9a2c-1b4d-4e8f-9a6b-2c3d4e5f6a7b",
		"kb/article-7", "users/ana@acme.example"}
	for _, d := range declared {
		for _, r := range resources {
			p := baseline.Generalize(r)
			if inventory.MatchResource(d, r) && !inventory.PatternOverlaps(d, p) {
				t.Errorf("%s allows %s, but not its habit %s", d, r, p)
			}
		}
	}
}

// A learned user agent's family is the family of the user agents it
// stands for, so its mark is detection's.
func TestLearnedUserAgentsKeepTheirFamily(t *testing.T) {
	for _, ua := range []string{uaBoto3, uaCLI, uaTerraform,
		"aws-sdk-go-v2/1.32.5 os/linux lang/go#1.23.4 md/GOOS#linux md/GOARCH#amd64 api/s3#1.71.0",
		"aws-sdk-go/1.55.5 (go1.22.7; linux; amd64)", "aws-sdk-java/2.29.1 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS",
		"aws-sdk-js/3.687.0 ua/2.1 os/linux#5.10 lang/js md/nodejs#20.18.0", "aws-sdk-dotnet-coreclr/3.7.400.50 .NET_Core/8.0.10",
		"aws-internal/3 aws-sdk-java/1.12.771", "AWS Internal", "athena.amazonaws.com", "console.ec2.amazonaws.com",
		"S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750", "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
		"google-cloud-sdk gcloud/502.0.0 command/gcloud.storage.ls", "Pulumi/3.140.0 (linux; amd64) aws-sdk-go-v2/1.32.5",
		"aws-cdk/2.167.1 (+https://github.com/aws/aws-cdk)", "support-bot/2.3.1 langchain/0.3.7 python-httpx/0.27.2",
		"myagent-v2/1.0.4", "stratus-red-team_39f95f43-cd2f-4beb-b69e-be60b6fe1f57", "curl/8.5.0"} {
		raw, learned := inventory.ClientFamily(ua), inventory.LearnedClientFamily(baseline.GeneralizeUserAgent(ua))
		if !inventory.ClientFamilyMatches(raw, learned) {
			t.Errorf("%q: family %q, its learned form %q stands for other families (%q)", ua, raw, baseline.GeneralizeUserAgent(ua), learned)
		}
	}
}

// The incidents of the newer detectors read in words: their scope named
// by what crossed, evidence features named for people, the severity rise
// apart from the evidence, and the inventory change that fits the
// playground as written.
func TestIncidentPagesOfNewerDetectors(t *testing.T) { testNewerIncidents(t, newIAMFixture(t)) }
func TestIncidentPagesOfNewerDetectorsClickHouse(t *testing.T) {
	testNewerIncidents(t, seedIAM(t, openClickHouse(t)))
}

func testNewerIncidents(t *testing.T, f *iamFixture) {
	ts := f.server(t)
	for _, c := range []struct {
		detector string
		want     []string
		not      []string
	}{
		{detect.DNetworkUndeclared, []string{"source networks", "198.51.100.0/24", "source address", "198.51.100.9",
			"observed against the declared playground", `add &#34;198.51.100.0/24&#34; to playground.networks`}, []string{"src_ip"}},
		{detect.DClientUndeclared, []string{"client families", "client family</td>", "terraform", `add &#34;terraform&#34; to playground.clients`},
			[]string{"client_family", "<td>resources</td>"}},
		{detect.DCredNotRotated, []string{"credentials</td>", "AKIAEXAMPLEOLD02", "credential age", "122d since issued", "rotated every 90d"},
			[]string{"credential_age", "To make it permanent"}},
		{detect.DDelegNotAllowed, []string{"on behalf of</td>", "user:mallory", "nobody",
			`replace delegators: none with delegators: [&#34;user:mallory&#34;]`}, []string{"to playground.delegators"}},
		{detect.DPlaygroundDeclared, []string{"what crossed the playground", "Severity rose", "<strong>critical (score 90)</strong>, was high (score 75): a sensitive action joined: iam:CreateAccessKey",
			"observed against the declared playground and the learned baseline",
			`add &#34;aws:iam&#34; to playground.systems`,
			// The IAM action that authorises CloudTrail's ListObjects.
			`a statement {actions: [&#34;s3:ListBucket&#34;], resources: [&#34;arn:aws:s3:::scratch&#34;]}`,
			`a statement {actions: [&#34;s3:GetObject&#34;], resources: [&#34;arn:aws:s3:::acme-lake/finance/*&#34;]}`,
			`a statement {actions: [&#34;iam:CreateAccessKey&#34;], resources: [&#34;arn:aws:iam::123456789012:user/mallory&#34;]}`},
			// Beside statements, resources alone are an inventory error.
			// Detection holds GetCallerIdentity inside, as the agent page does.
			[]string{"to playground.resources", "<td>severity</td>", "system:aws:sts", "GetCallerIdentity"}},
	} {
		a, ok := f.alerts[c.detector]
		if !ok {
			t.Errorf("the detector raised no %s incident", c.detector)
			continue
		}
		status, page := get(t, ts, "/incidents/"+a.ID)
		if status != 200 {
			t.Fatalf("%s: incident page = %d", c.detector, status)
		}
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s incident page lacks %q", c.detector, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(page, w) {
				t.Errorf("%s incident page has %q", c.detector, w)
			}
		}
	}
	// The fleet names the detectors behind each count of open incidents.
	_, fleet := get(t, ts, "/")
	for _, w := range []string{`title="3 open medium: client.undeclared, credential.not_rotated, network.undeclared"`, `title="1 open critical: playground.declared"`} {
		if !strings.Contains(fleet, w) {
			t.Errorf("fleet page lacks %s", w)
		}
	}
}

// The widening a playground.declared incident suggests is a valid
// playground that lets every one of its events through, with and without
// statements.
func TestSuggestedWideningAllowsTheEvents(t *testing.T) {
	iam, err := inventory.Parse("agents.yaml", []byte(iamInventory))
	if err != nil {
		t.Fatal(err)
	}
	lists, err := inventory.Parse("agents.yaml", []byte(`agents:
  - id: lister
    playground:
      systems: [aws:s3, mcp:zendesk]
      actions: ["s3:GetObject", "tickets.read"]
      resources: ["arn:aws:s3:::acme-lake/docs/*", "zendesk://tickets/*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	events := []schemas.AgentEvent{
		{System: "aws:s3", Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-lake/finance/2026-03/payroll-0042.csv"},
		{System: "aws:s3", Action: "s3:ListObjects", Resource: "arn:aws:s3:::scratch"},
		{System: "aws:iam", Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::123456789012:user/mallory"},
		{System: "aws:ec2", Action: "ec2:DescribeVpcs"},
		{System: "mcp:zendesk", Action: "users.export", Resource: "zendesk://users/export"},
		{System: "mcp:zendesk", Action: "tickets.read", Resource: "zendesk://tickets/48213/comments/7"},
	}
	for _, ag := range []*inventory.Agent{iam.Get("lake-reader"), lists.Get("lister")} {
		w := pipeline.PlaygroundFixes(&ag.Playground, events)
		wide := *ag
		wide.Playground = w.Apply(ag.Playground)
		inv, err := inventory.New([]inventory.Agent{wide})
		if err != nil {
			t.Errorf("%s: the suggested playground does not load: %v (%s)", ag.ID, err, strings.Join(w.Text(), "; "))
			continue
		}
		pg := &inv.Get(ag.ID).Playground
		for _, ev := range events {
			if !pg.AllowsSystem(ev.System) || !pg.AllowsActionOn(ev.Action, ev.Resource) {
				t.Errorf("%s: widened by %s, still refuses %s on %q", ag.ID, strings.Join(w.Text(), "; "), ev.Action, ev.Resource)
			}
		}
	}
}

// An agent with thousands of sessions or customers lists the marked ones
// and the most used others, and counts the rest.
func TestManyCredentialsAreCounted(t *testing.T) {
	inv, err := inventory.Parse("agents.yaml", []byte(iamInventory))
	if err != nil {
		t.Fatal(err)
	}
	var play []schemas.PlaygroundRow
	for i := 0; i < 40; i++ {
		play = append(play, schemas.PlaygroundRow{Kind: schemas.PlayCredential, Value: fmt.Sprintf("ASIA%04d", i), Count: int64(100 - i),
			FirstSeen: start, LastSeen: start.Add(time.Hour)})
	}
	play = append(play, schemas.PlaygroundRow{Kind: schemas.PlayCredential, Value: "AKIAOLD", Count: 1, FirstSeen: start, LastSeen: start.Add(time.Hour)})
	issued := start.Add(-200 * 24 * time.Hour)
	creds := map[string]credSeen{"AKIAOLD": {Type: schemas.CredStaticKey, Issued: issued}}
	_, learned := playgrounds(inv.Get("lake-reader"), play, nil, creds, start)
	var whats []string
	for _, h := range learned {
		whats = append(whats, h.What)
	}
	got := strings.Join(whats, ",")
	if len(learned) != 27 || whats[0] != "AKIAOLD" || whats[1] != "ASIA0000" || whats[25] != "ASIA0024" || whats[26] != "and 15 more, each used less" {
		t.Errorf("learned credentials = %s", got)
	}
}
