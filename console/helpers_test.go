package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/clickhouse"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

const testInventory = `agents:
  - id: support-bot
    display_name: Support assistant
    kind: support
    owner: team-support
    contact: {email: support@example.com, slack_channel: "#support"}
    purpose: answers tickets
    playground:
      systems: ["mcp:zendesk"]
      actions: ["tickets.*", "kb.search"]
      delegators: ["customer:*"]
  - id: orphan-bot
    kind: batch
    playground:
      actions: ["jobs.run"]
`

// start is a fixed Monday; the fixture's events span three days from it.
var start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// fixture is a SQLite store seeded through the real baseline worker,
// with one incident, served by a console.
type fixture struct {
	st       store.Store
	inv      *inventory.Inventory
	incident schemas.Alert
	acts     *pipeline.Actions
	outbox   string
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return seedFixture(t, st, dir)
}

// newClickHouseFixture is newFixture on a fresh database of the server
// named by AGENTWATCH_TEST_CLICKHOUSE, or skips.
func newClickHouseFixture(t *testing.T) *fixture {
	t.Helper()
	return seedFixture(t, openClickHouse(t), t.TempDir())
}

// openClickHouse opens a fresh database of the server named by
// AGENTWATCH_TEST_CLICKHOUSE, dropped when the test ends, or skips.
func openClickHouse(t *testing.T) store.Store {
	t.Helper()
	addr := os.Getenv("AGENTWATCH_TEST_CLICKHOUSE")
	if addr == "" {
		t.Skip("AGENTWATCH_TEST_CLICKHOUSE is not set (native address, e.g. 127.0.0.1:9000)")
	}
	cfg := clickhouse.DefaultConfig()
	cfg.Addr = []string{addr}
	cfg.Database = fmt.Sprintf("aw_console_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	cfg.FlushInterval = 20 * time.Millisecond
	st, err := clickhouse.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		conn, err := ch.Open(&ch.Options{Addr: cfg.Addr, Auth: ch.Auth{Database: "default", Username: cfg.Username}})
		if err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
			conn.Close()
		}
	})
	return st
}

// seedFixture fills st through the real baseline worker and adds two
// incidents.
func seedFixture(t *testing.T, st store.Store, dir string) *fixture {
	t.Helper()
	ctx := context.Background()
	inv, err := inventory.Parse("agents.yaml", []byte(testInventory))
	if err != nil {
		t.Fatal(err)
	}
	w, err := baseline.NewWorker(baseline.DefaultConfig(), st, inv, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var items []baseline.Item
	n := 0
	add := func(ev schemas.AgentEvent) {
		n++
		ev.EventID = fmt.Sprintf("ev-%05d", n)
		items = append(items, baseline.Item{Event: ev, Offset: int64(n)})
	}
	for h := 0; h < 96; h++ {
		for k := 0; k < 4; k++ {
			at := start.Add(time.Duration(h)*time.Hour + time.Duration(k*15)*time.Minute)
			add(schemas.AgentEvent{Time: at, Source: "mcp", AgentID: "support-bot", AgentInstance: fmt.Sprintf("pod-%d", k%2),
				Principal: "svc-support", CredentialID: "tok-support", CredentialType: schemas.CredOAuthToken,
				OnBehalfOf: fmt.Sprintf("customer:%d", h%5), Action: "tickets.read", System: "mcp:zendesk",
				Resource: fmt.Sprintf("zendesk://tickets/%d", 1000+h), Outcome: schemas.OutcomeSuccess, SrcIP: "10.0.0.5"})
		}
		add(schemas.AgentEvent{Time: start.Add(time.Duration(h)*time.Hour + 30*time.Minute), Source: "cloudtrail", AgentID: "orphan-bot",
			CredentialID: "AKIAORPHAN", CredentialType: schemas.CredStaticKey, Action: "jobs.run", System: "aws:batch", Outcome: schemas.OutcomeSuccess})
	}
	last := start.Add(96*time.Hour + 5*time.Minute)
	bad := schemas.AgentEvent{Time: last, Source: "mcp", AgentID: "support-bot", AgentInstance: "pod-0", Principal: "svc-support",
		CredentialID: "tok-support", CredentialType: schemas.CredOAuthToken, OnBehalfOf: "customer:4711", Action: "users.export",
		System: "mcp:zendesk", Resource: "zendesk://users/export", Outcome: schemas.OutcomeSuccess, Records: 5000}
	add(bad)
	add(schemas.AgentEvent{Time: last, Source: "cloudtrail", AgentID: "arn:aws:iam::1:user/ghost", Action: "s3:ListBuckets",
		System: "aws:s3", Outcome: schemas.OutcomeSuccess, Unattributed: true})
	// A later ordinary event closes the window holding the export, so the
	// learned playground has it.
	later := bad
	later.Time, later.Action, later.Resource, later.Records, later.OnBehalfOf = last.Add(2*time.Hour), "tickets.read", "zendesk://tickets/2000", 0, "customer:1"
	add(later)
	if err := w.HandleBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	inc := schemas.Alert{ID: "inc-export-1", DedupKey: schemas.DedupKeyFor("support-bot", "playground.declared", "action:users.export"),
		Detector: "playground.declared", Severity: schemas.SeverityHigh, Score: 75, Boundary: schemas.BoundaryDeclared,
		Identity: schemas.Identity{AgentID: "support-bot", AgentInstance: "pod-0", Owner: "team-support", OnBehalfOf: "customer:4711",
			Principal: "svc-support", CredentialID: "tok-support", CredentialType: schemas.CredOAuthToken},
		Subject: "action:users.export", Summary: "performed users.export on zendesk://users/export: outside its declared playground",
		Reason: "outside the declared playground: action not in [tickets.*, kb.search]", FirstSeen: last, LastSeen: last, Count: 1,
		Evidence: []schemas.Evidence{{Feature: "declared_playground", Observed: "mcp:zendesk users.export", Baseline: "action not in [tickets.*, kb.search]"}},
		EventIDs: []string{items[len(items)-3].Event.EventID}, Status: schemas.StatusFiring}
	ghost := schemas.Alert{ID: "inc-ghost-1", DedupKey: "ghost|unattributed|ghost", Detector: "identity.unattributed", Severity: schemas.SeverityMedium,
		Score: 50, Boundary: schemas.BoundaryDeclared, Identity: schemas.Identity{AgentID: "arn:aws:iam::1:user/ghost", Unattributed: true},
		Summary: "principal acted and maps to no agent", FirstSeen: last, LastSeen: last, Count: 1, Status: schemas.StatusFiring}
	if err := st.UpsertAlerts(ctx, []schemas.Alert{inc, ghost}); err != nil {
		t.Fatal(err)
	}
	// Its notification history as the alerts stage copies it to the store
	// (this console's host holds no outbox).
	if err := st.UpsertNotifications(ctx, []schemas.NotificationRow{
		{AlertID: inc.ID, Receiver: "team-slack", Target: "#support-alerts", State: "delivered", Attempts: 1, Count: 1, LastSentAt: last, UpdatedAt: last},
		{AlertID: inc.ID, Receiver: "oncall-pd", State: "failed", Attempts: 3, LastError: "pagerduty: 400 invalid routing key", UpdatedAt: last},
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ob := filepath.Join(dir, "outbox.db")
	return &fixture{st: st, inv: inv, incident: inc, outbox: ob, now: now,
		acts: pipeline.NewActions(st, nil, ob, func() time.Time { return now })}
}

// server serves the fixture with cfg (loopback, no auth, when zero).
func (f *fixture) server(t *testing.T, cfg pipeline.ConsoleConfig) *httptest.Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := New(cfg, Deps{Store: f.st, Inventory: f.inv, Actions: f.acts, OutboxPath: f.outbox, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// client does not follow redirects, so tests see the 303 after an action.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type creds func(*http.Request)

func bearer(tok string) creds {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func basic(u, p string) creds { return func(r *http.Request) { r.SetBasicAuth(u, p) } }

func get(t *testing.T, ts *httptest.Server, path string, c ...creds) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	for _, f := range c {
		f(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, ts *httptest.Server, path string, form url.Values, hdr map[string]string, c ...creds) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, f := range c {
		f(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrfOf reads the form token from the incident page.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("incident page has no form token")
	}
	return m[1]
}

func httptestRecorder(h http.Handler, method, path string) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Body.String()
}
