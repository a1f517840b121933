package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// actionsFixture is a running pipeline whose alerts (as the alerts stage
// hears them) and outbox the test reads.
type actionsFixture struct {
	*pipeline
	disp  *alerts.Dispatcher
	acts  *Actions
	next  int
	clock time.Time
}

// startActions runs every stage on cfg with the e2e inventory and quick
// notification timing, so silences are checked within the test's time.
func startActions(t *testing.T, cfg Config) *actionsFixture {
	quick := 50 * time.Millisecond
	cfg.Alerts.Route.GroupWait, cfg.Alerts.Route.GroupInterval = &quick, &quick
	inv := mustInventory(t)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg, Options{Log: testLogger(t), Inventory: inv})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &pipeline{t: t, app: a, cancel: cancel, done: make(chan error, 1)}
	disp, err := alerts.NewDispatcher(cfg.Alerts, inv, alerts.WithRegisterer(a.Reg), alerts.WithLogger(a.Log), alerts.WithConsole(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	hooks := Hooks{Dispatcher: disp, OnAlert: func(al schemas.Alert) {
		p.mu.Lock()
		p.alerts = append(p.alerts, al)
		p.mu.Unlock()
	}}
	go func() { p.done <- a.RunStages(ctx, AllStages, hooks) }()
	t.Cleanup(func() { p.stop(); disp.Close() })
	return &actionsFixture{pipeline: p, disp: disp, acts: a.Actions(), clock: day0.Add(24 * time.Hour)}
}

// send ships one support-bot event doing action at the next second, then
// a probe, an event of the same agent with an action it has never had,
// and waits for the probe's incident. The agent's events share a key, so
// one partition of every topic carries them in order: once the probe's
// incident is heard, whatever the event raised has been heard too.
func (f *actionsFixture) send(action string) {
	f.t.Helper()
	f.next++
	f.clock = f.clock.Add(time.Second)
	ev := supportEvent(900000+2*f.next, f.clock, action, "mcp:zendesk")
	probe := supportEvent(900001+2*f.next, f.clock.Add(time.Millisecond), fmt.Sprintf("probe.%d", f.next), "mcp:zendesk")
	f.shipEvents([]schemas.AgentEvent{ev, probe})
	waitFor(f.t, 60*time.Second, "the probe's incident", func() bool { return len(f.about(probe.Action)) > 0 })
}

func (f *actionsFixture) heard() []schemas.Alert {
	f.pipeline.mu.Lock()
	defer f.pipeline.mu.Unlock()
	return append([]schemas.Alert(nil), f.alerts...)
}

// about returns the alerts heard about support-bot's action, in order.
func (f *actionsFixture) about(action string) []schemas.Alert {
	var out []schemas.Alert
	for _, a := range f.heard() {
		if a.Identity.AgentID == "support-bot" && a.Detector == "playground.declared" && a.Subject == "action:"+action {
			out = append(out, a)
		}
	}
	return out
}

func (f *actionsFixture) stored(id string) schemas.Alert {
	f.t.Helper()
	var got []schemas.Alert
	waitFor(f.t, 30*time.Second, "alert "+id+" in the store", func() bool {
		var err error
		got, err = f.app.Store.LoadAlerts(context.Background(), store.AlertFilter{ID: id})
		return err == nil && len(got) == 1
	})
	return got[0]
}

func TestActionsEffectsEmbedded(t *testing.T) {
	testActionsEffects(t, startActions(t, testConfig(t.TempDir())))
}

func TestActionsEffectsProduction(t *testing.T) {
	testActionsEffects(t, startActions(t, prodConfig(t)))
}

// testActionsEffects checks what accept, resolve and silence do to
// detection, on the real pipeline: an action outside the declared
// playground raises an incident; resolved, the same behaviour opens a new
// incident; accepted, the same behaviour raises nothing; silenced,
// detection goes on and the notifications are held.
func testActionsEffects(t *testing.T, f *actionsFixture) {
	ctx := context.Background()
	f.send("users.export")
	first := f.about("users.export")
	if len(first) != 1 || first[0].Status != schemas.StatusFiring {
		t.Fatalf("a declared-playground break raised %+v, want one firing incident", first)
	}
	inc := first[0]
	f.stored(inc.ID)

	// Resolve: the incident closes (and the alerts stage hears it, to
	// resolve Slack and PagerDuty); the same behaviour opens a new one.
	if _, err := f.acts.Resolve(ctx, ActionRequest{AlertID: inc.ID, Actor: "alice", Reason: "export job paused"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the resolved incident in the store", func() bool {
		return f.stored(inc.ID).Status == schemas.StatusResolved
	})
	if got := f.stored(inc.ID).Labels["resolution"]; got != "resolved by alice" {
		t.Errorf("resolved incident's resolution label = %q, want %q", got, "resolved by alice")
	}
	f.send("users.export")
	again := f.about("users.export")
	var reopened *schemas.Alert
	for i := range again {
		if again[i].ID != inc.ID && again[i].Status == schemas.StatusFiring {
			reopened = &again[i]
		}
	}
	if reopened == nil {
		t.Fatalf("after resolve, the same behaviour raised %+v, want a new incident", again)
	}
	f.stored(reopened.ID)

	// Accept: the next identical event raises nothing at all.
	if _, err := f.acts.Accept(ctx, ActionRequest{AlertID: reopened.ID, Actor: "bob", Reason: "nightly export is approved", For: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the accepted incident closed in the store", func() bool {
		return f.stored(reopened.ID).Status == schemas.StatusResolved
	})
	before := len(f.about("users.export")) // the closing state heard by the alerts stage
	for i := 0; i < 3; i++ {
		f.send("users.export")
	}
	if after := f.about("users.export"); len(after) != before {
		t.Errorf("after accept, the same behaviour raised %+v, want nothing", after[before:])
	}
	// A different behaviour is still caught: accept is not a blanket mute.
	f.send("users.delete")
	del := f.about("users.delete")
	if len(del) != 1 {
		t.Fatalf("an unaccepted behaviour raised %+v, want one incident", del)
	}
	f.stored(del[0].ID)

	// Silence: detection goes on (the incident keeps counting), and the
	// notification of the update is held by the silence.
	row, err := f.acts.Silence(ctx, ActionRequest{AlertID: del[0].ID, Actor: "carol", Reason: "cleanup this afternoon", For: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.send("users.delete")
	upd := f.about("users.delete")
	if len(upd) != 2 || upd[1].ID != del[0].ID || upd[1].Count != 2 {
		t.Fatalf("silenced behaviour: heard %+v, want the same incident updated to count 2", upd)
	}
	waitFor(t, 30*time.Second, "the update's notification held by the silence", func() bool {
		ns, err := f.disp.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Alert.ID == del[0].ID && n.Alert.Count == 2 && n.State == "suppressed" && strings.Contains(n.LastError, "silenced by silence") {
				return true
			}
		}
		return false
	})

	// Every action is in the actions table, queryable by SQL.
	res, err := f.app.Store.Query(ctx, "SELECT DISTINCT id, actor, action, reason FROM actions ORDER BY actor")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, store.Text(r[1])+" "+store.Text(r[2])+" "+store.Text(r[3]))
	}
	want := []string{"alice resolve export job paused", "bob accept nightly export is approved", "carol silence cleanup this afternoon"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("actions table:\n got %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(row.Detail, "silence ") {
		t.Errorf("silence action detail = %q, want the outbox silence id", row.Detail)
	}
}
