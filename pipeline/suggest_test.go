package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/schemas"
)

// An accept records the change that would make it permanent written for
// the agent's playground as it is: beside statements, a statement pairing
// the refused action with its resource, not a line for a list that the
// inventory would refuse beside statements.
func TestAcceptRecordsTheSuggestionForThePlaygroundAsWritten(t *testing.T) {
	ctx := context.Background()
	inv, err := inventory.Parse("agents.yaml", []byte(`agents:
  - id: lake-reader
    playground:
      systems: [aws:s3]
      statements:
        - actions: ["s3:GetObject"]
          resources: ["arn:aws:s3:::acme-lake/docs/*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ev := schemas.AgentEvent{EventID: "ev-1", Time: at, AgentID: "lake-reader", Source: "cloudtrail", System: "aws:s3",
		Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-lake/finance/2026/payroll.csv", Outcome: schemas.OutcomeSuccess}
	if err := st.InsertEvents(ctx, []schemas.AgentEvent{ev}); err != nil {
		t.Fatal(err)
	}
	al := schemas.Alert{ID: "inc-1", DedupKey: "lake-reader|playground.declared", Detector: detect.DPlaygroundDeclared,
		Severity: schemas.SeverityHigh, Score: 75, Boundary: schemas.BoundaryDeclared,
		Identity: schemas.Identity{AgentID: "lake-reader"}, Subject: "resource:" + ev.Resource, Summary: "outside",
		FirstSeen: at, LastSeen: at, Count: 1, EventIDs: []string{ev.EventID}, Status: schemas.StatusFiring}
	if err := st.UpsertAlerts(ctx, []schemas.Alert{al}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		inv  *inventory.Inventory
		want string
	}{
		{"with the inventory", inv, `a statement {actions: ["s3:GetObject"], resources: ["arn:aws:s3:::acme-lake/finance/`},
		{"without it", nil, `"arn:aws:s3:::acme-lake/finance/2026/payroll.csv" to playground.resources`},
	} {
		t.Run(c.name, func(t *testing.T) {
			acts := NewActions(st, nil, "", func() time.Time { return at.Add(time.Hour) }).WithInventory(c.inv)
			defer acts.Close()
			row, err := acts.Accept(ctx, ActionRequest{AlertID: al.ID, Actor: "alice", Reason: "new finance reports", For: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(row.Detail, c.want) {
				t.Errorf("accept recorded %q, want it to contain %s", row.Detail, c.want)
			}
			// Accepting closed the incident; put it back for the next case.
			if err := st.UpsertAlerts(ctx, []schemas.Alert{al}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
