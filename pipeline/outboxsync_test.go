package pipeline

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestNotificationSyncCopiesChangesOnce: the first copy takes every
// notification, a copy with nothing changed writes nothing (the alerts
// stage runs one every few seconds), and a change is copied again.
func TestNotificationSyncCopiesChangesOnce(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	d, err := alerts.NewDispatcher(cfg.Alerts, mustInventory(t), alerts.WithConsole(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := time.Now().UTC()
	al := schemas.Alert{ID: "inc-1", DedupKey: "support-bot|playground.declared|x", Detector: "playground.declared",
		Severity: schemas.SeverityHigh, Score: 80, Boundary: schemas.BoundaryDeclared, Identity: schemas.Identity{AgentID: "support-bot"},
		Summary: "performed users.export outside its declared playground", FirstSeen: now, LastSeen: now, Count: 1, Status: schemas.StatusFiring}
	if err := d.Submit(ctx, al); err != nil {
		t.Fatal(err)
	}
	ns, err := d.List(ctx)
	if err != nil || len(ns) == 0 {
		t.Fatalf("outbox after submit: %d notifications, %v", len(ns), err)
	}
	st := basetest.New()
	var s NotificationSync
	if n, err := s.Sync(ctx, st, d); err != nil || n != len(ns) {
		t.Fatalf("first copy wrote %d rows (%v), want %d", n, err, len(ns))
	}
	for i := 0; i < 3; i++ {
		if n, err := s.Sync(ctx, st, d); err != nil || n != 0 {
			t.Fatalf("copy with nothing changed wrote %d rows (%v), want 0", n, err)
		}
	}
	al.Count, al.LastSeen = 5, now.Add(time.Minute)
	if err := d.Submit(ctx, al); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sync(ctx, st, d); err != nil || n == 0 {
		t.Fatalf("copy after an update wrote %d rows (%v), want the changed ones", n, err)
	}
	rows, err := st.LoadNotifications(ctx, "inc-1")
	if err != nil || len(rows) != len(ns) {
		t.Fatalf("stored notification states = %+v, %v; want one per outbox row (%d)", rows, err, len(ns))
	}
}
