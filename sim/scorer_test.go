package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

func TestScorer(t *testing.T) {
	t0 := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	incs := []Incident{
		{ID: "A", AgentID: "support-bot", Technique: "T1213", Start: t0, End: t0.Add(time.Minute), ExpectDetectors: []string{"declared"}},
		{ID: "B", AgentID: "legacy", Technique: "T1078.004", Start: t0.Add(time.Hour), End: t0.Add(time.Hour), ExpectDetectors: []string{"decommissioned"}},
		{ID: "C", AgentID: "ops-agent", Technique: "T1555.006", Start: t0.Add(2 * time.Hour), End: t0.Add(2 * time.Hour)},
	}
	s := NewScorer(incs)
	s.ObserveEvent(Labeled{Event: schemas.AgentEvent{EventID: "e0", AgentID: "support-bot", Time: t0.Add(-14 * 24 * time.Hour)}, Label: LabelBenign})
	s.ObserveEvent(Labeled{Event: schemas.AgentEvent{EventID: "e1", AgentID: "ops-agent", Time: t0.Add(-14 * 24 * time.Hour)}, Label: LabelBenign})
	s.ObserveEvent(Labeled{Event: schemas.AgentEvent{EventID: "atk-b", AgentID: "legacy", Time: t0.Add(time.Hour)}, Label: LabelAttack, Incident: "B", Technique: "T1078.004"})
	alert := func(id, agent, det string, at time.Time, evs ...string) schemas.Alert {
		return schemas.Alert{ID: id, DedupKey: agent + "|" + det, Detector: det, Severity: schemas.SeverityHigh,
			Identity: schemas.Identity{AgentID: agent}, Summary: det + " fired", FirstSeen: at, LastSeen: at, Count: 1,
			Status: schemas.StatusFiring, EventIDs: evs}
	}
	// Incident A: a learned alert on the agent first (related, does not
	// catch), then the declared one 30 s in, repeated twice.
	s.Observe(alert("a1", "support-bot", "first_time_system", t0.Add(10*time.Second)), time.Time{})
	s.Observe(alert("a2", "support-bot", "declared_action", t0.Add(30*time.Second)), t0.Add(30*time.Second))
	s.Observe(alert("a2", "support-bot", "declared_action", t0.Add(30*time.Second)), t0.Add(50*time.Second))
	// Incident B, matched by event id although fired late.
	s.Observe(alert("b1", "legacy", "decommissioned", t0.Add(5*time.Hour), "atk-b"), t0.Add(5*time.Hour))
	// Incident C: only a resolution and an alert before it started.
	s.Observe(alert("c0", "ops-agent", "volume_spike", t0.Add(time.Hour)), time.Time{})
	r := alert("c1", "ops-agent", "first_time_action", t0.Add(2*time.Hour))
	r.Status = schemas.StatusResolved
	s.Observe(r, time.Time{})

	res := s.Result()
	if res.Caught != 2 || res.Missed != 1 {
		t.Fatalf("caught %d missed %d, want 2 and 1", res.Caught, res.Missed)
	}
	a := res.Incidents[0]
	if !a.Caught || a.Detector != "declared_action" || a.TimeToDetect != 30*time.Second || a.Alerts != 2 {
		t.Fatalf("incident A: %+v", a)
	}
	if b := res.Incidents[1]; !b.Caught || b.TimeToDetect != 4*time.Hour {
		t.Fatalf("incident B: %+v", b)
	}
	if len(res.BenignAlerts) != 1 || res.BenignAlerts[0].ID != "c0" {
		t.Fatalf("benign alerts %+v, want only c0", res.BenignAlerts)
	}
	if got := res.BenignPerAgentWeek(); got < 0.2 || got > 0.3 {
		t.Fatalf("benign per agent-week %.3f, want 1 alert / (2 agents x ~2.05 weeks)", got)
	}
	var out strings.Builder
	if err := s.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"INCIDENT", "declared_action", "MISSED", "incidents injected: 3   caught: 2   missed: 1", "alerts on benign traffic: 1", "[volume_spike]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDetectorFits(t *testing.T) {
	for _, tc := range []struct {
		want []string
		det  string
		ok   bool
	}{
		{nil, "anything", true},
		{[]string{"first_time"}, "first_time_action", true},
		{[]string{"first_time"}, "first_time", true},
		{[]string{"first_time"}, "first_timer", false},
		{[]string{"volume"}, "declared_action", false},
	} {
		if got := detectorFits(tc.want, tc.det); got != tc.ok {
			t.Errorf("detectorFits(%v, %q) = %v", tc.want, tc.det, got)
		}
	}
}
