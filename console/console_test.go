package console

import (
	"context"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

func TestPages(t *testing.T)           { testPages(t, newFixture(t)) }
func TestPagesClickHouse(t *testing.T) { testPages(t, newClickHouseFixture(t)) }

func testPages(t *testing.T, f *fixture) {
	ts := f.server(t, pipeline.ConsoleConfig{})
	cases := []struct {
		name, path string
		status     int
		want       []string
		not        []string
	}{
		{"fleet lists agents riskiest first, unnamed identities on top", "/", 200,
			[]string{"Needs a name or an owner", "identity with no name", "arn:aws:iam::1:user/ghost", `<span class="badge warn">no owner</span>`,
				`href="/agents/support-bot"`, "team-support", "mature", `class="spark"`, "1 high"}, nil},
		{"fleet filter by owner", "/?owner=team-support", 200, []string{`href="/agents/support-bot"`, "1 shown"}, []string{`<th scope="row" class="nowrap"><a href="/agents/orphan-bot"`}},
		{"fleet filter by kind", "/?kind=batch", 200, []string{`<th scope="row" class="nowrap"><a href="/agents/orphan-bot"`}, []string{`<th scope="row" class="nowrap"><a href="/agents/support-bot"`}},
		{"agent page", "/agents/support-bot", 200,
			[]string{"Support assistant", "support@example.com", "Declared in the inventory", "Learned from its events",
				"tickets.*", "never used", // kb.search is declared but never used
				"mcp:zendesk · tickets.read · zendesk://tickets/{n}", "not declared", // users.export was used, not declared
				`class="chart"`, "seasonality: expected events per hour", `href="/incidents/inc-export-1"`,
				"pod-0", "tok-support", "customer:4711", "→"}, nil},
		{"agent outside the inventory", "/agents/orphan-bot", 200, []string{"orphan-bot", "no owner"}, nil},
		{"unknown agent", "/agents/nobody", 404, []string{"Nothing here"}, nil},
		{"incident page", "/incidents/inc-export-1", 200,
			[]string{"performed users.export", "declared playground", "observed against the declared playground", "action not in [tickets.*, kb.search]", "customer:4711",
				"The events behind it", "zendesk://users/export", `action="/incidents/inc-export-1/accept"`, `name="csrf"`,
				`add &#34;users.export&#34; to playground.actions`, "agent=support-bot\ndetector=playground.declared",
				"Notifications", "#support-alerts", "oncall-pd", "invalid routing key"}, nil},
		{"unknown incident", "/incidents/nope", 404, nil, nil},
		{"search by on-behalf-of", "/search?on_behalf_of=customer%3A4711", 200, []string{"1 event,", "users.export", "on_behalf_of = &#39;customer:4711&#39;"}, nil},
		{"search by agent and instance with a time range", "/search?agent=support-bot&instance=pod-1&from=2026-03-02T00:00&to=2026-03-02T01:00", 200,
			[]string{"2 events,", "pod-1"}, []string{"pod-0</a>"}},
		{"search by credential", "/search?credential=AKIAORPHAN&limit=5", 200, []string{"5 events,", "limit reached"}, nil},
		{"search with a bad time", "/search?from=yesterday", 200, []string{`role="alert"`, "from: &#34;yesterday&#34; is not a time"}, nil},
		{"static css", "/static/style.css", 200, []string{"prefers-color-scheme: dark"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(t, ts, c.path)
			if status != c.status {
				t.Fatalf("GET %s = %d, want %d:\n%.600s", c.path, status, c.status, body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q", c.path, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: body has %q", c.path, w)
				}
			}
		})
	}
}

func TestPagesSendSecurityHeaders(t *testing.T) {
	ts := newFixture(t).server(t, pipeline.ConsoleConfig{})
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", h, got, want)
		}
	}
}

func TestAcceptFromIncidentPage(t *testing.T) { testAccept(t, newFixture(t)) }
func TestAcceptFromIncidentPageClickHouse(t *testing.T) {
	testAccept(t, newClickHouseFixture(t))
}

func testAccept(t *testing.T, f *fixture) {
	ctx := context.Background()
	ts := f.server(t, pipeline.ConsoleConfig{})
	_, page := get(t, ts, "/incidents/inc-export-1")
	tok := csrfOf(t, page)
	// A reason is required: nothing is recorded without one.
	resp := post(t, ts, "/incidents/inc-export-1/accept", url.Values{"csrf": {tok}, "for": {"720h"}}, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Fatalf("accept without reason: %d %s, want a redirect with the error", resp.StatusCode, loc)
	}
	resp = post(t, ts, "/incidents/inc-export-1/accept", url.Values{"csrf": {tok}, "for": {"720h"}, "reason": {"export approved, SEC-1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents/inc-export-1?done=accept" {
		t.Fatalf("accept: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	rows, err := f.st.LoadActions(ctx, store.ActionFilter{AlertID: "inc-export-1"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("actions after accept: %+v %v", rows, err)
	}
	r := rows[0]
	if r.Actor != "local" || r.Action != schemas.ActionAccept || r.Reason != "export approved, SEC-1" || r.Subject != "action:users.export" ||
		r.ExpiresAt == nil || r.ExpiresAt.Sub(f.now) < 719*60*60*1e9 {
		t.Errorf("recorded accept = %+v", r)
	}
	al, _ := f.st.LoadAlerts(ctx, store.AlertFilter{ID: "inc-export-1"})
	if len(al) != 1 || al[0].Status != schemas.StatusResolved || al[0].Labels["resolution"] != "accepted by local" {
		t.Errorf("incident after accept = %+v, want resolved, accepted by local", al)
	}
	_, page = get(t, ts, "/incidents/inc-export-1?done=accept")
	for _, w := range []string{"Done: accept recorded", "export approved, SEC-1", "resolved"} {
		if !strings.Contains(page, w) {
			t.Errorf("incident page after accept lacks %q", w)
		}
	}
	_, agent := get(t, ts, "/agents/support-bot")
	for _, w := range []string{"Actions taken", "export approved, SEC-1", `<span class="badge ok" title="accepted by local: export approved, SEC-1">accepted</span>`,
		"Suggested inventory changes", `add &#34;users.export&#34; to playground.actions`} {
		if !strings.Contains(agent, w) {
			t.Errorf("agent page after accept lacks %q", w)
		}
	}
	// Resolving an incident already closed is refused, and says so.
	resp = post(t, ts, "/incidents/inc-export-1/resolve", url.Values{"csrf": {tok}, "reason": {"again"}}, nil)
	if !strings.Contains(resp.Header.Get("Location"), "already+resolved") {
		t.Errorf("resolve of a closed incident: %s", resp.Header.Get("Location"))
	}
}

func TestSilenceAndResolveFromIncidentPage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ts := f.server(t, pipeline.ConsoleConfig{})
	// The alerts stage's outbox on this host, as inside `agentwatch run`:
	// the silence holds at once.
	ob, err := outbox.Open(f.outbox)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	_, page := get(t, ts, "/incidents/inc-ghost-1")
	tok := csrfOf(t, page)
	resp := post(t, ts, "/incidents/inc-ghost-1/silence", url.Values{"csrf": {tok}, "for": {"4h"}, "reason": {"pen test"},
		"matchers": {"agent=arn:aws:iam::1:user/ghost\ndetector=identity.unattributed"}}, nil)
	if resp.Header.Get("Location") != "/incidents/inc-ghost-1?done=silence" {
		t.Fatalf("silence: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = post(t, ts, "/incidents/inc-ghost-1/resolve", url.Values{"csrf": {tok}, "reason": {"pen test over"}}, nil)
	if resp.Header.Get("Location") != "/incidents/inc-ghost-1?done=resolve" {
		t.Fatalf("resolve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	rows, err := f.st.LoadActions(ctx, store.ActionFilter{AlertID: "inc-ghost-1"})
	if err != nil || len(rows) != 2 {
		t.Fatalf("actions: %+v %v", rows, err)
	}
	kinds := map[string]schemas.ActionRow{}
	for _, r := range rows {
		kinds[r.Action] = r
	}
	if s := kinds[schemas.ActionSilence]; strings.Join(s.Matchers, ",") != "agent=arn:aws:iam::1:user/ghost,detector=identity.unattributed" || !strings.HasPrefix(s.Detail, "silence in ") {
		t.Errorf("silence row = %+v", s)
	}
	if _, ok := kinds[schemas.ActionResolve]; !ok {
		t.Errorf("no resolve row in %+v", rows)
	}
	if sils, err := ob.ListSilences(ctx, time.Time{}); err != nil || len(sils) != 1 || sils[0].ActionID != kinds[schemas.ActionSilence].ID {
		t.Errorf("outbox silences = %+v %v, want the one made from the silence action", sils, err)
	}
	al, _ := f.st.LoadAlerts(ctx, store.AlertFilter{ID: "inc-ghost-1"})
	if len(al) != 1 || al[0].Status != schemas.StatusResolved {
		t.Errorf("incident after resolve = %+v", al)
	}
}

func writeSecret(t *testing.T, v string) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuthAndRoles(t *testing.T) {
	f := newFixture(t)
	const readerTok, writerTok, pw = "reader-token-8d1f", "writer-token-77aa", "s3cret-pass-4"
	cfg := pipeline.ConsoleConfig{Listen: "0.0.0.0:0",
		Tokens: []pipeline.ConsoleCredential{{Name: "dashboard", Token: config.Secret(readerTok), Role: pipeline.RoleReader},
			{Name: "oncall-bot", TokenFile: writeSecret(t, writerTok), Role: pipeline.RoleWriter}},
		Users: []pipeline.ConsoleCredential{{Name: "alice", PasswordFile: writeSecret(t, pw), Role: pipeline.RoleWriter}}}
	ts := f.server(t, cfg)
	for _, c := range []struct {
		name   string
		cred   []creds
		status int
	}{
		{"no credentials", nil, 401},
		{"wrong token", []creds{bearer("nope")}, 401},
		{"wrong password", []creds{basic("alice", "nope")}, 401},
		{"reader token", []creds{bearer(readerTok)}, 200},
		{"writer token from a file", []creds{bearer(writerTok)}, 200},
		{"basic user", []creds{basic("alice", pw)}, 200},
	} {
		status, body := get(t, ts, "/incidents/inc-export-1", c.cred...)
		if status != c.status {
			t.Errorf("%s: GET = %d, want %d", c.name, status, c.status)
		}
		for _, secret := range []string{readerTok, writerTok, pw} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: a secret is rendered in the page", c.name)
			}
		}
	}
	// A reader sees no action forms and may not act.
	_, page := get(t, ts, "/incidents/inc-export-1", bearer(readerTok))
	if strings.Contains(page, `action="/incidents/inc-export-1/accept"`) || !strings.Contains(page, "need the writer role") {
		t.Error("reader: the incident page offers actions")
	}
	form := url.Values{"reason": {"x"}, "for": {"1h"}}
	if resp := post(t, ts, "/incidents/inc-export-1/accept", form, nil, bearer(readerTok)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reader accept = %d, want 403", resp.StatusCode)
	}
	// A writer's action needs the form token rendered for that writer.
	_, page = get(t, ts, "/incidents/inc-export-1", basic("alice", pw))
	tok := csrfOf(t, page)
	for _, c := range []struct {
		name string
		form url.Values
		hdr  map[string]string
		cred creds
		want int
	}{
		{"no token", url.Values{"reason": {"x"}, "for": {"1h"}}, nil, basic("alice", pw), 403},
		{"another principal's token", url.Values{"csrf": {tok}, "reason": {"x"}, "for": {"1h"}}, nil, bearer(writerTok), 403},
		{"cross-site", url.Values{"csrf": {tok}, "reason": {"x"}, "for": {"1h"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, basic("alice", pw), 403},
		{"foreign origin", url.Values{"csrf": {tok}, "reason": {"x"}, "for": {"1h"}}, map[string]string{"Origin": "https://evil.example"}, basic("alice", pw), 403},
		{"unauthenticated", url.Values{"csrf": {tok}, "reason": {"x"}, "for": {"1h"}}, nil, func(*http.Request) {}, 401},
		{"good", url.Values{"csrf": {tok}, "reason": {"approved"}, "for": {"1h"}}, map[string]string{"Origin": ts.URL}, basic("alice", pw), 303},
	} {
		if resp := post(t, ts, "/incidents/inc-export-1/accept", c.form, c.hdr, c.cred); resp.StatusCode != c.want {
			t.Errorf("%s: POST accept = %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	rows, _ := f.st.LoadActions(context.Background(), store.ActionFilter{})
	if len(rows) != 1 || rows[0].Actor != "alice" {
		t.Errorf("actions recorded = %+v, want one by alice", rows)
	}
}

func TestNonLoopbackNeedsAuth(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		listen string
		ok     bool
	}{{"127.0.0.1:8081", true}, {"localhost:8081", true}, {"[::1]:8081", true}, {"0.0.0.0:8081", false}, {"10.1.2.3:8081", false}, {":8081", false}} {
		_, err := New(pipeline.ConsoleConfig{Listen: c.listen}, Deps{Store: f.st})
		if (err == nil) != c.ok {
			t.Errorf("New(listen %s, no auth) error = %v, want ok=%v", c.listen, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "console.tokens or console.users") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
	}
}

func TestReadOnlyConsole(t *testing.T) {
	f := newFixture(t)
	s, err := New(pipeline.ConsoleConfig{Listen: "127.0.0.1:0"}, Deps{Store: f.st, Inventory: f.inv})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptestRecorder(s, http.MethodGet, "/incidents/inc-export-1")
	if !strings.Contains(rec, "read-only") || strings.Contains(rec, `/accept"`) {
		t.Error("a console without actions offers them")
	}
}
