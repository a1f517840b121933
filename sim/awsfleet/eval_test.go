package awsfleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// scripted is a detector that knows the answers: it alerts on the first
// record of every attack but one, and on every 500th benign record of an
// agent; each alert is updated once, on the next benign record. For the
// attack grown, it instead updates an incident opened on benign records
// whose event ids it does not extend (as an incident whose list is full).
type scripted struct {
	labels  map[string]Label
	skip    string
	grown   string
	seen    map[string]bool
	n       int
	pending *schemas.Alert
	emitted map[string]schemas.Alert
	first   string // the first benign event id
}

func (s *scripted) Process(ev *schemas.AgentEvent) []schemas.Alert {
	var out []schemas.Alert
	l, ok := s.labels[ev.EventID]
	attack := ok && l.Kind == LabelAttack
	if s.first == "" && !attack {
		s.first = ev.EventID
	}
	if attack && l.ID == s.grown && !s.seen[l.ID] {
		s.seen[l.ID] = true
		a := schemas.Alert{ID: "grown-incident", Detector: "scripted.grown", Identity: schemas.Identity{AgentID: ev.AgentID},
			FirstSeen: ev.Time, LastSeen: ev.Time, Count: 1000, EventIDs: []string{s.first}, Status: schemas.StatusFiring}
		s.emitted[a.ID] = a
		return []schemas.Alert{a}
	}
	if s.pending != nil && !attack {
		a := *s.pending
		a.Count++
		a.EventIDs = append(append([]string(nil), a.EventIDs...), ev.EventID)
		out, s.pending = append(out, a), nil
	}
	var a *schemas.Alert
	switch {
	case attack && l.ID != s.skip && !s.seen[l.ID]:
		s.seen[l.ID] = true
		a = &schemas.Alert{ID: "attack-" + l.ID, Detector: "scripted.attack"}
	case !attack && !ev.Unattributed:
		if s.n++; s.n%500 == 0 {
			a = &schemas.Alert{ID: "benign-" + ev.EventID, Detector: "scripted.benign"}
		}
	}
	if a != nil && s.pending == nil {
		a.Identity = schemas.Identity{AgentID: ev.AgentID}
		a.FirstSeen, a.LastSeen, a.Count, a.EventIDs, a.Status = ev.Time, ev.Time, 1, []string{ev.EventID}, schemas.StatusFiring
		out = append(out, *a)
		s.pending = a
	}
	for _, x := range out {
		s.emitted[x.ID] = x
	}
	return out
}

func (s *scripted) Advance(time.Time) []schemas.Alert { return nil }

func TestEvaluateScoresEachAlertOnceAndFindsTheMissedAttack(t *testing.T) {
	f, err := NewFleet(Config{Seed: 5, Weeks: 2, Scale: 0.01, TestWeek: DefaultTestWeek})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]Label{}
	if _, err := f.Deliver(func(fl *File) error {
		for _, l := range fl.Labels {
			labels["cloudtrail:"+l.EventID] = l.Label
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	inv, err := f.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	ic := ingest.DefaultConfig()
	ic.Attribution = AttributionRules()
	det := &scripted{labels: labels, skip: "A2-cloudtrail-stop", grown: "A3-ec2-enumerate", seen: map[string]bool{}, emitted: map[string]schemas.Alert{}}
	rep, err := Evaluate(context.Background(), &Generated{Fleet: f}, Options{Ingest: ic, Inventory: inv,
		NewDetector: func(*inventory.Inventory) (Detector, error) { return det, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DeadLetters != 0 || rep.Events != rep.Manifest.Records || rep.Objects != rep.Manifest.Files {
		t.Fatalf("read %d objects, %d events, %d dead letters; manifest %d objects %d records", rep.Objects, rep.Events, rep.DeadLetters,
			rep.Manifest.Files, rep.Manifest.Records)
	}
	if rep.Caught() != len(attacks)-1 {
		t.Fatalf("caught %d of %d", rep.Caught(), len(attacks))
	}
	for _, a := range rep.Attacks {
		switch {
		case a.ID == "A2-cloudtrail-stop" && a.Caught:
			t.Errorf("A2 caught by %s", a.Detector)
		// The clock is the latest event time seen: a record delivered late
		// can find it a little ahead.
		case a.ID == "A3-ec2-enumerate" && (a.Detector != "scripted.grown" || a.Alerts != 1):
			t.Errorf("A3 (an incident that grew with it): %+v", a)
		case a.ID != "A2-cloudtrail-stop" && a.ID != "A3-ec2-enumerate" && (a.Detector != "scripted.attack" || a.TTD > 10*time.Minute ||
			a.TTDDelivered < a.TTD || a.Alerts != 1 || a.Events == 0):
			t.Errorf("%s: %+v", a.ID, a)
		}
	}
	benign := 0
	for id := range det.emitted {
		if strings.HasPrefix(id, "benign-") {
			benign++
		}
	}
	if len(rep.Benign) != benign || rep.Alerts != benign+len(attacks)-1 || benign < 10 {
		t.Fatalf("%d benign alerts reported, %d alerts in all; the detector raised %d benign ids (each updated once)", len(rep.Benign), rep.Alerts, benign)
	}
	perWeek := 0
	for w := range rep.Weeks {
		perWeek += rep.FalseInWeek(w)
	}
	if perWeek != benign || rep.FalseInWeek(-1) != benign {
		t.Fatalf("weeks hold %d false alerts, want %d", perWeek, benign)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"A2-cloudtrail-stop", "MISSED", "scripted.benign", "caught 8/9", "per agent-week"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	err = rep.MeetsTargets(0.5, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "missed attacks: A2-cloudtrail-stop") {
		t.Fatalf("MeetsTargets: %v", err)
	}

	// The same alerts, as a pipeline run would have stored them (final
	// state per id), score the same.
	var stored []schemas.Alert
	for _, a := range det.emitted {
		stored = append(stored, a)
	}
	rep2, err := Evaluate(context.Background(), &Generated{Fleet: f}, Options{Ingest: ic, Inventory: inv, Stored: stored})
	if err != nil {
		t.Fatal(err)
	}
	// A stored incident that grew with an attack without naming its
	// records cannot be told from a benign one: A3 is missed there.
	if rep2.Caught() != rep.Caught()-1 || len(rep2.Benign) != len(rep.Benign)+1 || rep2.Mode != "stored alerts" {
		t.Fatalf("stored alerts: caught %d, %d benign; in process %d, %d", rep2.Caught(), len(rep2.Benign), rep.Caught(), len(rep.Benign))
	}
}

func TestClassify(t *testing.T) {
	for p, want := range map[string]string{
		"arn:aws:sts::402917365839:assumed-role/agent-platform-node/i-0abc":                      ClassNode,
		"arn:aws:sts::402917365839:assumed-role/AWSReservedSSO_Developer_abc/frank@acme.example": ClassPerson,
		"cloudtrail.amazonaws.com": ClassService,
		"arn:aws:sts::402917365839:assumed-role/AWSServiceRoleForConfig/AWSConfig-Describe": ClassService,
		"arn:aws:iam::402917365839:user/svc-backup-sync":                                    ClassOther,
	} {
		if got := classify(p); got != want {
			t.Errorf("classify(%q) = %q, want %q", p, got, want)
		}
	}
}
