package posture

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestRunnerScheduledDigest: on the schedule the runner evaluates, saves
// the states, sets the gauges and sends each owner's digest once (here as
// OCSF compliance findings to a webhook); a later tick in the same slot
// sends nothing more.
func TestRunnerScheduledDigest(t *testing.T) {
	var mu sync.Mutex
	var posts []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		posts = append(posts, m)
		mu.Unlock()
	}))
	defer srv.Close()
	inv, err := inventory.Parse("agents.yaml", []byte(`agents:
  - id: old-bot
    owner: team-a
    contact: {slack_channel: "#a"}
    status: decommissioned
`))
	if err != nil {
		t.Fatal(err)
	}
	st := basetest.New()
	slot := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC) // a Monday
	ctx := context.Background()
	if err := st.InsertEvents(ctx, []schemas.AgentEvent{{EventID: "e1", Time: slot.Add(-time.Hour), Source: "cloudtrail", AgentID: "old-bot",
		Action: "s3:GetObject", System: "aws:s3", Outcome: "success", CredentialID: "AKIAOLD", CredentialType: schemas.CredStaticKey}}); err != nil {
		t.Fatal(err)
	}
	ac := alerts.DefaultConfig()
	ac.OutboxPath = filepath.Join(t.TempDir(), "outbox.db")
	ac.Receivers = []alerts.ReceiverConfig{{Name: "siem", Webhook: &webhook.Config{URL: config.Secret(srv.URL), Secret: "k"}}}
	cfg := DefaultConfig()
	cfg.Digest.Enabled, cfg.Digest.OCSFReceiver = true, "siem"
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	clock := slot.Add(time.Minute)
	r, err := NewRunner(cfg, st, inv, RunnerOptions{Alerts: ac, Metrics: m, Now: func() time.Time { return clock }, DormantAfter: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	n := len(posts)
	if n == 0 {
		t.Fatal("no digest sent at the slot")
	}
	for _, p := range posts {
		if p["class_uid"] != float64(2003) {
			t.Errorf("posted %v", p)
		}
	}
	if got := testutil.ToFloat64(m.findings.WithLabelValues(TDecommissionedUsed, "critical")); got != 1 {
		t.Errorf("gauge %s critical = %v", TDecommissionedUsed, got)
	}
	if rows, _ := st.LoadPostureFindings(ctx); len(rows) != n {
		t.Errorf("%d states saved for %d findings", len(rows), n)
	}
	clock = slot.Add(time.Hour)
	if err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if len(posts) != n {
		t.Errorf("the slot's digest was sent again: %d posts, then %d", n, len(posts))
	}
}

func TestRunnerNeedsAReceiver(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Digest.Enabled = true
	ac := alerts.DefaultConfig()
	ac.OutboxPath = filepath.Join(t.TempDir(), "outbox.db")
	_, err := NewRunner(cfg, basetest.New(), inventory.Empty(), RunnerOptions{Alerts: ac})
	if err == nil || !strings.Contains(err.Error(), "no Slack Web API receiver") {
		t.Errorf("err = %v", err)
	}
	cfg.Digest.SlackReceiver = "nope"
	if _, err := NewRunner(cfg, basetest.New(), inventory.Empty(), RunnerOptions{Alerts: ac}); err == nil || !strings.Contains(err.Error(), `no receiver named "nope"`) {
		t.Errorf("err = %v", err)
	}
}
