package pagerduty_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/pagerduty"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

const routingKey = "R0UT1NGKEY0000000000000000000000"

var now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func testAlert() schemas.Alert {
	issued := now.Add(-90 * 24 * time.Hour)
	return schemas.Alert{
		ID: "a1", DedupKey: "support-bot|novelty.action|s3:DeleteObject", Detector: "novelty.action",
		Severity: schemas.SeverityHigh, Score: 80, Boundary: schemas.BoundaryLearned,
		Identity: schemas.Identity{AgentID: "support-bot", AgentInstance: "pod-7f9c", Owner: "team-support",
			OnBehalfOf: "alice@example.com", Principal: "role/support-bot", CredentialID: "AKIAEXAMPLE",
			CredentialType: schemas.CredStaticKey, CredentialIssued: &issued},
		Summary: "first-time action s3:DeleteObject", Reason: "never seen in 30 days",
		Evidence:  []schemas.Evidence{{Feature: "action", Observed: "s3:DeleteObject", Baseline: "s3:GetObject"}},
		FirstSeen: now.Add(-time.Minute), LastSeen: now, Count: 3, Status: schemas.StatusFiring,
		DistinctResources: 2, ResourceExamples: []string{"prod-exports/a.csv", "prod-exports/b.csv"},
		DistinctActions: 1, ActionExamples: []string{"s3:DeleteObject"},
	}
}

func newNotifier(t *testing.T, url string) *pagerduty.Notifier {
	t.Helper()
	n, err := pagerduty.New("alerts.receivers[0].pagerduty", "pd", pagerduty.Config{RoutingKey: config.Secret(routingKey), URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func delivery(a schemas.Alert) notify.Delivery {
	return notify.Delivery{ID: 1, Key: a.NotifyKey(), Alert: a, Now: now}
}

func TestTriggerAndResolve(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	pd.RoutingKey = routingKey
	n := newNotifier(t, pd.URL)
	a := testAlert()
	if _, retry, err := n.Notify(context.Background(), delivery(a)); err != nil {
		t.Fatalf("trigger: %v (retry %v); rejected %v", err, retry, pd.Rejected())
	}
	a.Status = schemas.StatusResolved
	if _, _, err := n.Notify(context.Background(), delivery(a)); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	ev := pd.Events()
	if len(ev) != 2 || ev[0].EventAction != "trigger" || ev[1].EventAction != "resolve" {
		t.Fatalf("events = %+v", ev)
	}
	if ev[0].DedupKey != a.NotifyKey() || ev[1].DedupKey != a.NotifyKey() {
		t.Fatalf("dedup keys %q, %q; want %q", ev[0].DedupKey, ev[1].DedupKey, a.NotifyKey())
	}
	p := ev[0].Payload
	if p["severity"] != "error" || p["source"] != "support-bot/pod-7f9c" || p["class"] != "novelty.action" {
		t.Fatalf("payload = %v", p)
	}
	cd := p["custom_details"].(map[string]any)
	id := cd["identity"].(map[string]any)
	if id["Credential"] != "AKIAEXAMPLE (static_key), 90d old" || id["On behalf of"] != "alice@example.com" {
		t.Fatalf("identity = %v", id)
	}
	if !strings.Contains(cd["investigate"].(string), "agent_id = 'support-bot'") || cd["count"] != float64(3) {
		t.Fatalf("custom_details = %v", cd)
	}
}

func TestSeverityMapping(t *testing.T) {
	want := map[schemas.Severity]string{"critical": "critical", "high": "error", "medium": "warning", "low": "info", "info": "info"}
	for s, w := range want {
		if got := pagerduty.Severity(s); got != w {
			t.Errorf("Severity(%s) = %s, want %s", s, got, w)
		}
	}
}

// TestLimits sends alerts that break PagerDuty's limits unless the
// notifier shortens them, and checks the fake (which enforces them)
// accepts every one.
func TestLimits(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	n := newNotifier(t, pd.URL)
	long := testAlert()
	long.Summary = strings.Repeat("ü", 3000)
	huge := testAlert()
	for range 2000 {
		huge.Evidence = append(huge.Evidence, schemas.Evidence{Feature: "resource", Observed: strings.Repeat("x", 1000), Baseline: "y"})
	}
	keyA, keyB := testAlert(), testAlert()
	keyA.DedupKey = strings.Repeat("k", 300) + "A"
	keyB.DedupKey = strings.Repeat("k", 300) + "B"
	for name, a := range map[string]schemas.Alert{"summary": long, "payload": huge, "keyA": keyA, "keyB": keyB} {
		if _, _, err := n.Notify(context.Background(), delivery(a)); err != nil {
			t.Fatalf("%s: %v; rejected %v", name, err, pd.Rejected())
		}
	}
	keys := map[string]bool{}
	for _, e := range pd.Events() {
		if s := e.Payload["summary"].(string); utf8.RuneCountInString(s) > 1024 {
			t.Errorf("summary of %d characters", utf8.RuneCountInString(s))
		}
		if e.Bytes > 512<<10 {
			t.Errorf("event of %d bytes", e.Bytes)
		}
		keys[e.DedupKey] = true
	}
	if len(keys) != 3 {
		t.Fatalf("distinct dedup keys = %d, want 3 (two long keys must stay distinct)", len(keys))
	}
	if k := pagerduty.DedupKey(keyA.DedupKey); len(k) > 255 || k != pagerduty.DedupKey(keyA.DedupKey) {
		t.Fatalf("DedupKey not bounded or not stable: %q", k)
	}
}

func TestFakeRejectsInvalidEvents(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	for name, body := range map[string]string{
		"no routing key":   `{"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`,
		"bad severity":     `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"high"}}`,
		"no source":        `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","severity":"info"}}`,
		"resolve no key":   `{"routing_key":"k","event_action":"resolve"}`,
		"long summary":     `{"routing_key":"k","event_action":"trigger","payload":{"summary":"` + strings.Repeat("s", 1025) + `","source":"x","severity":"info"}}`,
		"long dedup key":   `{"routing_key":"k","event_action":"trigger","dedup_key":"` + strings.Repeat("d", 256) + `","payload":{"summary":"s","source":"x","severity":"info"}}`,
		"bad event action": `{"routing_key":"k","event_action":"open"}`,
	} {
		resp, err := http.Post(pd.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Status string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 400 || out.Status != "invalid event" {
			t.Errorf("%s: status %d %q, want 400 invalid event", name, resp.StatusCode, out.Status)
		}
	}
}

func TestClassification(t *testing.T) {
	for _, tc := range []struct {
		status, retryAfter int
		retry              bool
	}{{400, 0, false}, {401, 0, false}, {404, 0, false}, {429, 30, true}, {500, 0, true}, {502, 0, true}} {
		pd := fakes.NewPagerDuty()
		pd.FailNext(1, tc.status, tc.retryAfter, `{"status":"x","message":"m"}`)
		n := newNotifier(t, pd.URL)
		_, retry, err := n.Notify(context.Background(), delivery(testAlert()))
		pd.Close()
		if err == nil || retry != tc.retry {
			t.Errorf("HTTP %d: retry=%v err=%v, want retry=%v", tc.status, retry, err, tc.retry)
			continue
		}
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.StatusCode != tc.status || ne.RetryAfter != time.Duration(tc.retryAfter)*time.Second {
			t.Errorf("HTTP %d: error %#v", tc.status, err)
		}
		if strings.Contains(err.Error(), routingKey) {
			t.Errorf("error leaks the routing key: %v", err)
		}
	}
	// No server at all: a transport error, retryable.
	n := newNotifier(t, "http://127.0.0.1:1/v2/enqueue")
	if _, retry, err := n.Notify(context.Background(), delivery(testAlert())); err == nil || !retry {
		t.Fatalf("unreachable: retry=%v err=%v", retry, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    pagerduty.Config
		want string
	}{
		{pagerduty.Config{}, "k.routing_key: is required"},
		{pagerduty.Config{RoutingKey: "a", RoutingKeyFile: "/f"}, "both set"},
		{pagerduty.Config{RoutingKey: "a", URL: "ftp://x"}, "k.url"},
		{pagerduty.Config{RoutingKey: "a"}, ""},
	} {
		err := tc.c.Validate("k")
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

func TestTriggerGolden(t *testing.T) {
	ev := pagerduty.Build(delivery(testAlert()), "ROUTING_KEY")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "testdata", "pagerduty_trigger.golden.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if buf.String() != string(want) {
		t.Fatalf("event differs from %s:\n%s", path, buf.String())
	}
}
