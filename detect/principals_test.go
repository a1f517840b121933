package detect

import (
	"testing"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestKnownPrincipalsRaiseNoUnattributed: a principal marked at ingest, or
// listed in the inventory (events that did not pass through this
// inventory's ingest, such as the simulator's), raises no
// identity.unattributed; outside the entry's actions, or unknown, it does.
func TestKnownPrincipalsRaiseNoUnattributed(t *testing.T) {
	inv, err := inventory.Parse("agents.yaml", []byte(`agents: []
principals:
  - match: "arn:aws:sts::1:assumed-role/eks-node-role/*"
    kind: infrastructure
    actions: ["sts:AssumeRole"]
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	var g gen
	ev := func(principal, action, kind string) *schemas.AgentEvent {
		x := g.ev(principal, t0, action, "")
		x.Principal, x.Unattributed, x.PrincipalKind = principal, true, kind
		return x
	}
	for _, c := range []struct {
		name  string
		ev    *schemas.AgentEvent
		alert bool
	}{
		{"listed node assuming a role", ev("arn:aws:sts::1:assumed-role/eks-node-role/i-1", "sts:AssumeRole", ""), false},
		{"listed node again (cached)", ev("arn:aws:sts::1:assumed-role/eks-node-role/i-1", "sts:AssumeRole", ""), false},
		{"marked at ingest", ev("arn:aws:iam::1:user/alice", "s3:ListBuckets", schemas.PrincipalHuman), false},
		{"listed node outside its actions", ev("arn:aws:sts::1:assumed-role/eks-node-role/i-2", "s3:GetObject", ""), true},
		{"unknown principal", ev("arn:aws:iam::1:user/mallory", "s3:ListBuckets", ""), true},
	} {
		as := e.Process(c.ev)
		got := len(as) == 1 && as[0].Detector == DUnattributed && as[0].Subject == c.ev.Principal
		if got != c.alert || (!c.alert && len(as) != 0) {
			t.Errorf("%s: alerts %v, want identity.unattributed: %v", c.name, detectors(as), c.alert)
		}
	}
}
