package outbox

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/schemas"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func put(t *testing.T, o *Outbox, n *Notification) {
	t.Helper()
	if err := o.Update(context.Background(), func(tx *Tx) error { return tx.Put(n) }); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsRowsAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "outbox.db")
	o, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n := &Notification{Receiver: "pd", Key: "k", Alert: schemas.Alert{ID: "a"}, Version: 1, State: StatePending,
		NextAttemptAt: t0, EnqueuedAt: t0, CreatedAt: t0, UpdatedAt: t0}
	put(t, o, n)
	o.Close()
	o, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer o.Close()
	due, err := o.Due(context.Background(), "pd", t0, 10)
	if err != nil || len(due) != 1 || due[0].Alert.ID != "a" || !due[0].NextAttemptAt.Equal(t0) {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if next, ok, err := o.NextDue(context.Background(), "pd"); err != nil || !ok || !next.Equal(t0) {
		t.Fatalf("NextDue = %v %v %v", next, ok, err)
	}
}

// TestVersionGuard: a delivery that finishes after a newer Submit records
// what was sent but leaves the newer version pending.
func TestVersionGuard(t *testing.T) {
	o, err := Open(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	n := &Notification{Receiver: "slack", Key: "k", Alert: schemas.Alert{ID: "a", Count: 1}, Version: 1, State: StatePending,
		NextAttemptAt: t0, EnqueuedAt: t0, CreatedAt: t0, UpdatedAt: t0}
	put(t, o, n)
	n.Version, n.Alert.Count = 2, 2
	put(t, o, n)
	st := notify.State{Sent: true, Count: 1, SlackChannel: "C1", SlackTS: "1.2"}
	if err := o.MarkDelivered(ctx, n.ID, 1, st, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := o.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StatePending || got.Sent.SlackTS != "1.2" || got.Sent.Count != 1 || !got.Sent.Sent {
		t.Fatalf("row = %+v", got)
	}
	// Failing an old version does nothing either.
	if err := o.MarkFailed(ctx, n.ID, 1, 1, "x", t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := o.Get(ctx, n.ID); got.State != StatePending {
		t.Fatalf("old-version failure changed state to %s", got.State)
	}
	if err := o.MarkDelivered(ctx, n.ID, 2, notify.State{Sent: true, Count: 2, SlackChannel: "C1", SlackTS: "1.2"}, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := o.Get(ctx, n.ID); got.State != StateDelivered {
		t.Fatalf("state = %s", got.State)
	}
	if err := o.Retry(ctx, t0, n.ID); err == nil {
		t.Fatal("Retry of a delivered row succeeded")
	}
	if err := o.Retry(ctx, t0, 999); err == nil {
		t.Fatal("Retry of a missing row succeeded")
	}
}

func TestSilenceRows(t *testing.T) {
	o, err := Open(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	id, err := o.AddSilence(ctx, SilenceRow{Matchers: []string{"agent=x"}, Comment: "c", CreatedAt: t0, StartsAt: t0, EndsAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for at, want := range map[time.Time]int{t0.Add(-time.Second): 0, t0: 1, t0.Add(59 * time.Minute): 1, t0.Add(time.Hour): 0} {
		if got, _ := o.ListSilences(ctx, at); len(got) != want {
			t.Errorf("active at %s = %d, want %d", at, len(got), want)
		}
	}
	if err := o.ExpireSilence(ctx, id, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := o.ListSilences(ctx, t0.Add(2*time.Minute)); len(got) != 0 {
		t.Fatalf("expired silence active: %+v", got)
	}
	if all, _ := o.ListSilences(ctx, time.Time{}); len(all) != 1 || all[0].ExpiredAt.IsZero() {
		t.Fatalf("all = %+v", all)
	}
}

func TestPruneKeepsOwedWork(t *testing.T) {
	o, err := Open(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	for i, st := range []string{StatePending, StateFailed, StateDelivered, StateSuppressed} {
		put(t, o, &Notification{Receiver: "r", Key: string(rune('a' + i)), Alert: schemas.Alert{ID: st}, Version: 1, State: st,
			NextAttemptAt: t0, EnqueuedAt: t0, CreatedAt: t0, UpdatedAt: t0})
	}
	recent := &Notification{Receiver: "r", Key: "recent", Alert: schemas.Alert{ID: "recent"}, Version: 1, State: StateDelivered,
		NextAttemptAt: t0, EnqueuedAt: t0, CreatedAt: t0, UpdatedAt: t0.Add(48 * time.Hour)}
	put(t, o, recent)
	n, err := o.Prune(ctx, t0.Add(24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want 2", n, err)
	}
	left, _ := o.List(ctx)
	var ids []string
	for _, r := range left {
		ids = append(ids, r.Alert.ID)
	}
	if len(ids) != 3 || ids[0] != StatePending || ids[1] != StateFailed || ids[2] != "recent" {
		t.Fatalf("left = %v", ids)
	}
}
