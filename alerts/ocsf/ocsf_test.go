package ocsf_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/ocsf"
	"github.com/agentwatch/agentwatch/schemas"
)

func TestBuild(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := schemas.Alert{ID: "a1", DedupKey: "bot|d|s", Detector: "novelty.action", Severity: schemas.SeverityCritical, Score: 95,
		Boundary: schemas.BoundaryLearned, Identity: schemas.Identity{AgentID: "bot", AgentInstance: "i-1", DisplayName: "Bot"},
		Summary: "s", Evidence: []schemas.Evidence{{Feature: "action", Observed: "x", Baseline: "y"}},
		FirstSeen: t0, LastSeen: t0.Add(time.Minute), Count: 1, Status: schemas.StatusFiring}
	for _, tc := range []struct {
		mutate           func(*schemas.Alert)
		activity, status int
	}{
		{func(*schemas.Alert) {}, 1, 1},
		{func(a *schemas.Alert) { a.Count = 4 }, 2, 2},
		{func(a *schemas.Alert) { a.Status = schemas.StatusResolved }, 3, 4},
	} {
		b := a
		tc.mutate(&b)
		raw, err := ocsf.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]any
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if f["class_uid"] != float64(2004) || f["category_uid"] != float64(2) || f["activity_id"] != float64(tc.activity) ||
			f["type_uid"] != float64(200400+tc.activity) || f["status_id"] != float64(tc.status) || f["severity_id"] != float64(5) {
			t.Errorf("finding = %s", raw)
		}
		if f["time"] != float64(t0.Add(time.Minute).UnixMilli()) {
			t.Errorf("time = %v", f["time"])
		}
		actor := f["actor"].(map[string]any)["user"].(map[string]any)
		if actor["uid"] != "bot" {
			t.Errorf("actor = %v", actor)
		}
		fi := f["finding_info"].(map[string]any)
		if fi["uid"] != "a1" || fi["analytic"].(map[string]any)["type"] != "Behavioral" {
			t.Errorf("finding_info = %v", fi)
		}
	}
}
