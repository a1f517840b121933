package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestIncidentUpdatesInPlace follows one incident the way the detector
// reports it (the same id with a growing count and scope, a severity rise,
// the resolution after its quiet period) and then the next episode of the
// same boundary (same dedup key, new id), through Slack's Web API and
// PagerDuty: Slack edits one message per incident and posts only the
// severity rise and the resolution in its thread; PagerDuty gets one
// dedup_key per incident, triggered again with that key and then resolved.
func TestIncidentUpdatesInPlace(t *testing.T) {
	s := fakes.NewSlack()
	defer s.Close()
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := testConfig(t)
	cfg.Receivers = []ReceiverConfig{slackAPIReceiver("slack", s.URL, "#sec"), pdReceiver("pd", pd.URL)}
	cfg.Route = RouteConfig{Receiver: "slack", GroupWait: dur(0), GroupInterval: dur(time.Minute), RepeatInterval: dur(4 * time.Hour),
		Routes: []RouteConfig{{Receiver: "pd", Continue: true}, {Receiver: "slack"}}}
	td := newTestDispatcher(t, cfg, nil)

	a := alertAt("support-bot", "playground.declared", "", td.clock.Now())
	a.ID, a.DedupKey = "inc-1", "support-bot|playground.declared"
	a.DistinctResources, a.ResourceExamples = 1, []string{"exports/part-00000.csv"}
	send := func(d time.Duration, mutate func(*schemas.Alert)) {
		t.Helper()
		td.clock.Advance(d)
		mutate(&a)
		a.LastSeen = td.clock.Now()
		td.submit(t, a)
		td.flush(t)
	}
	send(0, func(*schemas.Alert) {})
	// It grows: 400 events over 380 objects.
	send(2*time.Minute, func(a *schemas.Alert) {
		a.Count, a.DistinctResources = 400, 380
		a.ResourceExamples = append(a.ResourceExamples, "exports/part-00001.csv", "exports/part-00002.csv")
	})
	if m := s.Messages(); len(m) != 1 || m[0].Updates != 1 || len(s.Replies()) != 0 ||
		!strings.Contains(m[0].Text, "[400 events, 380 resources]") || !strings.Contains(blocksText(m[0]), "380 distinct resources, e.g. exports/part-00000.csv") {
		t.Fatalf("after growth: messages %+v, replies %d", m, len(s.Replies()))
	}
	// It reaches a thousand objects and turns critical.
	send(2*time.Minute, func(a *schemas.Alert) {
		a.Count, a.DistinctResources, a.Score, a.Severity = 1200, 1000, 90, schemas.SeverityCritical
		a.Evidence = append(a.Evidence, schemas.Evidence{Feature: "severity", Observed: "critical (score 90)",
			Baseline: "was high (score 85): the incident reached 1,000 distinct resources (+15)"})
	})
	// Quiet for its quiet period: resolved.
	send(25*time.Hour, func(a *schemas.Alert) { a.Status = schemas.StatusResolved })
	// The same boundary crossed again the next week: a new incident.
	b := alertAt("support-bot", "playground.declared", "", td.clock.Now().Add(7*24*time.Hour))
	b.ID, b.DedupKey = "inc-2", a.DedupKey
	td.clock.Advance(7 * 24 * time.Hour)
	td.submit(t, b)
	td.flush(t)

	msgs := s.Messages()
	if len(msgs) != 2 {
		t.Fatalf("slack messages = %d, want one per incident", len(msgs))
	}
	if msgs[0].Updates != 3 || !strings.Contains(msgs[0].Text, "RESOLVED") || msgs[1].Updates != 0 {
		t.Fatalf("slack: first message updated %d times (%q), second %d", msgs[0].Updates, msgs[0].Text, msgs[1].Updates)
	}
	replies := s.Replies()
	if len(replies) != 2 || !strings.Contains(replies[0].Text, "severity high → critical") || !strings.Contains(replies[1].Text, "Resolved") {
		t.Fatalf("thread replies = %+v", replies)
	}
	if !strings.Contains(blocksText(msgs[0]), "the incident reached 1,000 distinct resources") {
		t.Errorf("the message does not say why the severity rose")
	}

	byKey := map[string][]string{}
	var keys []string
	for _, e := range pd.Events() {
		if byKey[e.DedupKey] == nil {
			keys = append(keys, e.DedupKey)
		}
		byKey[e.DedupKey] = append(byKey[e.DedupKey], e.EventAction)
	}
	if len(keys) != 2 || keys[0] != a.NotifyKey() || keys[1] != b.NotifyKey() {
		t.Fatalf("pagerduty dedup keys = %v, want %s then %s", keys, a.NotifyKey(), b.NotifyKey())
	}
	// The growth alone waits for repeat_interval; the severity rise and
	// the resolution go at once.
	if got := strings.Join(byKey[keys[0]], ","); got != "trigger,trigger,resolve" {
		t.Errorf("first incident's events = %s, want trigger,trigger,resolve", got)
	}
	if got := strings.Join(byKey[keys[1]], ","); got != "trigger" {
		t.Errorf("second incident's events = %s", got)
	}
	if r := pd.Rejected(); len(r) > 0 || len(s.Rejected()) > 0 {
		t.Fatalf("rejected: pagerduty %v, slack %v", r, s.Rejected())
	}
}

// blocksText joins the text of a message's blocks.
func blocksText(m fakes.SlackMessage) string {
	var b strings.Builder
	for _, bl := range m.Blocks {
		if tx, ok := bl["text"].(map[string]any); ok {
			b.WriteString(tx["text"].(string) + "\n")
		}
	}
	return b.String()
}
