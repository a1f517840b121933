package detect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/schemas"
)

func TestRestoreFromWorkerState(t *testing.T) {
	ctx := context.Background()
	st := basetest.New()
	cfg := DefaultConfig()
	w, err := baseline.NewWorker(cfg.Baseline, st, testInv(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The worker learns 14 days of the agent's traffic.
	eng := newEngine(t, nil)
	var g gen
	var items []baseline.Item
	for h := 0; h < 14*24; h++ {
		for i := 0; i < 6; i++ {
			ev := g.ev("free-bot", t0.Add(time.Duration(h)*time.Hour+time.Duration(i)*7*time.Minute), "tickets.read", fmt.Sprintf("tickets/%d", h*6+i))
			items = append(items, baseline.Item{Event: *ev, Partition: 0, Offset: int64(len(items))})
		}
	}
	if err := w.HandleBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	// A detector that never saw the stream restores and is mature at once.
	if err := eng.Restore(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	a := eng.Tracker().Get("free-bot")
	if a == nil || !eng.Tracker().Mature(a) {
		t.Fatal("restored agent should be mature")
	}
	at := t0.Add(14*24*time.Hour + time.Hour)
	if as := eng.Process(g.ev("free-bot", at, "tickets.read", "tickets/99999")); len(as) != 0 {
		t.Fatalf("known habit raised %v", detectors(as))
	}
	as := eng.Process(g.ev("free-bot", at.Add(time.Minute), "tickets.delete", "tickets/1"))
	if len(as) != 1 || as[0].Detector != DFirstAction {
		t.Fatalf("new action after restore: %v", detectors(as))
	}
	// Firing alerts survive a restart: the repeat updates the same alert.
	if err := eng.Snapshot(ctx, st); err != nil {
		t.Fatal(err)
	}
	eng2 := newEngine(t, nil)
	if err := eng2.Restore(ctx, st, []string{"free-bot"}); err != nil {
		t.Fatal(err)
	}
	// The restored alert itself dedups: the repeat comes back under its id.
	again := eng2.Process(g.ev("free-bot", at.Add(90*time.Second), "tickets.delete", "tickets/2"))
	if len(again) != 1 || again[0].ID != as[0].ID || again[0].Count != 2 {
		t.Fatalf("repeat after restart: %+v, want alert %s with count 2", again, as[0].ID)
	}
	rep := eng2.Process(g.ev("support-bot", at.Add(2*time.Minute), "secrets.read", "x"))
	rep = append(rep, eng2.Process(g.ev("support-bot", at.Add(3*time.Minute), "secrets.read", "x"))...)
	if len(rep) != 2 || rep[1].Count != 2 {
		t.Fatalf("dedup after restart: %+v", rep)
	}
	res := eng2.Advance(at.Add(DefaultConfig().Incidents.QuietPeriod + 5*time.Minute))
	if len(res) != 2 || res[0].Status != schemas.StatusResolved || res[0].ID != as[0].ID {
		t.Fatalf("restored alert should resolve under its id: %+v", res)
	}
}
