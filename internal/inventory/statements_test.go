package inventory

import (
	"strings"
	"testing"
	"time"
)

// A playground written from an IAM policy: statements pair actions with
// resources, and ARNs match as IAM matches them.
const iamStyle = `agents:
  - id: reporter
    owner: team-analytics
    playground:
      systems: [aws:s3, aws:ec2, aws:glue, aws:athena, aws:sts]
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
        - actions: ["glue:GetTable", "glue:GetPartitions"]
          resources: ["arn:aws:glue:eu-west-1:123456789012:table/analytics/*"]
        - actions: ["athena:*"]
          resources: ["arn:aws:athena:eu-west-1:123456789012:workgroup/analytics"]
      delegators: none
      networks: [10.20.0.0/16, 203.0.113.7]
      clients: [boto3, aws-cli]
      hours: ["Mon-Fri 06:00-20:00", "1st 04:00-05:00"]
      credentials:
        allowed_types: [sts_session, static_key]
        rotate_every: 90d
`

func TestStatementsAsIAM(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(iamStyle))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("reporter").Playground
	cases := []struct {
		action, resource string
		want             bool
	}{
		{"ec2:DescribeInstances", "", true},
		{"ec2:RunInstances", "arn:aws:ec2:eu-west-1:123456789012:instance/i-1", false},
		// "*" crosses "/": objects in sub-folders are inside.
		{"s3:GetObject", "arn:aws:s3:::acme-lake/docs/a.txt", true},
		{"s3:GetObject", "arn:aws:s3:::acme-lake/docs/2024/q1/a.txt", true},
		{"s3:GetObject", "arn:aws:s3:::acme-lake/finance/payroll.csv", false},
		// GetObject is allowed only on docs/: not on the bucket's other
		// statement.
		{"s3:GetObject", "arn:aws:s3:::acme-lake", false},
		// CloudTrail's ListObjects is IAM's s3:ListBucket.
		{"s3:ListObjects", "arn:aws:s3:::acme-lake", true},
		{"s3:ListObjectsV2", "arn:aws:s3:::other-bucket", false},
		{"s3:PutObject", "arn:aws:s3:::acme-lake/docs/a.txt", false},
		// IAM matches actions without regard to case.
		{"s3:getobject", "arn:aws:s3:::acme-lake/docs/a.txt", true},
		{"glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/analytics/events", true},
		{"glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/finance/payroll", false},
		{"glue:GetTable", "events", false},
		{"athena:GetQueryResults", "arn:aws:athena:eu-west-1:123456789012:workgroup/analytics", true},
		{"athena:GetQueryResults", "arn:aws:athena:eu-west-1:123456789012:workgroup/primary", false},
		// An event whose resource the source does not name is judged on
		// its action only.
		{"athena:GetQueryResults", "", true},
	}
	for _, c := range cases {
		if got := p.AllowsActionOn(c.action, c.resource); got != c.want {
			t.Errorf("%s on %q = %v, want %v", c.action, c.resource, got, c.want)
		}
	}
	res, rules := p.ResourcesFor(p.ActionRules("s3:GetObject"))
	if strings.Join(res, ",") != "arn:aws:s3:::acme-lake/docs/*" || strings.Join(rules, ",") != "ReadDocs" {
		t.Errorf("resources for s3:GetObject = %v from %v", res, rules)
	}
	if _, rules := p.ResourcesFor(p.ActionRules("glue:GetPartitions")); strings.Join(rules, ",") != "statements[3]" {
		t.Errorf("unnamed statement = %v", rules)
	}

	if !p.ActsForNobody() || p.AllowsDelegator("ana@acme.example") || !p.AllowsDelegator("") {
		t.Error("delegators: none must allow nobody")
	}
	for ip, want := range map[string]bool{"10.20.3.4": true, "10.21.0.1": false, "203.0.113.7": true, "203.0.113.8": false, "": true, "::ffff:10.20.0.9": true} {
		if got := p.AllowsNetwork(ip); got != want {
			t.Errorf("network %q = %v, want %v", ip, got, want)
		}
	}
	if time.Duration(p.CredentialPolicy.RotateEvery) != 90*24*time.Hour {
		t.Errorf("rotate_every = %v", time.Duration(p.CredentialPolicy.RotateEvery))
	}
	row := inv.Get("reporter").Row(time.Unix(0, 0))
	for _, want := range []string{`"statements":[{"sid":"Discover"`, `"delegators":["none"]`, `"networks":["10.20.0.0/16"`, `"rotate_every":"2160h0m0s"`} {
		if !strings.Contains(row.Declared, want) {
			t.Errorf("declared %s lacks %s", row.Declared, want)
		}
	}
}

// The top-level actions and resources keep their meaning (one statement),
// with IAM matching for ARNs and the old globs for everything else.
func TestTopLevelResources(t *testing.T) {
	doc := `agents:
  - id: a
    playground:
      actions: ["s3:GetObject", "tickets.read"]
      resources: ["arn:aws:s3:::bucket/docs/*", "tickets/*", "kb/**"]
`
	inv, err := Parse("agents.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("a").Playground
	for r, want := range map[string]bool{
		"arn:aws:s3:::bucket/docs/sub/folder/x.pdf": true, // the example
		"arn:aws:s3:::bucket/other/x.pdf":           false,
		"tickets/1":                                 true,
		"tickets/1/attachments":                     false, // a glob's "*" stays within a segment
		"kb/a/b/c":                                  true,
	} {
		if got := p.AllowsResource(r); got != want {
			t.Errorf("resource %q = %v, want %v", r, got, want)
		}
	}
	if !p.AllowsAction("tickets.read") || p.AllowsAction("tickets.delete") || !p.AllowsAction("s3:GetObject") {
		t.Error("actions")
	}
	// Nothing declared: everything allowed.
	var empty Playground
	if !empty.AllowsActionOn("anything", "at/all") || !empty.AllowsDelegator("x") || !empty.AllowsNetwork("1.2.3.4") || !empty.AllowsClient("curl/8", "1.2.3.4") {
		t.Error("an empty playground constrains nothing")
	}
}

func TestCalendarHours(t *testing.T) {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	cases := []struct {
		hours string
		t     string
		want  bool
	}{
		{"1st 04:00-05:00", "2026-03-01T04:30:00Z", true},
		{"1st 04:00-05:00", "2026-03-02T04:30:00Z", false},
		{"1st 04:00-05:00", "2026-03-01T05:00:00Z", false},
		{"1,15 02:00-03:00", "2026-03-15T02:10:00Z", true},
		{"1-7 Mon 06:00-07:00", "2026-03-02T06:15:00Z", true},  // the first Monday
		{"1-7 Mon 06:00-07:00", "2026-03-09T06:15:00Z", false}, // the second
		{"1-7 Mon 06:00-07:00", "2026-03-03T06:15:00Z", false}, // in the first week, a Tuesday
		{"last 22:00-24:00", "2026-02-28T23:00:00Z", true},
		{"last 22:00-24:00", "2028-02-28T23:00:00Z", false}, // a leap year
		{"last 22:00-24:00", "2028-02-29T23:00:00Z", true},
		{"Mon-Fri 08:00-18:00", "2026-03-04T09:00:00Z", true},
		{"Sat,Sun 10:00-12:00", "2026-03-04T11:00:00Z", false},
		{"* 00:00-24:00", "2026-03-04T23:59:00Z", true},
		{"2nd,3rd,21st 01:00-02:00", "2026-03-21T01:00:00Z", true},
	}
	for _, c := range cases {
		p := Playground{Hours: []string{c.hours}}
		if got := p.AllowsTime(at(c.t)); got != c.want {
			t.Errorf("%q at %s = %v, want %v", c.hours, c.t, got, c.want)
		}
	}
	for _, bad := range []string{"1th 04:00-05:00", "32 04:00-05:00", "Mon Tue 04:00-05:00", "7-1 04:00-05:00", "Mon-Fri 9-5", "Mon 22:00-06:00", "1 2 3 04:00-05:00"} {
		if _, err := parseHourRange(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// Client families from user agents in real CloudTrail records and the
// documentation of each client.
func TestClientFamily(t *testing.T) {
	cases := map[string]string{
		"APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.76.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.157 (go1.19.3; linux; amd64)": "terraform",
		"[Boto3/1.26.165 Python/3.10.6 Linux/5.19.0-46-generic Botocore/1.29.165]":                    "boto3",
		"[aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0 botocore/1.17.59]":                              "aws-cli",
		"aws-cli/2.13.5 Python/3.11.4 Linux/6.1 exe/x86_64.ubuntu.22 prompt/off command/s3.ls":        "aws-cli",
		"aws-sdk-go/1.41.4 (go1.18.3; linux; amd64) amazon-ssm-agent/":                                "ssm-agent",
		"aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10 md/GOOS/linux md/GOARCH/amd64 api/sts/1.16.19": "aws-sdk-go-v2",
		"aws-sdk-go/1.38.37 (go1.16; linux; amd64) exec-env/AWS_Lambda_go1.x":                         "aws-sdk-go",
		"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.4.247-169.350.amzn2int.x86_64]": "aws-console",
		"console.ec2.amazonaws.com":                             "aws-console",
		"AWS Internal":                                          "aws-internal",
		"secretsmanager.amazonaws.com":                          "aws-service",
		"stratus-red-team_39f95f43-cd2f-4beb-b69e-be60b6fe1f57": "stratus-red-team",
		"review-bot/0.9.2":                                      "review-bot",
		"aws-sdk-js/3.540.0 ua/2.0 os/linux#6.1 lang/js md/nodejs#20.11.1": "aws-sdk-js",
		"": "",
	}
	for ua, want := range cases {
		if got := ClientFamily(ua); got != want {
			t.Errorf("ClientFamily(%q) = %q, want %q", ua, got, want)
		}
	}
	p := Playground{Clients: []string{"boto3", "aws-cli"}}
	checks := []struct {
		ua, ip string
		want   bool
	}{
		{"Boto3/1.34.2 md/Botocore#1.34.2", "10.0.0.1", true},
		{"aws-cli/2.13.5 Python/3.11.4", "10.0.0.1", true},
		{"curl/8.5.0", "10.0.0.1", false},
		{"APN/1.0 HashiCorp/1.0 Terraform/1.5.2 aws-sdk-go/1.44", "10.0.0.1", false},
		// Athena reading Glue for the agent: the service's client.
		{"athena.amazonaws.com", "", true},
		// A service name as user agent from an address is not a service.
		{"athena.amazonaws.com", "198.51.100.9", false},
	}
	for _, c := range checks {
		if got := p.AllowsClient(c.ua, c.ip); got != c.want {
			t.Errorf("client %q from %q = %v, want %v", c.ua, c.ip, got, c.want)
		}
	}
}

// Every error names the file, the line of the offending pattern and its
// key, and says why it can never match.
func TestErrorsNamePatternsThatCannotMatch(t *testing.T) {
	head := "agents:\n  - id: a\n    playground:\n"
	cases := []struct{ name, body, want string }{
		{"s3 object without bucket", "      resources:\n        - arn:aws:s3:::bucket\n        - arn:aws:s3:::/docs/*\n",
			`agents.yaml:6: agent "a": key playground.resources[1]: "arn:aws:s3:::/docs/*" can never match`},
		{"resource type that does not exist", "      statements:\n        - actions: [glue:GetTable]\n          resources:\n            - arn:aws:glue:eu-west-1:123456789012:tabel/db/*\n",
			`agents.yaml:7: agent "a": key playground.statements[0].resources[0]: "arn:aws:glue:eu-west-1:123456789012:tabel/db/*" can never match: it fits none of glue's resource types`},
		{"lambda with a slash", "      resources: [\"arn:aws:lambda:eu-west-1:123456789012:function/x\"]\n",
			`key playground.resources[0]: "arn:aws:lambda:eu-west-1:123456789012:function/x" can never match`},
		{"unknown service in an ARN", "      resources: [\"arn:aws:s4:::bucket\"]\n", `"s4" is not an AWS service prefix`},
		{"unknown action prefix", "      systems: [aws:s3]\n      actions: [s3:GetObject, s4:GetObject]\n",
			`agents.yaml:5: agent "a": key playground.actions[1]: "s4:GetObject": "s4" is not an AWS service prefix`},
		{"action outside the systems", "      systems: [aws:s3]\n      actions: [glue:GetTable]\n",
			`"glue:GetTable" can never be allowed: its system aws:glue is not in playground.systems [aws:s3]`},
		{"glob for an ARN-named service", "      statements:\n        - actions: [\"s3:GetObject\"]\n          resources: [\"bucket/docs/*\"]\n",
			`key playground.statements[0].resources[0]: "bucket/docs/*" can never match: agentwatch names these AWS services' resources by ARN`},
		{"statement without resources", "      statements:\n        - actions: [\"s3:GetObject\"]\n",
			`key playground.statements[0].resources: is required`},
		{"none beside delegators", "      delegators: [none, \"customer:*\"]\n", `none means the agent acts for nobody`},
		{"delegators scalar", "      delegators: nobody\n", `want a list of principal globs or the word none`},
		{"bad network", "      networks: [10.0.0.0/33]\n", `key playground.networks[0]: "10.0.0.0/33" is not a CIDR`},
		{"client with a version", "      clients: [boto3, \"Boto3/1.34\"]\n", `key playground.clients[1]: "Boto3/1.34" can never match`},
		{"bad calendar", "      hours: [\"Mon-Fri 07:00-20:00\", \"1th 04:00-05:00\"]\n",
			`agents.yaml:4: agent "a": key playground.hours[1]`},
		{"policy variable", "      resources: [\"arn:aws:s3:::home/${aws:username}/*\"]\n", `policy variables`},
		{"resources beside statements", "      resources: [\"*\"]\n      statements:\n        - actions: [\"s3:GetObject\"]\n          resources: [\"*\"]\n",
			`key playground.resources: beside statements`},
		{"negative rotation", "      credentials:\n        rotate_every: -1h\n", `rotate_every: must not be negative`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("agents.yaml", []byte(head+c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
	// Non-AWS playgrounds keep their own action and resource shapes.
	ok := head + "      systems: [k8s, mcp:zendesk]\n      actions: [\"k8s:get pods\", \"tools/call:get_ticket\"]\n      resources: [\"prod/**\", \"zendesk://tickets/*\"]\n"
	if _, err := Parse("agents.yaml", []byte(ok)); err != nil {
		t.Fatalf("non-AWS playground: %v", err)
	}
}

func TestMatchOnePattern(t *testing.T) {
	for _, c := range []struct {
		pattern, v string
		action     bool
		want       bool
	}{
		{"arn:aws:s3:::b/docs/*", "arn:aws:s3:::b/docs/x/y.pdf", false, true},
		{"tickets/*", "tickets/1/notes", false, false},
		{"s3:ListBucket", "s3:ListObjectsV2", true, true},
		{"S3:get*", "s3:GetObject", true, true},
		{"tools/call:get_*", "tools/call:get_ticket", true, true},
		{"arn:aws:s3", "arn:aws:s3:::b", false, false}, // cannot compile: matches nothing
	} {
		got := MatchResource(c.pattern, c.v)
		if c.action {
			got = MatchAction(c.pattern, c.v)
		}
		if got != c.want {
			t.Errorf("%q vs %q = %v", c.pattern, c.v, got)
		}
	}
}
