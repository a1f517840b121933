package inventory

import (
	"strings"
	"testing"
)

func TestPrincipals(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(`agents:
  - id: support-bot
principals:
  - match: "arn:aws:sts::123456789012:assumed-role/eks-node-role/*"
    kind: infrastructure
    owner: team-platform
    note: EKS nodes assume the agents' roles for their pods
    actions: ["sts:AssumeRole", "sts:TagSession"]
  - match: ["alice@example.com", "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_*/**"]
    kind: human
    owner: team-security
`))
	if err != nil {
		t.Fatal(err)
	}
	ps := inv.Principals()
	if len(ps) != 2 || ps[0].Line != 4 || ps[1].Index != 1 || ps[0].Where() != "principals[0] (line 4)" {
		t.Fatalf("principals %+v", ps)
	}
	for _, c := range []struct {
		principal, action string
		want              int // entry index, -1 none
		covers            bool
	}{
		{"arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0abc", "sts:AssumeRole", 0, true},
		{"arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0abc", "s3:GetObject", 0, false},
		{"arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0abc/extra", "sts:AssumeRole", -1, false}, // "*" stays in its segment
		{"arn:aws:sts::123456789012:assumed-role/agent-role/support-bot", "sts:AssumeRole", -1, false},
		{"alice@example.com", "s3:GetObject", 1, true},
		{"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_1f2e/alice@example.com", "iam:ListRoles", 1, true},
		{"", "sts:AssumeRole", -1, false},
	} {
		p := inv.Principal(c.principal)
		got := -1
		if p != nil {
			got = p.Index
		}
		if got != c.want || (p != nil && p.Covers(c.action) != c.covers) {
			t.Errorf("Principal(%q) = %d (covers %s: %v), want %d, %v", c.principal, got, c.action, p != nil && p.Covers(c.action), c.want, c.covers)
		}
	}
}

func TestPrincipalErrors(t *testing.T) {
	for _, c := range []struct{ entry, want string }{
		{"  - kind: infrastructure\n", "agents.yaml:3: principals[0]: key match: is required"},
		{"  - match: x\n", "agents.yaml:3: principals[0]: key kind: is required: infrastructure or human"},
		{"  - match: x\n    kind: robot\n", `agents.yaml:4: principals[0]: key kind: "robot" is not one of infrastructure, human`},
		{"  - match: \"**\"\n    kind: human\n", `agents.yaml:3: principals[0]: key match: "**" matches every principal`},
		{"  - match: \"[x\"\n    kind: human\n", `agents.yaml:3: principals[0]: key match: bad glob "[x"`},
		{"  - match: x\n    kind: human\n    actions: [\"[a\"]\n", `agents.yaml:5: principals[0]: key actions: bad glob "[a"`},
		{"  - match: x\n    kind: human\n    onwer: me\n", "agents.yaml:5: principals[0]: unknown key onwer"},
	} {
		_, err := Parse("agents.yaml", []byte("agents: []\nprincipals:\n"+c.entry))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("entry %q: err = %v, want %q", c.entry, err, c.want)
		}
	}
}
