package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// actionsFixture is a running pipeline whose alerts (as the alerts stage
// hears them) and outbox the test reads.
type actionsFixture struct {
	*pipeline
	acts  *Actions
	next  int
	clock time.Time
}

// startActions runs every stage on cfg with the e2e inventory and quick
// notification timing, so silences are checked within the test's time.
func startActions(t *testing.T, cfg Config) *actionsFixture {
	quick := 50 * time.Millisecond
	cfg.Alerts.Route.GroupWait, cfg.Alerts.Route.GroupInterval = &quick, &quick
	p := startPipeline(t, cfg, mustInventory(t))
	return &actionsFixture{pipeline: p, acts: p.app.Actions(), clock: day0.Add(24 * time.Hour)}
}

// send ships one support-bot event doing action at the next second and
// waits until every stage has committed everything shipped so far: the
// alerts stage hears an alert before it commits it, so whatever the event
// raised has been heard.
func (f *actionsFixture) send(action string) {
	f.t.Helper()
	f.next++
	f.clock = f.clock.Add(time.Second)
	f.shipEvents([]schemas.AgentEvent{supportEvent(900000+f.next, f.clock, action, "mcp:zendesk")})
	waitFor(f.t, 60*time.Second, "every stage to catch up", func() bool { return f.app.Drained(int64(f.next)) })
}

// waitHeld waits until the notification of incident id at count events
// is held by a silence.
func (f *actionsFixture) waitHeld(id string, count int) {
	f.t.Helper()
	waitFor(f.t, 30*time.Second, "the update's notification held by the silence", func() bool {
		ns, err := f.disp.List(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		for _, n := range ns {
			if n.Alert.ID == id && n.Alert.Count == count && n.State == "suppressed" && strings.Contains(n.LastError, "silenced by silence") {
				return true
			}
		}
		return false
	})
}

func (f *actionsFixture) heard() []schemas.Alert {
	f.pipeline.mu.Lock()
	defer f.pipeline.mu.Unlock()
	return append([]schemas.Alert(nil), f.alerts...)
}

// about returns the incidents heard about support-bot's action, latest
// state of each, in the order they opened. An incident groups the agent's
// declared-playground breaks, so the action may be one of its subjects.
func (f *actionsFixture) about(action string) []schemas.Alert {
	var order []string
	latest := map[string]schemas.Alert{}
	for _, a := range f.heard() {
		if a.Identity.AgentID != "support-bot" || a.Detector != "playground.declared" {
			continue
		}
		if a.Subject != "action:"+action && !slices.Contains(a.SubjectExamples, "action:"+action) {
			continue
		}
		if _, ok := latest[a.ID]; !ok {
			order = append(order, a.ID)
		}
		latest[a.ID] = a
	}
	out := make([]schemas.Alert, 0, len(order))
	for _, id := range order {
		out = append(out, latest[id])
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
	if len(upd) != 1 || upd[0].ID != del[0].ID || upd[0].Count != del[0].Count+1 {
		t.Fatalf("silenced behaviour: heard %+v, want the same incident counting one more event", upd)
	}
	f.waitHeld(del[0].ID, upd[0].Count)

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
	if !strings.HasPrefix(row.Detail, "silence in ") {
		t.Errorf("silence action detail = %q, want the outbox it is in", row.Detail)
	}
	// The silence is in the outbox once, made from its action, though the
	// alerts stage's sync reads the same row.
	waitFor(t, 30*time.Second, "a sync of the actions table after the silence", func() bool {
		n, err := SyncSilences(ctx, f.app.Store, f.disp.Silences(), time.Now())
		return err == nil && n == 0
	})
	sils, err := f.disp.Silences().List(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(sils) != 1 || sils[0].ActionID != row.ID {
		t.Errorf("outbox silences = %+v, want one, made from action %s", sils, row.ID)
	}
}

// TestSilenceFromAnotherHost: a console whose host does not hold the
// alerts stage's outbox records the silence in the actions table, and the
// alerts stage applies it from there.
func TestSilenceFromAnotherHost(t *testing.T) {
	ctx := context.Background()
	f := startActions(t, testConfig(t.TempDir()))
	remote := NewActions(f.app.Store, nil, filepath.Join(t.TempDir(), "not-here", "outbox.db"), nil)
	t.Cleanup(func() { remote.Close() })
	f.send("users.delete")
	inc := f.about("users.delete")
	if len(inc) != 1 {
		t.Fatalf("heard %+v, want one incident", inc)
	}
	f.stored(inc[0].ID)
	row, err := remote.Silence(ctx, ActionRequest{AlertID: inc[0].ID, Actor: "dana", Reason: "migration window", For: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(row.Detail, "applied by the alerts stage") {
		t.Errorf("detail = %q, want it to say the alerts stage applies it", row.Detail)
	}
	if _, err := os.Stat(filepath.Dir(remote.outbox)); err == nil {
		t.Errorf("the remote console made an outbox of its own")
	}
	waitFor(t, 30*time.Second, "the alerts stage to apply the silence", func() bool {
		sils, err := f.disp.Silences().List(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		return len(sils) == 1 && sils[0].ActionID == row.ID && sils[0].Comment == "migration window"
	})
	f.send("users.delete")
	upd := f.about("users.delete")
	f.waitHeld(inc[0].ID, upd[0].Count)
	// The remote console's incident page reads the notification history
	// from the store, where the alerts stage copies the outbox's states.
	waitFor(t, 30*time.Second, "the held notification copied to the store", func() bool {
		rows, err := f.app.Store.LoadNotifications(ctx, inc[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) > 0 && rows[0].State == "suppressed" && strings.Contains(rows[0].LastError, "silenced by silence")
	})
}
