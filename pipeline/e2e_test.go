package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

const e2eInventory = `agents:
  - id: support-bot
    kind: support
    owner: team-support
    contact: {slack_channel: "#support-agents"}
    playground:
      systems: ["mcp:zendesk"]
      actions: ["tickets.*"]
      delegators: ["customer:*"]
  - id: old-bot
    owner: team-legacy
    status: decommissioned
`

var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

func supportEvent(i int, t time.Time, action, system string) schemas.AgentEvent {
	return schemas.AgentEvent{
		EventID: fmt.Sprintf("ev-%06d", i), Time: t, Source: "test",
		AgentID: "support-bot", AgentInstance: "pod-1", Principal: "svc-support",
		CredentialID: "tok-1", CredentialType: schemas.CredOAuthToken,
		OnBehalfOf: fmt.Sprintf("customer:%d", i%7), Action: action, System: system,
		Resource: fmt.Sprintf("tickets/%d", 1000+i), Outcome: schemas.OutcomeSuccess,
		SrcIP: "10.1.2.3", UserAgent: "support-bot/1.4",
	}
}

// history is four days of one agent's steady hourly habit: enough windows
// and days for maturity with the default configuration.
func history(days, perHour int) []schemas.AgentEvent {
	var evs []schemas.AgentEvent
	for h := 0; h < days*24; h++ {
		for k := 0; k < perHour; k++ {
			t := day0.Add(time.Duration(h)*time.Hour + time.Duration(k*60/perHour)*time.Minute)
			evs = append(evs, supportEvent(len(evs), t, "tickets.read", "mcp:zendesk"))
		}
	}
	return evs
}

func mustInventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("agents.yaml", []byte(e2eInventory))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestEmbeddedPipelineEndToEnd publishes raw canonical records on the
// ingest topic with a kafka-go producer and checks the alerts that come out
// and the rows the baseline worker stored.
func TestEmbeddedPipelineEndToEnd(t *testing.T) {
	runEndToEnd(t, testConfig(t.TempDir()))
}

// TestProductionPipelineEndToEnd is the same scenario on real Apache Kafka
// and ClickHouse, asserted through SQL on ClickHouse.
func TestProductionPipelineEndToEnd(t *testing.T) {
	runEndToEnd(t, prodConfig(t))
}

func runEndToEnd(t *testing.T, cfg Config) {
	p := startPipeline(t, cfg, mustInventory(t))

	evs := history(4, 4)
	n := len(evs)
	after := day0.Add(4 * 24 * time.Hour)
	// A new action inside the declared playground: only the learned
	// boundary is crossed.
	evs = append(evs, supportEvent(n, after.Add(10*time.Hour), "tickets.delete", "mcp:zendesk"))
	// A system outside the declared playground.
	evs = append(evs, supportEvent(n+1, after.Add(11*time.Hour), "invoices.read", "mcp:billing"))
	// A burst of the usual action: 150 events in one hour against ~4.
	// The burst reads a handful of tickets over and over, so it is a
	// volume spike and not an enumeration of resources.
	for k := 0; k < 150; k++ {
		ev := supportEvent(n+2+k, after.Add(13*time.Hour+time.Duration(k)*10*time.Second), "tickets.read", "mcp:zendesk")
		ev.Resource = fmt.Sprintf("tickets/%d", 1000+k%4)
		evs = append(evs, ev)
	}
	// The next hour's event closes the burst window.
	evs = append(evs, supportEvent(n+200, after.Add(15*time.Hour), "tickets.read", "mcp:zendesk"))
	// A decommissioned agent acting.
	old := supportEvent(n+201, after.Add(15*time.Hour+time.Minute), "s3:GetObject", "aws:s3")
	old.AgentID, old.CredentialID, old.CredentialType, old.OnBehalfOf = "old-bot", "AKIAOLDKEY", schemas.CredStaticKey, ""
	evs = append(evs, old)

	p.shipEvents(evs)
	waitFor(t, 60*time.Second, "every stage to catch up", func() bool { return p.app.Drained(int64(len(evs))) })

	byDetector := map[string][]schemas.Alert{}
	for _, a := range p.firing() {
		byDetector[a.Detector+" "+a.Identity.AgentID] = append(byDetector[a.Detector+" "+a.Identity.AgentID], a)
	}
	var got []string
	for k := range byDetector {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{
		"lifecycle.decommissioned old-bot",
		"playground.declared support-bot",
		"playground.first_action support-bot",
		"volume.spike support-bot",
	}
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	for _, g := range got {
		delete(missing, g)
	}
	if len(missing) > 0 {
		t.Fatalf("alerts by detector = %v; missing %v", got, missing)
	}
	for _, g := range got {
		if !contains(want, g) {
			t.Errorf("unexpected alert %s: %+v", g, byDetector[g][0])
		}
	}

	decl := byDetector["playground.declared support-bot"][0]
	// mcp:billing is outside the declared playground and also a system
	// the agent never used: one alert that says both.
	if decl.Boundary != schemas.BoundaryBoth {
		t.Errorf("declared alert boundary = %q, want both", decl.Boundary)
	}
	if len(decl.Evidence) == 0 || !strings.Contains(decl.Evidence[0].Observed, "mcp:billing") || !strings.Contains(decl.Evidence[0].Baseline, "mcp:zendesk") {
		t.Errorf("declared evidence = %+v", decl.Evidence)
	}
	if decl.Identity.Owner != "team-support" || decl.Identity.SlackChannel != "#support-agents" || decl.Identity.CredentialID != "tok-1" {
		t.Errorf("identity block = %+v", decl.Identity)
	}
	first := byDetector["playground.first_action support-bot"][0]
	if first.Boundary != schemas.BoundaryLearned || !strings.Contains(first.Summary, "tickets.delete") {
		t.Errorf("first_action alert = %+v", first)
	}
	spike := byDetector["volume.spike support-bot"][0]
	// The spike fires while the window is still open, as soon as the
	// count is improbable for this hour: well before the burst's 150.
	var observed int
	if len(spike.Evidence) > 0 {
		fmt.Sscan(spike.Evidence[0].Observed, &observed)
	}
	if len(spike.Evidence) == 0 || spike.Evidence[0].Feature != "events" || observed < 20 || observed > 151 || !strings.Contains(spike.Evidence[0].Baseline, "expected 4.0") {
		t.Errorf("volume.spike evidence = %+v, want events observed beside an expected 4.0", spike.Evidence)
	}
	dec := byDetector["lifecycle.decommissioned old-bot"][0]
	if dec.Severity.Rank() < schemas.SeverityHigh.Rank() || dec.Identity.Owner != "team-legacy" {
		t.Errorf("decommissioned alert = %+v", dec)
	}

	// The store: every event once, closed windows and baselines.
	ctx := context.Background()
	res, err := p.app.Store.Query(ctx, "SELECT count(*), count(DISTINCT event_id) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Rows[0]) != fmt.Sprintf("[%d %d]", len(evs), len(evs)) {
		t.Errorf("events rows = %v, want %d each", res.Rows[0], len(evs))
	}
	wins, err := p.app.Store.LoadWindows(ctx, "support-bot", day0)
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) < 4*24 {
		t.Fatalf("support-bot has %d windows, want at least %d", len(wins), 4*24)
	}
	if wins[0].Events != 4 || wins[0].DistinctActions != 1 || wins[0].DistinctResources != 4 || !wins[0].WindowStart.Equal(day0) {
		t.Errorf("first window = %+v", wins[0])
	}
	var burst *schemas.WindowRow
	for i := range wins {
		if wins[i].WindowStart.Equal(after.Add(13 * time.Hour)) {
			burst = &wins[i]
		}
	}
	if burst == nil || burst.Events != 150 {
		t.Errorf("burst window = %+v, want 150 events", burst)
	}
	bl, err := p.app.Store.LoadBaselines(ctx, []string{"support-bot"})
	if err != nil {
		t.Fatal(err)
	}
	var events *schemas.BaselineRow
	for i := range bl {
		if bl[i].Feature == "events" {
			events = &bl[i]
		}
	}
	if events == nil || !events.Mature || events.Samples < 96 || events.Median != 4 {
		t.Errorf("events baseline = %+v, want mature with median 4 over >= 96 windows", events)
	}
	var buf bytes.Buffer
	res, err = p.app.Store.Query(ctx, "SELECT agent_id, owner, status FROM agents ORDER BY agent_id")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(&buf, res.Rows)
	if buf.String() != "[[old-bot team-legacy decommissioned] [support-bot team-support active]]" {
		t.Errorf("agents table = %s", buf.String())
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
