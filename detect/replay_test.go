package detect

import (
	"context"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestRedeliveredEventCountsOnce: an event processed again (a stage
// replaying its log after a crash, a shipper resending) does not count
// again nor change the alert it raised, before or after a restore from
// the stored alert; a new event does.
func TestRedeliveredEventCountsOnce(t *testing.T) {
	inv, err := inventory.New([]inventory.Agent{{ID: "retired", Owner: "o", Status: inventory.StatusDecommissioned}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	var g gen
	first := g.ev("retired", t0, "tickets.read", "tickets/1")
	as := e.Process(first)
	if len(as) != 1 || as[0].Detector != DDecommissioned || as[0].Count != 1 {
		t.Fatalf("first event: %v, want one %s alert counting 1", detectors(as), DDecommissioned)
	}
	raised := as[0]
	again := *first
	if as := e.Process(&again); len(as) != 0 {
		t.Errorf("the same event again changed the alert: %+v", as)
	}

	// After a restart the detector knows the alert as stored.
	st := basetest.New()
	if err := st.UpsertAlerts(context.Background(), []schemas.Alert{raised}); err != nil {
		t.Fatal(err)
	}
	e2, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Restore(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	if as := e2.Process(&again); len(as) != 0 {
		t.Errorf("the same event replayed after a restore changed the alert: %+v", as)
	}
	next := g.ev("retired", t0.Add(time.Minute), "tickets.read", "tickets/2")
	as = e2.Process(next)
	if len(as) != 1 || as[0].ID != raised.ID || as[0].Count != 2 {
		t.Errorf("a new event after the restore: %+v, want alert %s counting 2", as, raised.ID)
	}
}
