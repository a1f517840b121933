package alerts

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/pagerduty"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// fakeClock moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// alertAt builds a valid firing alert.
func alertAt(agent, detector, subject string, t time.Time) schemas.Alert {
	issued := t.Add(-400 * 24 * time.Hour)
	return schemas.Alert{
		ID: agent + "-" + detector + "-" + subject, DedupKey: schemas.DedupKeyFor(agent, detector, subject),
		Detector: detector, Severity: schemas.SeverityHigh, Score: 75, Boundary: schemas.BoundaryLearned,
		Identity: schemas.Identity{AgentID: agent, AgentInstance: agent + "-7f9c", Owner: "team-support",
			OnBehalfOf: "alice@example.com", Principal: "arn:aws:iam::123456789012:role/" + agent,
			CredentialID: "AKIAEXAMPLE", CredentialType: schemas.CredStaticKey, CredentialIssued: &issued},
		Subject: subject, Summary: "first-time action s3:DeleteObject on " + subject,
		Reason:    "the agent never deleted objects in 30 days of history",
		Evidence:  []schemas.Evidence{{Feature: "action", Observed: "s3:DeleteObject", Baseline: "s3:GetObject, s3:PutObject"}},
		FirstSeen: t, LastSeen: t, Count: 1, Status: schemas.StatusFiring,
	}
}

// testConfig is a config with an outbox in a temp dir and no waiting.
func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.OutboxPath = filepath.Join(t.TempDir(), "outbox.db")
	cfg.Route.GroupWait = dur(0)
	return cfg
}

func pdReceiver(name, url string) ReceiverConfig {
	return ReceiverConfig{Name: name, PagerDuty: &pagerduty.Config{RoutingKey: config.Secret("R0UT1NGKEY0000000000000000000000"), URL: url}}
}

func slackAPIReceiver(name, url, channel string) ReceiverConfig {
	return ReceiverConfig{Name: name, Slack: &slack.Config{Token: config.Secret("xoxb-test-token-secret"), Channel: channel, APIURL: url + "/api"}}
}

func slackHookReceiver(name, url string) ReceiverConfig {
	return ReceiverConfig{Name: name, Slack: &slack.Config{WebhookURL: config.Secret(url + "/webhook/T000/B000/XXXXSECRETXXXX")}}
}

func webhookReceiver(name, url string) ReceiverConfig {
	return ReceiverConfig{Name: name, Webhook: &webhook.Config{URL: config.Secret(url + "/hook?token=hooktokensecret"), Secret: config.Secret("hmac-signing-secret")}}
}

type testDispatcher struct {
	*Dispatcher
	clock   *fakeClock
	console *bytes.Buffer
}

func newTestDispatcher(t *testing.T, cfg Config, inv *inventory.Inventory, opts ...Option) *testDispatcher {
	t.Helper()
	clk := newFakeClock()
	var console bytes.Buffer
	opts = append([]Option{WithClock(clk), WithConsole(&syncWriter{w: &console}), WithJitter(func() float64 { return 0.5 })}, opts...)
	d, err := NewDispatcher(cfg, inv, opts...)
	if err != nil {
		t.Fatalf("NewDispatcher: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return &testDispatcher{Dispatcher: d, clock: clk, console: &console}
}

// flush delivers everything due now, receiver by receiver.
func (td *testDispatcher) flush(t *testing.T) {
	t.Helper()
	for _, name := range td.order {
		for {
			n, err := td.deliverDue(context.Background(), td.receivers[name])
			if err != nil {
				t.Fatalf("deliverDue(%s): %v", name, err)
			}
			if n < batchSize {
				break
			}
		}
	}
}

func (td *testDispatcher) submit(t *testing.T, alerts ...schemas.Alert) {
	t.Helper()
	if err := td.Submit(context.Background(), alerts...); err != nil {
		t.Fatalf("Submit: %v", err)
	}
}

func (td *testDispatcher) rows(t *testing.T) []Notification {
	t.Helper()
	rows, err := td.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// waiting reports how many After calls are pending.
func (c *fakeClock) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
