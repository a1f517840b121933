package baseline

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

func ev(agent string, at time.Time, action, resource string) *schemas.AgentEvent {
	return &schemas.AgentEvent{EventID: fmt.Sprintf("%s-%d-%s", agent, at.UnixNano(), resource), Time: at, Source: "test",
		AgentID: agent, Action: action, System: "helpdesk", Resource: resource, Outcome: schemas.OutcomeSuccess,
		SrcIP: "10.0.1.7", UserAgent: "bot/1.2.3", CredentialID: "cred-" + agent}
}

func testInventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.New([]inventory.Agent{{ID: "bot-a", Kind: "support"}, {ID: "bot-b", Kind: "support"}})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestTrackerWindowsAndNovelty(t *testing.T) {
	tr := NewTracker(DefaultConfig(), testInventory(t))
	var rows []schemas.WindowRow
	tr.OnWindow = func(_ *Agent, r schemas.WindowRow) { rows = append(rows, r) }

	o := tr.Observe(ev("bot-a", t0.Add(time.Minute), "tickets.read", "tickets/1"))
	if !o.NewAction || !o.NewTriple || !o.NewNetwork || !o.PeerNewAction || !o.FleetNewAction {
		t.Fatalf("first event should be new everywhere: %+v", o)
	}
	o = tr.Observe(ev("bot-a", t0.Add(2*time.Minute), "tickets.read", "tickets/2"))
	if o.NewAction || o.NewTriple || o.NewNetwork || o.NewUserAgent {
		t.Fatalf("same habit on another ticket should not be new: %+v", o)
	}
	o = tr.Observe(ev("bot-b", t0.Add(3*time.Minute), "tickets.read", "tickets/3"))
	if !o.NewAction || o.PeerNewAction || o.FleetNewAction {
		t.Fatalf("peer's habit: new for the agent only: %+v", o)
	}
	// Three hours later: the first window closes with two events, two
	// empty windows are folded, and a new window opens.
	tr.Observe(ev("bot-a", t0.Add(3*time.Hour+time.Minute), "tickets.read", "tickets/9"))
	if len(rows) != 1 || rows[0].Events != 2 || rows[0].DistinctResources != 2 || rows[0].ActionCounts["tickets.read"] != 2 {
		t.Fatalf("closed windows = %+v", rows)
	}
	if a := tr.Get("bot-a"); a.P.N != 3 || a.W.Events != 1 {
		t.Fatalf("folded %d windows, open window has %d events; want 3 and 1", a.P.N, a.W.Events)
	}
	o = tr.Observe(ev("bot-a", t0.Add(30*time.Minute), "tickets.read", "tickets/10"))
	if !o.Late || tr.Get("bot-a").W.Events != 1 {
		t.Fatalf("an event older than the open window must be late and uncounted")
	}
}

func TestTrackerMaturityAndSeasonality(t *testing.T) {
	cfg := DefaultConfig()
	tr := NewTracker(cfg, inventory.Empty())
	// Busy during the day (20 events), quiet at night, for three weeks.
	for h := 0; h < 21*24; h++ {
		n := 0
		if hr := h % 24; hr >= 8 && hr < 18 {
			n = 20
		}
		for i := 0; i < n; i++ {
			tr.Observe(ev("x", t0.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Minute), "a", "r"))
		}
	}
	a := tr.Get("x")
	if !tr.Mature(a) {
		t.Fatalf("three weeks of history should be mature (windows %d, span %s)", a.P.N, a.P.Span())
	}
	if s := a.P.Seasonality(); s != "hour_of_week" {
		t.Fatalf("seasonality = %s", s)
	}
	day, night := a.P.Expected(FEvents, 10), a.P.Expected(FEvents, 2)
	if day < 15 || night > 2 {
		t.Fatalf("expected day %.2f night %.2f; want about 20 and under 2 (a tenth of the flat mean)", day, night)
	}
	if young := NewTracker(cfg, inventory.Empty()); young.Mature(young.agent("y")) {
		t.Fatal("an agent without history must not be mature")
	}
}

func TestTrackerExportImport(t *testing.T) {
	tr := NewTracker(DefaultConfig(), testInventory(t))
	for i := 0; i < 50; i++ {
		tr.Observe(ev("bot-a", t0.Add(time.Duration(i)*20*time.Minute), "tickets.read", fmt.Sprintf("tickets/%d", i)))
	}
	a := tr.Get("bot-a")
	rows, err := tr.BaselineRows(a, t0)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := DecodeState(rows)
	if !ok {
		t.Fatal("no state in baseline rows")
	}
	tr2 := NewTracker(DefaultConfig(), testInventory(t))
	b, err := tr2.Import(st)
	if err != nil {
		t.Fatal(err)
	}
	if b.P != a.P || len(b.Triples) != 1 || b.W.Start != a.W.Start || !b.Open {
		t.Fatalf("imported state differs: N %d/%d triples %d", b.P.N, a.P.N, len(b.Triples))
	}
	o := tr2.Observe(ev("bot-a", t0.Add(17*time.Hour), "tickets.read", "tickets/999"))
	if o.NewTriple || o.NewNetwork {
		t.Fatal("imported playground should be known")
	}
	if pg := tr.PlaygroundRows(a); len(pg) != 4 || pg[0].ResourcePattern != "tickets/{n}" {
		t.Fatalf("playground rows = %+v", pg)
	}
}

func TestHabitsEvictLeastRecent(t *testing.T) {
	var h Habits
	for k := uint32(1); k <= 4; k++ {
		h.observe(k, 100+k, 4)
	}
	h.observe(1, 200, 4) // 1 is now the most recent
	if !h.observe(9, 300, 4) || h.Has(2) || !h.Has(1) || len(h) != 4 {
		t.Fatalf("habits = %+v", h)
	}
}

func TestLearnedPeerGroup(t *testing.T) {
	tr := NewTracker(DefaultConfig(), inventory.Empty())
	for _, id := range []string{"x1", "x2"} {
		tr.Observe(ev(id, t0, "tickets.read", "tickets/1"))
		tr.Observe(ev(id, t0.Add(2*time.Hour), "tickets.read", "tickets/2"))
	}
	a, b := tr.Get("x1"), tr.Get("x2")
	if a.Kind != "auto:helpdesk" || b.Kind != a.Kind || tr.PeerOf(a.Kind).Members != 2 {
		t.Fatalf("kinds %q %q", a.Kind, b.Kind)
	}
	o := tr.Observe(ev("x3", t0.Add(3*time.Hour), "tickets.read", "tickets/3"))
	if o.Peer != nil {
		t.Fatal("an agent gets a learned peer group only after its first window")
	}
}

// TestDropForgetsAgentEverywhere: after Drop, the agent's next event
// starts a new state, found by Get, not the dropped one; its inventory
// entry comes with it.
func TestDropForgetsAgentEverywhere(t *testing.T) {
	tr := NewTracker(DefaultConfig(), testInventory(t))
	first := tr.Observe(ev("bot-a", t0.Add(time.Minute), "tickets.read", "tickets/1")).Agent
	if first.Decl == nil || first.Decl.ID != "bot-a" {
		t.Fatalf("Decl = %+v, want the inventory entry of bot-a", first.Decl)
	}
	tr.Drop("bot-a")
	o := tr.Observe(ev("bot-a", t0.Add(2*time.Minute), "tickets.read", "tickets/1"))
	if o.Agent == first || o.Agent != tr.Get("bot-a") || !o.NewAction {
		t.Fatalf("after Drop the event went to the dropped state (same=%v, tracked=%v, new action=%v)", o.Agent == first, o.Agent == tr.Get("bot-a"), o.NewAction)
	}
	if other := tr.Observe(ev("unknown-agent", t0.Add(3*time.Minute), "x", "")).Agent; other.Decl != nil {
		t.Fatalf("an agent outside the inventory has Decl %+v", other.Decl)
	}
}

// TestHabitsFind: find gives sort.Search's position for present and
// absent keys, at every size.
func TestHabitsFind(t *testing.T) {
	for n := 0; n < 40; n++ {
		var h Habits
		for i := 0; i < n; i++ {
			h = append(h, Habit{Key: uint32(3*i + 1)})
		}
		for key := uint32(0); key <= uint32(3*n+2); key++ {
			want := sort.Search(len(h), func(i int) bool { return h[i].Key >= key })
			i, ok := h.find(key)
			if i != want || ok != (key%3 == 1 && int(key) < 3*n) {
				t.Fatalf("n=%d key=%d: find = %d, %v; want %d", n, key, i, ok, want)
			}
		}
	}
}
