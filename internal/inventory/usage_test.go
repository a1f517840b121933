package inventory

import (
	"reflect"
	"testing"
)

func TestRulesAndRuleEntries(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(iamStyle))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("reporter").Playground
	rules := p.Rules()
	if len(rules) != 5 || rules[0].Name != "Discover" || rules[3].Name != "statements[3]" || rules[3].Statement != 3 ||
		!reflect.DeepEqual(rules[1].Resources, []string{"arn:aws:s3:::acme-lake/docs/*"}) {
		t.Fatalf("rules = %+v", rules)
	}
	cases := []struct {
		rule             int
		action, resource string
		acts, res        []int
	}{
		// An IAM wildcard matches, case ignored; "*" matches any resource,
		// even none.
		{0, "ec2:DescribeInstances", "", []int{0}, []int{0}},
		{0, "ec2:describeinstances", "arn:aws:ec2:eu-west-1:1:instance/i-1", []int{0}, []int{0}},
		// An ARN as IAM matches it ("*" crosses "/"); a call naming no
		// resource matches no ARN entry.
		{1, "s3:GetObject", "arn:aws:s3:::acme-lake/docs/2024/a.txt", []int{0}, []int{0}},
		{1, "s3:GetObject", "", []int{0}, nil},
		{1, "s3:PutObject", "arn:aws:s3:::acme-lake/docs/a.txt", nil, []int{0}},
		// CloudTrail's ListObjects is IAM's ListBucket.
		{2, "s3:ListObjects", "arn:aws:s3:::acme-lake", []int{0}, []int{0}},
		{3, "glue:GetPartitions", "arn:aws:glue:eu-west-1:123456789012:table/analytics/events", []int{1}, []int{0}},
		{4, "athena:GetQueryResults", "arn:aws:athena:eu-west-1:123456789012:workgroup/other", []int{0}, nil},
		{9, "s3:GetObject", "", nil, nil},
	}
	for _, c := range cases {
		acts, res := p.RuleEntries(c.rule, c.action, c.resource)
		if !reflect.DeepEqual(acts, c.acts) || !reflect.DeepEqual(res, c.res) {
			t.Errorf("RuleEntries(%d, %s, %q) = %v, %v; want %v, %v", c.rule, c.action, c.resource, acts, res, c.acts, c.res)
		}
	}
	// The bits of ActionRules are the rules' indexes.
	if m := p.ActionRules("s3:ListObjectsV2"); m != 1<<2 {
		t.Errorf("ActionRules(ListObjectsV2) = %b", m)
	}
}

func TestRuleEntriesTopLevelLists(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(`agents:
  - id: a
    playground:
      actions: ["tickets.*", "s3:GetObject"]
      resources: ["tickets/*", "arn:aws:s3:::b/**", "*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("a").Playground
	rules := p.Rules()
	if len(rules) != 1 || rules[0].Statement != -1 || rules[0].Name != "playground.actions" {
		t.Fatalf("rules = %+v", rules)
	}
	acts, res := p.RuleEntries(0, "tickets.read", "tickets/42")
	if !reflect.DeepEqual(acts, []int{0}) || !reflect.DeepEqual(res, []int{0, 2}) {
		t.Errorf("tickets.read = %v %v", acts, res)
	}
}

func TestNetworkAndClientEntries(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(iamStyle))
	if err != nil {
		t.Fatal(err)
	}
	p := &inv.Get("reporter").Playground
	for _, c := range []struct {
		ip   string
		want []int
	}{
		{"10.20.3.4", []int{0}}, {"203.0.113.7", []int{1}}, {"::ffff:203.0.113.7", []int{1}},
		{"198.51.100.1", nil}, {"athena.amazonaws.com", nil}, {"", nil},
	} {
		if got := p.NetworkEntries(c.ip); !reflect.DeepEqual(got, c.want) {
			t.Errorf("NetworkEntries(%q) = %v, want %v", c.ip, got, c.want)
		}
	}
	for _, c := range []struct {
		ua, ip string
		want   int
	}{
		{"aws-cli/2.22.0 Python/3.12.6 Linux/6.1 exe/x86_64", "10.20.1.1", 1},
		{"Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux", "10.20.1.1", 0},
		{"aws-sdk-go-v2/1.30.3 os/linux", "10.20.1.1", -1},
		{"athena.amazonaws.com", "", -1},
		{"", "10.20.1.1", -1},
	} {
		if got := p.ClientEntry(c.ua, c.ip); got != c.want {
			t.Errorf("ClientEntry(%q) = %d, want %d", c.ua, got, c.want)
		}
	}
}
