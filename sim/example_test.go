package sim

import (
	"slices"
	"testing"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

// TestExampleInventory loads the shipped examples/agents.yaml and checks
// that it declares the same agents and playgrounds as the demo's fleet, so
// a reader of the example sees what the demo runs.
func TestExampleInventory(t *testing.T) {
	ex, err := inventory.Load("../examples/agents.yaml")
	if err != nil {
		t.Fatalf("examples/agents.yaml does not load: %v", err)
	}
	f, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ex.IDs(), f.Inventory().IDs(); !slices.Equal(got, want) {
		t.Fatalf("example agents %v, fleet agents %v", got, want)
	}
	for _, want := range f.Inventory().Agents() {
		got := ex.Get(want.ID)
		gp, wp := got.Playground, want.Playground
		for _, c := range []struct {
			key       string
			got, want []string
		}{
			{"systems", gp.Systems, wp.Systems}, {"actions", gp.Actions, wp.Actions}, {"resources", gp.Resources, wp.Resources},
			{"hours", gp.Hours, wp.Hours}, {"delegators", gp.Delegators, wp.Delegators},
			{"credentials.allowed_types", gp.CredentialPolicy.AllowedTypes, wp.CredentialPolicy.AllowedTypes},
		} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s: playground.%s = %v in the example, %v in the fleet", want.ID, c.key, c.got, c.want)
			}
		}
		if gp.CredentialPolicy.MaxAge != wp.CredentialPolicy.MaxAge || got.Status != want.Status || got.Owner != want.Owner ||
			got.Contact != want.Contact || got.Instances != want.Instances {
			t.Errorf("%s: owner, contact, status, instances or max_age differ between the example and the fleet", want.ID)
		}
	}
	if ex.Get(DecommissionedID).Status != inventory.StatusDecommissioned {
		t.Errorf("the example's %s is not decommissioned", DecommissionedID)
	}
}
