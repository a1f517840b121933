package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/posture"
	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
)

// TestPostureOnSimulatedFleet evaluates posture over the simulator's
// fleet (it lives here: posture stands on a lower floor than sim) (14
// normal days and the incident day): the sales agent's long-lived SendGrid
// key is on the list (medium: its policy allows static keys), the
// decommissioned report bot that acts on the incident day is critical,
// and the well-behaved agents raise no lifecycle or delegation finding.
func TestPostureOnSimulatedFleet(t *testing.T) {
	f, err := sim.NewFleet(sim.Config{Agents: 1, Days: 14, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	st := basetest.New()
	ctx := context.Background()
	var batch []schemas.AgentEvent
	err = f.Events(func(l sim.Labeled) error {
		batch = append(batch, l.Event)
		if len(batch) == 5000 {
			err := st.InsertEvents(ctx, batch)
			batch = batch[:0]
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InsertEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	e, _ := posture.NewEvaluator(posture.DefaultConfig())
	r, err := e.Evaluate(ctx, posture.Input{Store: st, Inventory: f.Inventory(), Now: f.End(), DormantAfter: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sales := f.FirstOfKind(sim.KindSales)
	var salesKey *posture.Finding
	for i := range r.Findings {
		if r.Findings[i].Type == posture.TLongLivedKey && r.Findings[i].AgentID == sales {
			salesKey = &r.Findings[i]
		}
	}
	if salesKey == nil || salesKey.Severity != schemas.SeverityMedium || salesKey.Owner == "" {
		t.Errorf("sales agent's static key: %+v", salesKey)
	}
	var decom *posture.Finding
	var all []string
	for i := range r.Findings {
		all = append(all, r.Findings[i].Type+"/"+r.Findings[i].AgentID)
		if r.Findings[i].Type == posture.TDecommissionedUsed && r.Findings[i].AgentID == sim.DecommissionedID {
			decom = &r.Findings[i]
		}
	}
	if decom == nil || decom.Severity != schemas.SeverityCritical {
		t.Errorf("decommissioned agent acting: %+v\nfindings: %v", decom, all)
	}
	for _, x := range r.Findings {
		if x.AgentID == f.FirstOfKind(sim.KindCI) && (strings.HasPrefix(x.Type, "lifecycle.") || strings.HasPrefix(x.Type, "delegation.")) {
			t.Errorf("ci agent: unexpected %s: %s", x.Type, x.Summary)
		}
	}
	src := map[string]string{}
	for _, s := range r.Sources {
		src[s.AgentID] = s.Source
	}
	if src[sales] != posture.SourceStatic || src[f.FirstOfKind(sim.KindData)] != posture.SourceShortLived {
		t.Errorf("credential sources: %v", src)
	}
}
