package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files")

const token = "xoxb-123-456-SECRETTOKEN"

var now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func testAlert() schemas.Alert {
	issued := now.Add(-412 * 24 * time.Hour)
	return schemas.Alert{
		ID: "a1", DedupKey: "support-bot|novelty.action|s3:DeleteObject", Detector: "novelty.action",
		Severity: schemas.SeverityHigh, Score: 80, Boundary: schemas.BoundaryLearned,
		Identity: schemas.Identity{AgentID: "support-bot", DisplayName: "Support bot", AgentInstance: "pod-7f9c", Owner: "team-support",
			OnBehalfOf: "alice@example.com", Principal: "arn:aws:iam::123456789012:role/support-bot", CredentialID: "AKIAEXAMPLE",
			CredentialType: schemas.CredStaticKey, CredentialIssued: &issued},
		Summary: "first-time action s3:DeleteObject on bucket <prod-exports>", Reason: "never seen in 30 days of history",
		Evidence: []schemas.Evidence{
			{Feature: "action", Observed: "s3:DeleteObject", Baseline: "s3:GetObject, s3:PutObject"},
			{Feature: "resource", Observed: "prod-exports/2026/11/*", Baseline: "support-attachments/*"},
		},
		FirstSeen: now.Add(-5 * time.Minute), LastSeen: now, Count: 3, Status: schemas.StatusFiring,
		DistinctResources: 3, ResourceExamples: []string{"prod-exports/2026/11/a.csv", "prod-exports/2026/11/b.csv", "prod-exports/2026/11/c.csv"},
		DistinctActions: 1, ActionExamples: []string{"s3:DeleteObject"}, DistinctSubjects: 1, SubjectExamples: []string{"s3:DeleteObject"},
	}
}

func apiNotifier(t *testing.T, s *fakes.Slack) *slack.Notifier {
	t.Helper()
	n, err := slack.New("k", "slack", slack.Config{Token: token, Channel: "C0ALERTS", APIURL: s.URL + "/api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBlocksGolden(t *testing.T) {
	blocks := slack.Blocks(notify.Delivery{Alert: testAlert(), Now: now}, "")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(blocks); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("..", "testdata", "slack_blocks.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("blocks differ from %s:\n%s", path, got)
	}
	text := string(got)
	for _, s := range []string{"HIGH · support-bot", "pod-7f9c", "team-support", "alice@example.com", "role/support-bot",
		"AKIAEXAMPLE (static_key), 412d old", "*s3:DeleteObject* vs s3:GetObject", "Count 3", "FROM events WHERE agent_id = 'support-bot'",
		"&lt;prod-exports&gt;"} {
		if !strings.Contains(text, s) {
			t.Errorf("blocks lack %q", s)
		}
	}
}

func TestLimitsAreMet(t *testing.T) {
	s := fakes.NewSlack()
	defer s.Close()
	n := apiNotifier(t, s)
	a := testAlert()
	a.Identity.AgentID = strings.Repeat("agent-", 60)
	a.Summary = strings.Repeat("very long summary ", 400)
	for range 500 {
		a.Evidence = append(a.Evidence, schemas.Evidence{Feature: "resource", Observed: strings.Repeat("o", 100), Baseline: "b"})
	}
	if _, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Now: now}); err != nil {
		t.Fatalf("Notify: %v; fake rejected %v", err, s.Rejected())
	}
	m := s.Messages()[0]
	if len(m.Blocks) > slack.MaxBlocks {
		t.Fatalf("%d blocks", len(m.Blocks))
	}
	head := m.Blocks[0]["text"].(map[string]any)["text"].(string)
	if utf8.RuneCountInString(head) > 150 {
		t.Fatalf("header of %d characters", utf8.RuneCountInString(head))
	}
}

func TestWebAPIUpdatesInPlace(t *testing.T) {
	s := fakes.NewSlack()
	defer s.Close()
	s.Token = token
	n := apiNotifier(t, s)
	a := testAlert()
	st, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Now: now})
	if err != nil || st.SlackTS == "" || st.SlackChannel != "C0ALERTS" {
		t.Fatalf("first post: %+v, %v, rejected %v", st, err, s.Rejected())
	}
	// The incident grows: the message is edited, and nothing is posted.
	a.Count, a.DistinctResources = 40, 38
	st1, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Prev: st, Now: now})
	if err != nil || st1.SlackTS != st.SlackTS || st1.Count != 40 || st1.Resources != 38 {
		t.Fatalf("growth: %+v, %v", st1, err)
	}
	if m := s.Messages(); len(m) != 1 || !strings.Contains(m[0].Text, "[40 events, 38 resources]") || len(s.Replies()) != 0 {
		t.Fatalf("after growth: messages %+v, replies %+v", m, s.Replies())
	}
	// Its severity rises: edited, and told in the thread.
	a.Count, a.Severity = 49, schemas.SeverityCritical
	st2, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Prev: st1, Now: now})
	if err != nil || st2.SlackTS != st.SlackTS {
		t.Fatalf("update: %+v, %v", st2, err)
	}
	a.Status = schemas.StatusResolved
	if _, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Prev: st2, Now: now}); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	msgs, replies := s.Messages(), s.Replies()
	if len(msgs) != 1 || msgs[0].Updates != 3 {
		t.Fatalf("messages = %d (updates %d), want one message updated three times", len(msgs), msgs[0].Updates)
	}
	if !strings.Contains(msgs[0].Text, "RESOLVED") {
		t.Fatalf("final text %q does not say resolved", msgs[0].Text)
	}
	if len(replies) != 2 || replies[0].ThreadTS != st.SlackTS ||
		!strings.Contains(replies[0].Text, "severity high → critical") || !strings.Contains(replies[0].Text, "count 40 → 49") ||
		!strings.Contains(replies[1].Text, "Resolved") {
		t.Fatalf("replies = %+v", replies)
	}
	if got := strings.Join(s.Calls(), ","); got != "chat.postMessage,chat.update,chat.update,chat.postMessage,chat.update,chat.postMessage" {
		t.Fatalf("calls = %s", got)
	}
}

func TestWebAPITargetAndLostMessage(t *testing.T) {
	s := fakes.NewSlack()
	defer s.Close()
	n := apiNotifier(t, s)
	// The owner's channel overrides the default; an update of a message
	// that no longer exists posts a new one.
	st, _, err := n.Notify(context.Background(), notify.Delivery{Alert: testAlert(), Target: "#support-oncall", Prev: notify.State{Sent: true, SlackChannel: "C0GONE", SlackTS: "999.1", Count: 1}, Now: now})
	if err != nil || st.SlackChannel != fakes.ChannelID("#support-oncall") || st.SlackTS == "999.1" {
		t.Fatalf("state %+v, err %v", st, err)
	}
}

func TestResponses(t *testing.T) {
	cases := []struct {
		name     string
		webhook  bool
		status   int
		retryAft int
		body     string
		token    string
		retry    bool
		wantErr  string
	}{
		{name: "webhook 429", webhook: true, status: 429, retryAft: 7, body: "rate limited", retry: true, wantErr: "HTTP 429"},
		{name: "webhook 500", webhook: true, status: 500, body: "", retry: true, wantErr: "HTTP 500"},
		{name: "webhook 404", webhook: true, status: 404, body: "no_service", retry: false, wantErr: "no_service"},
		{name: "api 429", status: 429, retryAft: 3, retry: true, wantErr: "HTTP 429"},
		{name: "api 503", status: 503, retry: true, wantErr: "HTTP 503"},
		{name: "api invalid_auth", token: "xoxb-other", retry: false, wantErr: "invalid_auth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := fakes.NewSlack()
			defer s.Close()
			s.Token = tc.token
			if tc.status != 0 {
				s.FailNext(1, tc.status, tc.retryAft, tc.body)
			}
			cfg := slack.Config{Token: token, Channel: "C1", APIURL: s.URL + "/api"}
			if tc.webhook {
				cfg = slack.Config{WebhookURL: config.Secret(s.URL + "/webhook/T0/B0/HOOKSECRET")}
			}
			n, err := slack.New("k", "slack", cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, retry, err := n.Notify(context.Background(), notify.Delivery{Alert: testAlert(), Now: now})
			if err == nil || retry != tc.retry || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("retry=%v err=%v; want retry=%v error containing %q", retry, err, tc.retry, tc.wantErr)
			}
			if tc.retryAft > 0 && notify.RetryAfterOf(err) != time.Duration(tc.retryAft)*time.Second {
				t.Fatalf("Retry-After = %v", notify.RetryAfterOf(err))
			}
			for _, secret := range []string{"HOOKSECRET", "SECRETTOKEN"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestWebhookOK(t *testing.T) {
	s := fakes.NewSlack()
	defer s.Close()
	n, err := slack.New("k", "slack", slack.Config{WebhookURL: config.Secret(s.URL + "/webhook/T0/B0/HOOKSECRET")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.UpdatesInPlace() {
		t.Fatal("a webhook cannot update in place")
	}
	a := testAlert()
	st, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Now: now})
	if err != nil || !st.Sent || st.Count != 3 {
		t.Fatalf("state %+v err %v", st, err)
	}
	a.Count = 5
	if _, _, err := n.Notify(context.Background(), notify.Delivery{Alert: a, Prev: st, Now: now}); err != nil {
		t.Fatal(err)
	}
	posts := s.WebhookPosts()
	if len(posts) != 2 || !strings.Contains(string(mustJSON(posts[1].Blocks)), "Updated: count 3 → 5") {
		t.Fatalf("posts = %+v", posts)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    slack.Config
		want string
	}{
		{slack.Config{}, "k.webhook_url: is required"},
		{slack.Config{Token: "x"}, "k.channel: is required with token"},
		{slack.Config{Token: "x", WebhookURL: "https://h/x"}, "not both"},
		{slack.Config{WebhookURL: "not a url"}, "k.webhook_url: is not an http(s) URL"},
		{slack.Config{WebhookURL: "https://hooks.slack.com/services/X", Channel: "C1"}, "k.channel"},
		{slack.Config{Token: "x", Channel: "C1"}, ""},
	} {
		err := tc.c.Validate("k")
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "not a url") {
			t.Errorf("error quotes the secret URL: %v", err)
		}
	}
}
