package inventory

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Learned patterns below are written as baseline.Generalize writes them
// (the console's tests check the two agree on real resources).
func TestPatternOverlaps(t *testing.T) {
	for _, c := range []struct {
		declared, learned string
		want              bool
	}{
		// The account is generalised to {n}: a declared account is one
		// of the values it stands for.
		{"arn:aws:glue:eu-west-1:123456789012:table/curated/*", "arn:aws:glue:eu-west-1:{n}:table/curated/events", true},
		{"arn:aws:glue:eu-west-1:123456789012:table/curated/*", "arn:aws:glue:eu-west-1:{n}:table/finance/payroll", false},
		{"arn:aws:glue:eu-west-1:123456789012:table/curated/*", "arn:aws:glue:us-east-1:{n}:table/curated/events", false},
		// An S3 folder's objects: IAM's "*" crosses "/", the learned "*"
		// is one object name (no "/").
		{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake/docs/*", true},
		{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake/docs/{n}/q{n}/*", true},
		{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake/finance/*", false},
		{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake/*", false},
		{"arn:aws:s3:::acme-lake/docs/board.pdf", "arn:aws:s3:::acme-lake/docs/*", true},
		{"arn:aws:s3:::acme-lake/docs/board.pdf", "arn:aws:s3:::acme-lake/docs/{n}/*", false},
		{"arn:aws:s3:::acme-lake", "arn:aws:s3:::acme-lake", true},
		{"arn:aws:s3:::acme-lake", "arn:aws:s3:::acme-lake/docs/*", false},
		{"arn:aws:s3:::acme-*", "arn:aws:s3:::acme-lake", true},
		// "?" is one character; the secret's six random ones fit {id}.
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????", "arn:aws:secretsmanager:eu-west-1:{n}:secret:prod/db-{id}", true},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????", "arn:aws:secretsmanager:eu-west-1:{n}:secret:prod/db", false},
		// A closing "*" runs on across colons.
		{"arn:aws:logs:eu-west-1:123456789012:*", "arn:aws:logs:eu-west-1:{n}:log-group:/aws/lambda/x:log-stream:{date}/[$LATEST]{hash}", true},
		{"arn:aws:logs:*", "arn:aws:logs:eu-west-1:{n}:log-group:/aws/lambda/x", true},
		{"arn:aws:logs:*", "arn:aws:s3:::b", false},
		{"arn:aws:s3:::b/${*}", "arn:aws:s3:::b/x", false},
		{"arn:aws:s3", "arn:aws:s3:::b", false}, // never matches
		{"*", "anything/{n}", true},
		// Globs: "*" within a segment, "**" across.
		{"zendesk://tickets/*", "zendesk://tickets/{n}", true},
		{"zendesk://tickets/*", "zendesk://tickets/{n}/comments", false},
		{"zendesk://tickets/**", "zendesk://tickets/{n}/comments", true},
		{"crm://customers/*", "crm://customers?page={n}", false},
		{"crm://customers/*", "crm://customers/cus_{n}", true},
		{"tickets/1*", "tickets/{n}", true},
		{"tickets/abc", "tickets/{n}", false}, // {n} is digits
		{"tickets/[0-9]*", "tickets/{n}", true},
		{"users/*@acme.example", "users/{email}", true},
		{"users/[", "users/{email}", false}, // a malformed glob matches nothing
		{"k8s:get pods", "k8s:get pods", true},
	} {
		if got := PatternOverlaps(c.declared, c.learned); got != c.want {
			t.Errorf("PatternOverlaps(%q, %q) = %v, want %v", c.declared, c.learned, got, c.want)
		}
	}
}

// On a resource with no placeholder, PatternOverlaps is the playground's
// own match.
func TestPatternOverlapsIsMatchOnConcreteResources(t *testing.T) {
	patterns := []string{"arn:aws:s3:::b/docs/*", "arn:aws:s3:::b", "arn:aws:s3:::b/docs/?.pdf", "arn:aws:logs:eu-west-1:123456789012:*",
		"arn:aws:lambda:eu-west-1:123456789012:function:f", "tickets/*", "tickets/**", "a/*/c", "kb/[ab]?", "*", "arn:aws:s3:::${a}"}
	resources := []string{"arn:aws:s3:::b/docs/x/y.pdf", "arn:aws:s3:::b", "arn:aws:s3:::b/docs/a.pdf", "arn:aws:s3:::c/docs/a.pdf",
		"arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s", "arn:aws:logs:eu-west-1:123456789012:log-group",
		"arn:aws:lambda:eu-west-1:123456789012:function:f", "arn:aws:lambda:eu-west-1:123456789012:function:f:1",
		"tickets/1", "tickets/1/notes", "a/b/c", "a/b/x/c", "kb/ax", "kb/cx", "kb/a/", "arn:aws:s3:::a"}
	for _, p := range patterns {
		for _, r := range resources {
			if got, want := PatternOverlaps(p, r), MatchResource(p, r); got != want {
				t.Errorf("PatternOverlaps(%q, %q) = %v, MatchResource = %v", p, r, got, want)
			}
		}
	}
}

func FuzzPatternOverlapsIsMatch(f *testing.F) {
	f.Add("arn:aws:s3:::b/d*/?x", "arn:aws:s3:::b/docs/ax")
	f.Add("tickets/*", "tickets/1")
	f.Add("a/**/c", "a/b/c")
	f.Add("arn:aws:s3:::${a}", "arn:aws:s3:::a")
	f.Fuzz(func(t *testing.T, pattern, resource string) {
		if strings.ContainsAny(resource, "*{") || !utf8.ValidString(pattern) || !utf8.ValidString(resource) {
			// Placeholders: not a concrete resource. Resource names
			// arrive as JSON text, valid UTF-8.
			return
		}
		if got, want := PatternOverlaps(pattern, resource), MatchResource(pattern, resource); got != want {
			t.Errorf("PatternOverlaps(%q, %q) = %v, MatchResource = %v", pattern, resource, got, want)
		}
	})
}

func TestRulesAndPatternAllowed(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(iamStyle))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("reporter").Playground
	var names []string
	for _, r := range p.Rules() {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "Discover,ReadDocs,ListLake,statements[3],statements[4]" {
		t.Fatalf("rules = %s", got)
	}
	// Bit i of ActionRules is Rules()[i].
	if m := p.ActionRules("s3:GetObject"); m != 1<<1 {
		t.Errorf("ActionRules(s3:GetObject) = %b, want ReadDocs (bit 1)", m)
	}
	for _, c := range []struct {
		action, pattern string
		want            bool
	}{
		{"s3:GetObject", "arn:aws:s3:::acme-lake/docs/{n}/*", true},
		{"s3:GetObject", "arn:aws:s3:::acme-lake/finance/*", false},
		// ListLake allows the bucket, not GetObject on it.
		{"s3:GetObject", "arn:aws:s3:::acme-lake", false},
		{"s3:ListObjects", "arn:aws:s3:::acme-lake", true},
		{"glue:GetTable", "arn:aws:glue:eu-west-1:{n}:table/analytics/events_{date}", true},
		{"ec2:DescribeInstances", "", true},
		{"athena:GetQueryResults", "", true},
	} {
		if got := p.PatternAllowed(p.ActionRules(c.action), c.pattern); got != c.want {
			t.Errorf("%s on %q = %v, want %v", c.action, c.pattern, got, c.want)
		}
	}
	top, err := Parse("agents.yaml", []byte("agents:\n  - id: a\n    playground:\n      resources: [\"tickets/*\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tp := &top.Get("a").Playground
	if rs := tp.Rules(); len(rs) != 1 || !rs[0].TopLevel || rs[0].Name != "playground.actions" || len(rs[0].Actions) != 0 {
		t.Errorf("top-level rules = %+v", rs)
	}
	if tp.PatternAllowed(tp.ActionRules("any.thing"), "kb/{n}") || !tp.PatternAllowed(tp.ActionRules("any.thing"), "tickets/{n}") {
		t.Error("top-level resources judge every action's patterns")
	}
	var empty Playground
	if len(empty.Rules()) != 0 || !empty.PatternAllowed(empty.ActionRules("x"), "y/{n}") {
		t.Error("an empty playground allows every pattern")
	}
}

func TestNetworkAndClientHabits(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(iamStyle))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("reporter").Playground
	for network, want := range map[string]Coverage{
		"10.20.1.0/24":   CoverAll,
		"203.0.113.0/24": CoverPart, // only 203.0.113.7 is declared
		"192.0.2.0/24":   CoverNone,
		"2001:db8::/48":  CoverNone,
		"not a network":  CoverAll, // not judged
	} {
		if got := p.NetworkCoverage(network); got != want {
			t.Errorf("NetworkCoverage(%s) = %d, want %d", network, got, want)
		}
	}
	var empty Playground
	if empty.NetworkCoverage("192.0.2.0/24") != CoverAll || !empty.AllowsLearnedClient("curl") {
		t.Error("an empty playground constrains no network or client")
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"10.20.0.0/16", "10.20.1.0/24", true},
		{"203.0.113.7", "203.0.113.0/24", true},
		{"10.0.0.0/8", "192.168.0.0/24", false},
		{"nonsense", "10.0.0.0/8", false},
	} {
		if got := NetworksOverlap(c.a, c.b); got != c.want {
			t.Errorf("NetworksOverlap(%s, %s) = %v", c.a, c.b, got)
		}
	}
	if !p.AllowsLearnedClient("boto3") || !p.AllowsLearnedClient("aws-cli") || p.AllowsLearnedClient("terraform") {
		t.Error("client families")
	}
}

// The learned playground keeps user agents with their versions as {v}
// (baseline.GeneralizeUserAgent); their families are those of the user
// agents they stand for.
func TestLearnedClientFamily(t *testing.T) {
	for ua, want := range map[string]string{
		"aws-sdk-go-{v}/{v} os/linux lang/go#{v} md/GOOS#linux":          "aws-sdk-go-v2",
		"aws-sdk-go/{v} (go{v}; linux; amd64)":                           "aws-sdk-go",
		"Boto3/{v} md/Botocore#{v} ua/{v} os/linux#{v}":                  "boto3",
		"APN/{v} HashiCorp/{v} Terraform/{v} terraform-provider-aws/{v}": "terraform",
		"support-bot/{v} langchain/{v}":                                  "support-bot",
		"myagent-{v}/{v}":                                                "myagent-{v}",
		"stratus-red-team_{v}":                                           "stratus-red-team",
		"athena.amazonaws.com":                                           "aws-service",
	} {
		if got := LearnedClientFamily(ua); got != want {
			t.Errorf("LearnedClientFamily(%q) = %q, want %q", ua, got, want)
		}
	}
	for _, c := range []struct {
		declared, learned string
		want              bool
	}{
		{"myagent-v2", "myagent-{v}", true},
		{"myagent-2.1", "myagent-{v}", true},
		{"myagent", "myagent-{v}", false},
		{"other-v2", "myagent-{v}", false},
		{"boto3", "boto3", true},
		{"boto3", "botocore", false},
	} {
		if got := ClientFamilyMatches(c.declared, c.learned); got != c.want {
			t.Errorf("ClientFamilyMatches(%q, %q) = %v", c.declared, c.learned, got)
		}
	}
	p := Playground{Clients: []string{"aws-sdk-go-v2", "myagent-v2"}}
	if !p.AllowsLearnedClient(LearnedClientFamily("aws-sdk-go-{v}/{v}")) || !p.AllowsLearnedClient("myagent-{v}") || p.AllowsLearnedClient("aws-sdk-go") {
		t.Error("AllowsLearnedClient")
	}
}

// BenchmarkPatternOverlaps judges typical habits against typical
// declared resources: an agent page judges each learned triple against
// the resources of the statements its action falls under.
func BenchmarkPatternOverlaps(b *testing.B) {
	pairs := [][2]string{
		{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake/docs/{n}/q1/*"},
		{"arn:aws:s3:::acme-lake/docs/*", "arn:aws:s3:::acme-lake/finance/{date}/payroll-{n}.csv"},
		{"arn:aws:glue:eu-west-1:123456789012:table/curated/*", "arn:aws:glue:eu-west-1:{n}:table/curated/events_{date}"},
		{"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/summarise:*", "arn:aws:logs:eu-west-1:{n}:log-group:/aws/lambda/summarise:log-stream:{date}/[$LATEST]{hash}"},
		{"zendesk://tickets/*", "zendesk://tickets/{n}/comments/{n}"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := pairs[i%len(pairs)]
		PatternOverlaps(p[0], p[1])
	}
}

func TestAlwaysAllows(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(iamStyle))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("reporter").Playground
	noSystems := Playground{Statements: []Statement{{Actions: []string{"s3:GetObject"}, Resources: []string{"*"}}}}
	mcp := Playground{Systems: []string{"mcp:zendesk"}}
	for _, c := range []struct {
		pg     *Playground
		action string
		want   bool
	}{
		{p, "sts:GetCallerIdentity", true},
		{p, "sts:AssumeRole", false},
		{&noSystems, "sts:GetCallerIdentity", true},
		{&mcp, "sts:GetCallerIdentity", false},
		{&Playground{}, "sts:GetCallerIdentity", false},
	} {
		if got := c.pg.AlwaysAllows(c.action); got != c.want {
			t.Errorf("%+v AlwaysAllows(%s) = %v", c.pg.Systems, c.action, got)
		}
	}
}
