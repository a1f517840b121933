package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

func testInv(t testing.TB) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("agents.yaml", []byte(`
agents:
  - id: support-bot
    kind: support
    owner: platform-team
    contact: {slack_channel: "#support-bot"}
    playground:
      systems: [helpdesk, crm]
      actions: ["tickets.*", "customers.read"]
      credentials: {allowed_types: [oauth_token], max_age: 30d}
      delegators: ["*@example.com"]
  - id: old-bot
    owner: platform-team
    status: decommissioned
  - id: free-bot
    kind: support
    owner: platform-team
`))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

type gen struct{ n int }

func (g *gen) ev(agent string, at time.Time, action, resource string) *schemas.AgentEvent {
	g.n++
	return &schemas.AgentEvent{EventID: fmt.Sprintf("e%07d", g.n), Time: at, Source: "test", AgentID: agent,
		AgentInstance: "pod-1", Action: action, System: "helpdesk", Resource: resource, Outcome: schemas.OutcomeSuccess,
		SrcIP: "10.0.1.7", UserAgent: "bot/1.2", CredentialID: "tok-" + agent, CredentialType: schemas.CredOAuthToken,
		OnBehalfOf: "alice@example.com"}
}

// benign feeds days of ordinary traffic: a daytime rhythm of ticket reads
// and updates on varying tickets. It returns every alert produced.
func benign(e *Engine, g *gen, agent string, from time.Time, days int) []schemas.Alert {
	var out []schemas.Alert
	for h := 0; h < days*24; h++ {
		n := 2
		if hr := h % 24; hr >= 8 && hr < 18 {
			n = 12 + h%5
		}
		for i := 0; i < n; i++ {
			at := from.Add(time.Duration(h)*time.Hour + time.Duration(i*60/n)*time.Minute)
			act := "tickets.read"
			if i%3 == 0 {
				act = "tickets.update"
			}
			out = append(out, e.Process(g.ev(agent, at, act, fmt.Sprintf("tickets/%d", 1000+h*20+i)))...)
		}
	}
	return out
}

func newEngine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg, testInv(t))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func detectors(as []schemas.Alert) []string {
	var ds []string
	for _, a := range as {
		ds = append(ds, a.Detector+"/"+a.Status)
	}
	return ds
}

func TestBenignTrafficIsQuiet(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	if as := benign(e, &g, "support-bot", t0, 21); len(as) != 0 {
		t.Fatalf("three weeks of benign traffic raised %d alerts: %v", len(as), detectors(as))
	}
	if !e.Tracker().Mature(e.Tracker().Get("support-bot")) {
		t.Fatal("agent should be mature")
	}
}

func TestDeclaredPlayground(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	as := e.Process(g.ev("support-bot", t0, "secrets.read", "prod/db-password"))
	if len(as) != 1 || as[0].Detector != DPlaygroundDeclared || as[0].Boundary != schemas.BoundaryBoth {
		t.Fatalf("alerts = %+v", as)
	}
	a := as[0]
	if a.Identity.Owner != "platform-team" || a.Identity.SlackChannel != "#support-bot" || a.Identity.OnBehalfOf != "alice@example.com" ||
		a.Subject != "action:secrets.read" || a.Severity != schemas.SeverityCritical || a.Validate() != nil {
		t.Fatalf("alert = %+v (validate: %v)", a, a.Validate())
	}
	if a.Reason != "outside the declared playground: action not in [tickets.*, customers.read]" {
		t.Fatalf("reason = %q", a.Reason)
	}
	// A repeat updates the alert: returned at count 2, not at 3 or 4, at 5.
	var counts []int
	for i := 0; i < 4; i++ {
		for _, a := range e.Process(g.ev("support-bot", t0.Add(time.Duration(i+1)*time.Minute), "secrets.read", "prod/db-password")) {
			counts = append(counts, a.Count)
		}
	}
	if !reflect.DeepEqual(counts, []int{2, 5}) {
		t.Fatalf("repeat counts returned = %v, want [2 5]", counts)
	}
	// Resolves once quiet for the quiet period.
	if res := e.Advance(t0.Add(23 * time.Hour)); len(res) != 0 {
		t.Fatalf("resolved before the quiet period: %+v", res)
	}
	res := e.Advance(t0.Add(25 * time.Hour))
	if len(res) != 1 || res[0].Status != schemas.StatusResolved || res[0].ID != a.ID {
		t.Fatalf("resolved = %+v", res)
	}
}

func TestDeclaredPolicies(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	ev := g.ev("old-bot", t0, "tickets.read", "tickets/1")
	if as := e.Process(ev); len(as) != 1 || as[0].Detector != DDecommissioned || as[0].Severity != schemas.SeverityCritical {
		t.Fatalf("decommissioned: %v", detectors(as))
	}
	ev = g.ev("support-bot", t0, "tickets.read", "tickets/1")
	issued := t0.Add(-90 * 24 * time.Hour)
	ev.CredentialIssuedAt = &issued
	ev.CredentialType = schemas.CredStaticKey
	ev.OnBehalfOf = "mallory@evil.test"
	got := detectors(e.Process(ev))
	want := []string{DCredDisallowedType + "/firing", DCredTooOld + "/firing", DDelegNotAllowed + "/firing"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	un := g.ev("svc-unknown", t0, "s3:GetObject", "b/k")
	un.Unattributed = true
	if as := e.Process(un); len(as) != 1 || as[0].Detector != DUnattributed || !as[0].Identity.Unattributed {
		t.Fatalf("unattributed: %+v", as)
	}
}

func TestLearnedFirstActionAfterMaturityOnly(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	// Before maturity: learning mode, nothing learned fires.
	if as := e.Process(g.ev("free-bot", t0, "reports.export", "reports/1")); len(as) != 0 {
		t.Fatalf("learning agent raised %v", detectors(as))
	}
	benign(e, &g, "free-bot", t0, 14)
	at := t0.Add(14*24*time.Hour + 10*time.Hour)
	as := e.Process(g.ev("free-bot", at, "iam:CreateAccessKey", "users/admin"))
	if len(as) != 1 || as[0].Detector != DFirstAction || as[0].Boundary != schemas.BoundaryLearned {
		t.Fatalf("alerts = %v", detectors(as))
	}
	if as[0].Score < 70 {
		t.Fatalf("a sensitive first action new to the fleet should score high, got %d: %s", as[0].Score, as[0].Summary)
	}
	// A new ticket id is not a new habit; a new collection is.
	if as := e.Process(g.ev("free-bot", at.Add(time.Minute), "tickets.read", "tickets/999999")); len(as) != 0 {
		t.Fatalf("new ticket raised %v", detectors(as))
	}
	if as := e.Process(g.ev("free-bot", at.Add(2*time.Minute), "tickets.read", "admin/config")); len(as) != 1 || as[0].Detector != DNovelResource {
		t.Fatalf("new collection: %v", detectors(as))
	}
}

func TestColdStartFromPeers(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	benign(e, &g, "free-bot", t0, 14)
	benign(e, &g, "support-bot", t0, 14) // two members make a peer group
	// A brand-new agent of kind support (not in inventory: use free-bot's
	// kind via a fresh inventory entry) is judged by its peers at once.
	inv, err := inventory.New([]inventory.Agent{{ID: "free-bot", Kind: "support", Owner: "x"}, {ID: "support-bot", Kind: "support", Owner: "x"}, {ID: "new-bot", Kind: "support", Owner: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := NewEngine(DefaultConfig(), inv)
	g = gen{}
	benign(e2, &g, "free-bot", t0, 14)
	benign(e2, &g, "support-bot", t0, 14)
	at := t0.Add(14*24*time.Hour + 10*time.Hour)
	if as := e2.Process(g.ev("new-bot", at, "tickets.read", "tickets/5")); len(as) != 0 {
		t.Fatalf("peer habit raised %v", detectors(as))
	}
	if as := e2.Process(g.ev("new-bot", at.Add(time.Minute), "secretsmanager:GetSecretValue", "prod/db")); len(as) != 1 || as[0].Detector != DFirstAction {
		t.Fatalf("new-to-peers action: %v", detectors(as))
	}
}

func TestVolumeSpike(t *testing.T) {
	e := newEngine(t, nil)
	var g gen
	benign(e, &g, "free-bot", t0, 14)
	at := t0.Add(14*24*time.Hour + 10*time.Hour)
	var got []schemas.Alert
	for i := 0; i < 400; i++ {
		got = append(got, e.Process(g.ev("free-bot", at.Add(time.Duration(i)*5*time.Second), "tickets.read", fmt.Sprintf("tickets/%d", i%3)))...)
	}
	if len(got) == 0 || got[0].Detector != DVolumeSpike {
		t.Fatalf("burst raised %v", detectors(got))
	}
	if got[0].Evidence[0].Observed == "" || got[0].Evidence[0].Baseline == "" {
		t.Fatalf("evidence = %+v", got[0].Evidence)
	}
	// Enumeration, two days later: many distinct resources at a normal
	// rate. The spike's incident resolves first (a day quiet).
	at = at.Add(48 * time.Hour)
	got = nil
	for i := 0; i < 200; i++ {
		got = append(got, e.Process(g.ev("free-bot", at.Add(time.Duration(i)*10*time.Second), "tickets.read", fmt.Sprintf("tickets/%d", 50000+i)))...)
	}
	if len(got) < 2 || got[0].Status != schemas.StatusResolved || got[1].Detector != DVolumeResources {
		t.Fatalf("enumeration raised %v", detectors(got))
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []schemas.Alert {
		e := newEngine(t, nil)
		var g gen
		benign(e, &g, "free-bot", t0, 10)
		out := e.Process(g.ev("support-bot", t0.Add(240*time.Hour), "secrets.read", "x"))
		out = append(out, e.Process(g.ev("old-bot", t0.Add(240*time.Hour), "tickets.read", "x"))...)
		return append(out, e.Advance(t0.Add(300*time.Hour))...)
	}
	a, b := run(), run()
	if len(a) != 4 || !reflect.DeepEqual(a, b) {
		t.Fatalf("runs differ or wrong count (%d): %v vs %v", len(a), detectors(a), detectors(b))
	}
}

func TestSuppressionsAndDryRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "suppressions.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`suppressions:
  - agent: support-bot
    detector: playground.declared
    match: "action:secrets.*"
    until: 2026-03-02T06:00:00Z
    reason: migration week
`)
	e := newEngine(t, func(c *Config) { c.SuppressionsFile = file; c.DryRun = true })
	var g gen
	if as := e.Process(g.ev("support-bot", t0, "secrets.read", "x")); len(as) != 0 {
		t.Fatalf("suppressed finding raised %v", detectors(as))
	}
	as := e.Process(g.ev("support-bot", t0.Add(7*time.Hour), "secrets.read", "x")) // expired
	if len(as) != 1 || !as[0].DryRun {
		t.Fatalf("after expiry: %+v", as)
	}
	// Hot reload: a new file content applies on the next check.
	write(`suppressions:
  - agent: "*"
    detector: "lifecycle.*"
    until: 2027-01-01T00:00:00Z
    reason: decommission in progress, ticket OPS-1
`)
	if as := e.Process(g.ev("old-bot", t0.Add(8*time.Hour), "tickets.read", "x")); len(as) != 0 {
		t.Fatalf("reloaded suppression not applied: %v", detectors(as))
	}
	if _, err := ParseSuppressions("s.yaml", []byte("suppressions:\n  - agent: a\n    detector: b\n    until: 2027-01-01T00:00:00Z\n")); err == nil || err.Error() != `s.yaml:2: key reason: is required, so the silence is auditable` {
		t.Fatalf("missing reason: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Detectors = map[string]bool{"volume.spik": false}
	if err := c.Validate(); err == nil || err.Error()[:27] != "detect.detectors.volume.spi" {
		t.Fatalf("err = %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c = DefaultConfig()
	c.Baseline.MinDays = -1
	if err := c.Validate(); err == nil || err.Error() != "detect.baseline.min_days: must not be negative" {
		t.Fatalf("err = %v", err)
	}
}

func TestSuppressionsFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(bad, []byte("suppressions:\n  - agent: a\n    detector: b\n    until: 2027-01-01T00:00:00Z\n    reason: r\n    matchh: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SuppressionsFile = bad
	if _, err := NewEngine(cfg, testInv(t)); err == nil || !strings.Contains(err.Error(), "s.yaml:6: unknown key \"matchh\"") {
		t.Fatalf("err = %v", err)
	}
	cfg.SuppressionsFile = filepath.Join(dir, "missing.yaml")
	if _, err := NewEngine(cfg, testInv(t)); err == nil {
		t.Fatal("a configured but missing suppressions file must fail at start")
	}
}
