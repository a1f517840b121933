package detect

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// latest keeps the last state of every alert id seen, in first-seen order.
type latest struct {
	order []string
	byID  map[string]schemas.Alert
	msgs  int
}

func (l *latest) add(as ...schemas.Alert) {
	if l.byID == nil {
		l.byID = map[string]schemas.Alert{}
	}
	for _, a := range as {
		if _, ok := l.byID[a.ID]; !ok {
			l.order = append(l.order, a.ID)
		}
		l.byID[a.ID] = a
		l.msgs++
	}
}

// TestIncidentGathersManyResources: an agent reading 3,000 objects under a
// prefix its declared playground does not cover, over two actions, in one
// episode, is one incident that counts them all, keeps the first objects
// as examples and rises to critical as the spread grows, saying why.
func TestIncidentGathersManyResources(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	var got latest
	const events, objects = 3000, 1500
	for i := 0; i < events; i++ {
		act := "customers.read"
		if i%2 == 1 {
			act = "tickets.read"
		}
		ev := g.ev("support-bot", t0.Add(time.Duration(i)*time.Second), act, fmt.Sprintf("exports/2026/part-%05d.csv", i%objects))
		ev.System = "warehouse" // outside the declared systems
		got.add(e.Process(ev)...)
	}
	if len(got.order) != 1 {
		t.Fatalf("%d incidents, want 1 (ids %v)", len(got.order), got.order)
	}
	if got.msgs > 60 {
		t.Errorf("%d alert messages for one incident; updates should come at milestones only", got.msgs)
	}
	// The final state, as a restart would store it.
	st := basetest.New()
	if err := e.Snapshot(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	stored, err := st.LoadAlerts(context.Background(), store.AlertFilter{})
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored %d alerts, %v", len(stored), err)
	}
	a := stored[0]
	if a.ID != got.order[0] || a.Count != events || a.DistinctActions != 2 || a.DedupKey != "support-bot|playground.declared" {
		t.Fatalf("incident = id %s count %d actions %d key %q", a.ID, a.Count, a.DistinctActions, a.DedupKey)
	}
	if d := math.Abs(float64(a.DistinctResources-objects)) / objects; d > 0.05 {
		t.Errorf("distinct resources = %d, want %d within 5%%", a.DistinctResources, objects)
	}
	want := []string{"exports/2026/part-00000.csv", "exports/2026/part-00001.csv", "exports/2026/part-00002.csv", "exports/2026/part-00003.csv", "exports/2026/part-00004.csv"}
	if !reflect.DeepEqual(a.ResourceExamples, want) || !reflect.DeepEqual(a.ActionExamples, []string{"customers.read", "tickets.read"}) {
		t.Errorf("examples = %v, %v", a.ResourceExamples, a.ActionExamples)
	}
	if len(a.EventIDs) != schemas.MaxAlertEventIDs || a.EventIDs[0] != "e0000001" {
		t.Errorf("event ids = %d, first %v", len(a.EventIDs), a.EventIDs[:1])
	}
	if !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add((events-1)*time.Second)) {
		t.Errorf("seen %v .. %v", a.FirstSeen, a.LastSeen)
	}
	// 75 for the boundary, +15 for a thousand distinct resources.
	if a.Score != 90 || a.Severity != schemas.SeverityCritical {
		t.Fatalf("score %d severity %s, want 90 critical", a.Score, a.Severity)
	}
	rise := evidenceOf(a, "severity")
	if len(rise) != 1 || rise[0].Observed != "critical (score 90)" ||
		rise[0].Baseline != "was high (score 85): the incident reached 1,000 distinct resources (+15)" {
		t.Errorf("severity evidence = %+v", rise)
	}
	if err := a.Validate(); err != nil {
		t.Error(err)
	}
}

func evidenceOf(a schemas.Alert, feature string) []schemas.Evidence {
	var out []schemas.Evidence
	for _, ev := range a.Evidence {
		if ev.Feature == feature {
			out = append(out, ev)
		}
	}
	return out
}

// TestIncidentEpisodes: further crossings within the quiet period join
// the open incident; after a quiet period the incident resolves and the
// next crossing is a new incident with a new id under the same key.
func TestIncidentEpisodes(t *testing.T) {
	for _, quiet := range []time.Duration{0, 2 * time.Hour} {
		e := newEngine(t, func(c *Config) {
			if quiet > 0 {
				c.Incidents.QuietPeriod = quiet
			}
		})
		q := e.cfg.Incidents.QuietPeriod
		var g gen
		first := e.Process(g.ev("support-bot", t0, "reports.read", "reports/1"))
		if len(first) != 1 {
			t.Fatalf("quiet %s: first crossing raised %v", q, detectors(first))
		}
		// Just inside the quiet period: the same incident.
		at := t0.Add(q - time.Minute)
		again := e.Process(g.ev("support-bot", at, "reports.read", "reports/2"))
		if len(again) != 1 || again[0].ID != first[0].ID || again[0].Count != 2 {
			t.Fatalf("quiet %s: crossing inside the quiet period: %+v", q, again)
		}
		// Quiet for the whole period since: the next crossing resolves the
		// old incident and opens a new one in the same call.
		next := e.Process(g.ev("support-bot", at.Add(q), "reports.read", "reports/3"))
		if len(next) != 2 || next[0].ID != first[0].ID || next[0].Status != schemas.StatusResolved || next[0].Count != 2 ||
			next[1].ID == first[0].ID || next[1].Status != schemas.StatusFiring || next[1].Count != 1 || next[1].DedupKey != first[0].DedupKey {
			t.Fatalf("quiet %s: after the quiet period: %+v", q, next)
		}
		// Advance alone resolves it once the period passes.
		if res := e.Advance(at.Add(2*q + time.Minute)); len(res) != 1 || res[0].ID != next[1].ID || res[0].Status != schemas.StatusResolved {
			t.Fatalf("quiet %s: Advance: %+v", q, res)
		}
	}
}

// TestIncidentSensitiveActionRaisesSeverity: a sensitive action joining an
// open incident raises its severity (same id) and the evidence says which.
func TestIncidentSensitiveActionRaisesSeverity(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	a := e.Process(g.ev("support-bot", t0, "reports.read", "reports/1"))
	if len(a) != 1 || a[0].Severity != schemas.SeverityHigh {
		t.Fatalf("first: %+v", a)
	}
	b := e.Process(g.ev("support-bot", t0.Add(time.Minute), "secrets.read", "prod/db-password"))
	if len(b) != 1 || b[0].ID != a[0].ID || b[0].Severity != schemas.SeverityCritical || b[0].Count != 2 {
		t.Fatalf("sensitive join: %+v", b)
	}
	rise := evidenceOf(b[0], "severity")
	if len(rise) != 1 || !strings.Contains(rise[0].Baseline, "was high (score 75): a sensitive action joined: secrets.read on prod/db-password (a secret read)") {
		t.Fatalf("severity evidence = %+v", rise)
	}
	if !strings.Contains(b[0].Summary, "secrets.read") || b[0].DistinctActions != 2 || b[0].DistinctSubjects != 2 {
		t.Fatalf("incident words follow the graver event: %+v", b[0])
	}
	// Ordinary events after it neither lower the severity nor hide it.
	c := e.Process(g.ev("support-bot", t0.Add(2*time.Minute), "reports.read", "reports/9"))
	if len(c) != 1 || c[0].Severity != schemas.SeverityCritical || !strings.Contains(c[0].Summary, "secrets.read") {
		t.Fatalf("after: %+v", c)
	}
}

// TestIncidentGroupBy: grouping by subject as well gives one incident per
// subject (the old per-action, per-resource alerts); a rule overrides the
// grouping for the detectors it names.
func TestIncidentGroupBy(t *testing.T) {
	run := func(mod func(*Config)) latest {
		e := newEngine(t, mod)
		var g gen
		var got latest
		for i, act := range []string{"reports.read", "reports.list", "reports.read", "admin.get"} {
			got.add(e.Process(g.ev("support-bot", t0.Add(time.Duration(i)*time.Minute), act, "x"))...)
		}
		return got
	}
	if got := run(nil); len(got.order) != 1 {
		t.Fatalf("default grouping: %d incidents", len(got.order))
	}
	bySubject := run(func(c *Config) { c.Incidents.GroupBy = []string{GroupAgent, GroupDetector, GroupSubject} })
	if len(bySubject.order) != 3 {
		t.Fatalf("by subject: %d incidents, want 3", len(bySubject.order))
	}
	if a := bySubject.byID[bySubject.order[0]]; a.DedupKey != "support-bot|playground.declared|action:reports.read" || a.Count != 2 {
		t.Fatalf("by subject: first incident %q count %d", a.DedupKey, a.Count)
	}
	rule := run(func(c *Config) {
		c.Incidents.Rules = []IncidentRule{{Detectors: []string{"playground.*"}, GroupBy: []string{GroupAgent, GroupDetector, GroupSubject}}}
	})
	if len(rule.order) != 3 {
		t.Fatalf("rule: %d incidents, want 3", len(rule.order))
	}
	for _, tc := range []struct {
		mod  func(*IncidentConfig)
		want string
	}{
		{func(c *IncidentConfig) { c.GroupBy = []string{GroupAgent} }, "detect.incidents.group_by: must contain agent and detector (got [agent])"},
		{func(c *IncidentConfig) { c.GroupBy = []string{GroupAgent, GroupDetector, "resource"} }, `detect.incidents.group_by: "resource" is not one of`},
		{func(c *IncidentConfig) { c.QuietPeriod = 0 }, "detect.incidents.quiet_period: must be positive"},
		{func(c *IncidentConfig) { c.Examples = 11 }, "detect.incidents.examples: 11 is outside 0-10"},
		{func(c *IncidentConfig) { c.Rules = []IncidentRule{{Detectors: []string{"netwrk.*"}}} }, `detect.incidents.rules[0].detectors: "netwrk.*" matches no detector`},
		{func(c *IncidentConfig) {
			c.Rules = []IncidentRule{{Detectors: []string{"network.*"}, GroupBy: []string{GroupDetector, GroupDetector}}}
		}, `detect.incidents.rules[0].group_by: "detector" is listed twice`},
	} {
		c := DefaultIncidentConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}

// TestIncidentRestoreKeepsScope: an incident restored after a restart
// keeps its id, counts and examples, and keeps growing.
func TestIncidentRestoreKeepsScope(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, nil)
	var g gen
	var first []schemas.Alert
	for i := 0; i < 12; i++ {
		first = append(first, e.Process(g.ev("support-bot", t0.Add(time.Duration(i)*time.Minute), "reports.read", fmt.Sprintf("reports/%d", i)))...)
	}
	st := basetest.New()
	if err := e.Snapshot(ctx, st); err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, nil)
	if err := e2.Restore(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	// A known resource is not counted again; a new one is.
	var got latest
	got.add(e2.Process(g.ev("support-bot", t0.Add(20*time.Minute), "reports.read", "reports/0"))...)
	got.add(e2.Process(g.ev("support-bot", t0.Add(21*time.Minute), "reports.read", "reports/99"))...)
	if err := e2.Snapshot(ctx, st); err != nil {
		t.Fatal(err)
	}
	stored, _ := st.LoadAlerts(ctx, store.AlertFilter{})
	if len(stored) != 1 || stored[0].ID != first[0].ID || stored[0].Count != 14 || stored[0].DistinctResources != 13 ||
		len(stored[0].ResourceExamples) != 5 {
		t.Fatalf("restored incident = %+v", stored)
	}
}

// TestSpreadCounts: exact up to the inline values, then within a few
// percent; the same for the same input, with memory that stops growing.
func TestSpreadCounts(t *testing.T) {
	for _, n := range []int{1, 10, 16, 17, 50, 128, 300, 1024, 5000, 20000} {
		var s spread
		for i := 0; i < n; i++ {
			s.add(fmt.Sprintf("arn:aws:s3:::bucket/docs/%d.pdf", i), 3)
			s.add(fmt.Sprintf("arn:aws:s3:::bucket/docs/%d.pdf", i/2), 3) // repeats
		}
		got := s.count()
		if n <= smallCap && got != n {
			t.Errorf("n=%d: count %d, want exact", n, got)
		}
		if d := math.Abs(float64(got-n)) / float64(n); d > 0.05 {
			t.Errorf("n=%d: count %d, off by %.1f%%", n, got, 100*d)
		}
		if len(s.examples) != min(n, 3) {
			t.Errorf("n=%d: %d examples", n, len(s.examples))
		}
		if n > smallCap && s.hll == nil {
			t.Errorf("n=%d: still counting exactly past %d values", n, smallCap)
		}
	}
	if nextMilestone(0) != 1 || nextMilestone(1) != 2 || nextMilestone(2) != 5 || nextMilestone(9) != 10 || nextMilestone(1000) != 2000 {
		t.Error("nextMilestone")
	}
	for n, want := range map[int]bool{1: true, 2: true, 3: false, 5: true, 50: true, 51: false, 100: true, 200: true} {
		if milestone(n) != want {
			t.Errorf("milestone(%d) = %v", n, !want)
		}
	}
}
