package posture

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
)

// TestSimulatedFleet evaluates posture over the simulator's fleet (14
// normal days and the incident day): the sales agent's long-lived SendGrid
// key is on the list (medium: its policy allows static keys), the
// decommissioned report bot that acts on the incident day is critical,
// and the well-behaved agents raise no lifecycle or delegation finding.
func TestSimulatedFleet(t *testing.T) {
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
	e, _ := NewEvaluator(DefaultConfig())
	r, err := e.Evaluate(ctx, Input{Store: st, Inventory: f.Inventory(), Now: f.End(), DormantAfter: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sales := f.FirstOfKind(sim.KindSales)
	var salesKey *Finding
	for i := range r.Findings {
		if r.Findings[i].Type == TLongLivedKey && r.Findings[i].AgentID == sales {
			salesKey = &r.Findings[i]
		}
	}
	if salesKey == nil || salesKey.Severity != schemas.SeverityMedium || salesKey.Owner == "" {
		t.Errorf("sales agent's static key: %+v\nfindings: %v", salesKey, types(r))
	}
	if d := find(r, TDecommissionedUsed, sim.DecommissionedID, ""); d == nil || d.Severity != schemas.SeverityCritical {
		t.Errorf("decommissioned agent acting: %+v\nfindings: %v", d, types(r))
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
	if src[sales] != SourceStatic || src[f.FirstOfKind(sim.KindData)] != SourceShortLived {
		t.Errorf("credential sources: %v", src)
	}
}
