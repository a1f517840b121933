package detect

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// retiredInv is the inventory of one agent; status is its lifecycle block.
func retiredInv(t *testing.T, status string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.ParseAt("agents.yaml", []byte(`agents:
  - id: report-bot
    owner: data-team
    playground:
      systems: [helpdesk]
      actions: ["tickets.*"]
`+status), t0.AddDate(0, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestDecommissionedAtSplitsReplayLikeLive: three weeks of ordinary work,
// one action outside the playground, then the agent is decommissioned at
// D and keeps acting (its key was never revoked). Replaying the whole
// history with today's inventory (decommissioned_at: D) must give exactly
// the alerts a live run gave, whose inventory said active until the
// operator marked it decommissioned at D: nothing about the lifecycle
// before D, one critical lifecycle.decommissioned incident after.
func TestDecommissionedAtSplitsReplayLikeLive(t *testing.T) {
	decommissioned := t0.AddDate(0, 0, 21).Add(10 * time.Hour)
	final := fmt.Sprintf("    status: decommissioned\n    decommissioned_at: %s\n", decommissioned.Format(time.RFC3339))

	run := func(inv *inventory.Inventory, atD func()) []schemas.Alert {
		e, err := NewEngine(DefaultConfig(), inv)
		if err != nil {
			t.Fatal(err)
		}
		var g gen
		out := benign(e, &g, "report-bot", t0, 21)
		out = append(out, e.Process(g.ev("report-bot", decommissioned.Add(-2*time.Hour), "secrets.read", "prod/db"))...)
		out = append(out, e.Process(g.ev("report-bot", decommissioned.Add(-time.Hour), "tickets.read", "tickets/1"))...)
		if atD != nil {
			atD()
		}
		for i := 0; i < 6; i++ {
			out = append(out, e.Process(g.ev("report-bot", decommissioned.Add(time.Duration(i)*10*time.Minute), "tickets.read", fmt.Sprintf("tickets/%d", 9000+i)))...)
		}
		return out
	}

	replay := run(retiredInv(t, final), nil)
	liveInv := retiredInv(t, "    status: active\n")
	live := run(liveInv, func() {
		// The operator edits agents.yaml at D; the detector picks the
		// entry up (what a reload does to the entry it holds).
		*liveInv.Get("report-bot") = *retiredInv(t, final).Get("report-bot")
	})
	if !reflect.DeepEqual(replay, live) {
		t.Fatalf("replay differs from the live run\nreplay: %v\nlive:   %v", detectors(replay), detectors(live))
	}

	var lifecycle []schemas.Alert
	for _, a := range replay {
		if a.Detector == DDecommissioned {
			lifecycle = append(lifecycle, a)
		}
		if a.Detector != DDecommissioned && a.Identity.Status != inventory.StatusActive {
			t.Errorf("%s alert at %s names status %q, want the status then (active)", a.Detector, a.FirstSeen, a.Identity.Status)
		}
	}
	if len(lifecycle) == 0 {
		t.Fatalf("no lifecycle.decommissioned alert after D; alerts: %v", detectors(replay))
	}
	// One incident, updated at the counts the sinks re-send (1, 2, 5).
	last := lifecycle[len(lifecycle)-1]
	if n := countDetector(replay, DDecommissioned); n != 1 {
		t.Errorf("%d lifecycle.decommissioned incidents, want 1", n)
	}
	if !last.FirstSeen.Equal(decommissioned) || last.Count != 5 || last.Severity.Rank() < schemas.SeverityHigh.Rank() ||
		last.Identity.Status != inventory.StatusDecommissioned {
		t.Fatalf("lifecycle alert %+v: want first seen at D, 5 events, high or critical, status decommissioned", last)
	}
	if ev := last.Evidence; len(ev) != 1 || ev[0].Feature != "decommissioned_at" || ev[0].Baseline != decommissioned.Format(time.RFC3339) {
		t.Errorf("evidence %+v, want decommissioned_at %s", ev, decommissioned.Format(time.RFC3339))
	}
	if n := countDetector(replay, DPlaygroundDeclared); n != 1 {
		t.Errorf("%d playground.declared alerts before D, want 1 (secrets.read), in both runs", n)
	}

	// Without the date the status holds for all time: the replay would
	// blame every event of the three weeks, unlike the live run.
	undated := run(retiredInv(t, "    status: decommissioned\n"), nil)
	var first time.Time
	for _, a := range undated {
		if a.Detector == DDecommissioned && first.IsZero() {
			first = a.FirstSeen
		}
	}
	if !first.Equal(t0) {
		t.Fatalf("undated decommissioning: first lifecycle alert at %s, want %s (the first event)", first, t0)
	}
}

// TestSuspensionWindow: an agent suspended for two days and resumed is
// alerted on only inside the window.
func TestSuspensionWindow(t *testing.T) {
	inv := retiredInv(t, "    status: active\n    suspended_at: 2026-03-03\n    resumed_at: 2026-03-05T00:00:00Z\n")
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	var g gen
	var got []string
	for _, at := range []time.Time{t0.Add(23 * time.Hour), t0.Add(30 * time.Hour), t0.Add(60 * time.Hour), t0.Add(72 * time.Hour)} {
		for _, a := range e.Process(g.ev("report-bot", at, "tickets.read", "tickets/1")) {
			if a.Detector == DSuspended && a.Status == schemas.StatusFiring {
				got = append(got, a.FirstSeen.Format("Jan 2 15h"))
				if a.Evidence[0].Baseline != "2026-03-03T00:00:00Z" {
					t.Errorf("evidence %+v", a.Evidence)
				}
			}
		}
	}
	// The two events inside the window alert (30 hours apart, two
	// episodes); Mar 2 23h and Mar 5 00h are outside it.
	if fmt.Sprint(got) != "[Mar 3 06h Mar 4 12h]" {
		t.Fatalf("suspension alerts opened %v, want at Mar 3 06h and Mar 4 12h only", got)
	}
}

func countDetector(as []schemas.Alert, d string) int {
	n := 0
	seen := map[string]bool{}
	for _, a := range as {
		if a.Detector == d && !seen[a.ID] {
			seen[a.ID] = true
			n++
		}
	}
	return n
}
