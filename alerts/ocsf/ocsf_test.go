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

// TestIncidentReports: the reports of one incident share finding_info.uid
// and carry its counts and example resources; each report has its own
// metadata.uid; a sender that has reported it before marks it an Update
// even when only its first notification was held back.
func TestIncidentReports(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := schemas.Alert{ID: "inc-1", DedupKey: "bot|playground.declared", Detector: "playground.declared", Severity: schemas.SeverityHigh, Score: 75,
		Boundary: schemas.BoundaryDeclared, Identity: schemas.Identity{AgentID: "bot"}, Summary: "s",
		FirstSeen: t0, LastSeen: t0.Add(time.Hour), Count: 412, Status: schemas.StatusFiring,
		DistinctResources: 380, ResourceExamples: []string{"arn:aws:s3:::b/k1", "arn:aws:s3:::b/k2"}, DistinctActions: 2, ActionExamples: []string{"s3:GetObject", "s3:ListBucket"}}
	first := ocsf.BuildFor(a, false)
	b := a
	b.Count, b.DistinctResources = 900, 870
	second := ocsf.BuildFor(b, true)
	if first.ActivityID != ocsf.ActivityCreate || second.ActivityID != ocsf.ActivityUpdate {
		t.Fatalf("activities %d, %d", first.ActivityID, second.ActivityID)
	}
	if first.FindingInfo["uid"] != "inc-1" || second.FindingInfo["uid"] != "inc-1" || first.Metadata["uid"] == second.Metadata["uid"] ||
		first.Metadata["correlation_uid"] != "bot|playground.declared" {
		t.Fatalf("uids: %v %v / %v %v", first.FindingInfo["uid"], first.Metadata["uid"], second.FindingInfo["uid"], second.Metadata["uid"])
	}
	if second.Count != 900 || second.FindingInfo["related_events_count"] != 900 || second.Unmapped["distinct_resources"] != 870 ||
		len(second.Resources) != 2 || second.Resources[0].Name != "arn:aws:s3:::b/k1" {
		t.Fatalf("second report = %+v", second)
	}
}
