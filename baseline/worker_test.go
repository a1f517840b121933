package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/baseline/basetest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// stream makes n events for two agents over about n*3 minutes, as Kafka
// items on partitions 0 and 1.
func stream(n int) []Item {
	items := make([]Item, 0, n)
	for i := 0; i < n; i++ {
		agent, part := "bot-a", 0
		if i%3 == 0 {
			agent, part = "bot-b", 1
		}
		e := ev(agent, t0.Add(time.Duration(i)*3*time.Minute), "tickets.read", fmt.Sprintf("tickets/%d", i%17))
		e.EventID = fmt.Sprintf("ev-%05d", i)
		if i%10 == 0 {
			e.Outcome = schemas.OutcomeDenied
		}
		items = append(items, Item{Event: *e, Partition: part, Offset: int64(i)})
	}
	return items
}

func batches(items []Item, size int) [][]Item {
	var out [][]Item
	for len(items) > 0 {
		n := min(size, len(items))
		out = append(out, items[:n])
		items = items[n:]
	}
	return out
}

func newWorker(t *testing.T, st WorkerStore) *Worker {
	t.Helper()
	w, err := NewWorker(DefaultConfig(), st, testInventory(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// reference runs the stream once, cleanly.
func reference(t *testing.T, items []Item) []schemas.WindowRow {
	st := basetest.New()
	w := newWorker(t, st)
	for _, b := range batches(items, 25) {
		if err := w.HandleBatch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return stripTimes(st.Windows())
}

func stripTimes(rows []schemas.WindowRow) []schemas.WindowRow {
	for i := range rows {
		rows[i].UpdatedAt = time.Time{}
	}
	return rows
}

func TestWorkerRedeliveryCountsOnce(t *testing.T) {
	ctx := context.Background()
	items := stream(600)
	want := reference(t, items)
	if len(want) < 20 {
		t.Fatalf("reference has only %d windows", len(want))
	}

	st := basetest.New()
	w := newWorker(t, st)
	bs := batches(items, 25)
	for i, b := range bs {
		if err := w.HandleBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		if i > 0 && i%4 == 0 { // redeliver the previous batch and this one
			if err := w.HandleBatch(ctx, append(append([]Item{}, bs[i-1]...), b...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := stripTimes(st.Windows()); !reflect.DeepEqual(got, want) {
		t.Fatalf("windows after in-process redelivery differ from a clean run (%d vs %d rows)", len(got), len(want))
	}
}

func TestWorkerCrashAndRestartCountsOnce(t *testing.T) {
	ctx := context.Background()
	items := stream(600)
	want := reference(t, items)
	bs := batches(items, 25)

	st := basetest.New()
	w := newWorker(t, st)
	fail := 0
	st.Fail = func(op string) error {
		if op == "baselines" && fail > 0 {
			fail--
			return errors.New("disk full")
		}
		return nil
	}
	committed := 0 // batches whose offsets the consumer committed
	for i, b := range bs[:14] {
		if i == 9 {
			fail = 1 // events stored, state write fails: no commit
		}
		if err := w.HandleBatch(ctx, b); err != nil {
			// The consumer retries the same batch.
			if err := w.HandleBatch(ctx, b); err != nil {
				t.Fatalf("retry: %v", err)
			}
		}
		committed = i + 1
	}
	// Crash: batches after the last commit were partly processed; a new
	// worker gets them again, starting from the last committed batch minus
	// two (an older commit, as Kafka may redeliver more than one batch).
	w2 := newWorker(t, st)
	for _, b := range bs[committed-2:] {
		if err := w2.HandleBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if got := stripTimes(st.Windows()); !reflect.DeepEqual(got, want) {
		for i := range got {
			if i < len(want) && !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("first differing window:\n got %+v\nwant %+v", got[i], want[i])
			}
		}
		t.Fatalf("windows after crash and restart differ (%d vs %d rows)", len(got), len(want))
	}
	// The restarted worker's profile equals a clean run's.
	ref := newWorker(t, basetest.New())
	for _, b := range bs {
		if err := ref.HandleBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	a, b := ref.Tracker().Get("bot-a"), w2.Tracker().Get("bot-a")
	if a.P != b.P || !reflect.DeepEqual(a.Triples, b.Triples) {
		t.Fatalf("profile after restart differs: N %d vs %d, triples %v vs %v", b.P.N, a.P.N, b.Triples, a.Triples)
	}
}

func TestWorkerFlushAssignedRebuildShow(t *testing.T) {
	ctx := context.Background()
	st := basetest.New()
	w := newWorker(t, st)
	items := stream(300)
	if err := w.HandleBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	// bot-b then goes quiet while bot-a carries on three hours later.
	late := ev("bot-a", t0.Add(20*time.Hour), "tickets.read", "tickets/1")
	late.EventID = "later"
	if err := w.HandleBatch(ctx, []Item{{Event: *late, Partition: 0, Offset: 1000}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if b := w.Tracker().Get("bot-b"); b.W.Start <= t0.Add(15*time.Hour).Unix() {
		t.Fatal("flush should close the quiet agent's window")
	}
	w.Assigned([]int{0})
	if w.Tracker().Get("bot-b") != nil || w.Tracker().Get("bot-a") == nil {
		t.Fatal("Assigned should drop only agents of unowned partitions")
	}
	// Rebuild into a store that holds only the events: the windows it
	// derives must equal the ones the live worker stored.
	before := stripTimes(st.Windows())
	fresh := basetest.New()
	var evs []schemas.AgentEvent
	if err := st.ScanEvents(ctx, nil, time.Time{}, t0.Add(1000*time.Hour), func(e schemas.AgentEvent) error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := fresh.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := Rebuild(ctx, DefaultConfig(), fresh, testInventory(t), nil); err != nil {
		t.Fatal(err)
	}
	if after := stripTimes(fresh.Windows()); len(before) == 0 || !reflect.DeepEqual(after, before) {
		t.Fatalf("rebuilt windows differ from the live ones: %d vs %d", len(after), len(before))
	}
	var out bytes.Buffer
	if err := Show(ctx, &out, st, "bot-a"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Agent bot-a", "learning", "distinct_resources", "helpdesk  tickets.read  tickets/{n}", "10.0.1.0/24", "bot/{v}"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show output lacks %q:\n%s", want, out.String())
		}
	}
	if err := Show(ctx, &out, st, "nobody"); err == nil {
		t.Fatal("show of an unknown agent should fail")
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Window = 7 * time.Minute
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "baseline.window") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewWorker(c, basetest.New(), inventory.Empty(), nil, nil); err == nil {
		t.Fatal("NewWorker should validate")
	}
}

// TestWorkerStoresButDoesNotLearnCredentialsMadeForAnAgent: records a
// known principal made for an agent (a node assuming its role, attributed
// by request parameters) are stored, not counted in its windows: the
// windows are those of the stream without them.
func TestWorkerStoresButDoesNotLearnCredentialsMadeForAnAgent(t *testing.T) {
	items := stream(300)
	want := reference(t, items)
	var mixed []Item
	for i, it := range items {
		mixed = append(mixed, it)
		if i%5 == 0 {
			e := ev(it.Event.AgentID, it.Event.Time, "sts:AssumeRole", "arn:aws:iam::123456789012:role/"+it.Event.AgentID)
			e.EventID, e.PrincipalKind, e.SrcIP = fmt.Sprintf("made-%05d", i), schemas.PrincipalInfrastructure, "10.9.9.9"
			mixed = append(mixed, Item{Event: *e, Partition: it.Partition, Offset: int64(1000 + i)})
		}
	}
	// Offsets must grow per partition: renumber.
	next := map[int]int64{}
	for i := range mixed {
		mixed[i].Offset = next[mixed[i].Partition]
		next[mixed[i].Partition]++
	}
	st := basetest.New()
	w := newWorker(t, st)
	for _, b := range batches(mixed, 25) {
		if err := w.HandleBatch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if got := stripTimes(st.Windows()); !reflect.DeepEqual(got, want) {
		t.Fatalf("windows with the credential records differ from the stream without them (%d vs %d rows)", len(got), len(want))
	}
	made := 0
	if err := st.ScanEvents(context.Background(), nil, t0.Add(-time.Hour), t0.Add(365*24*time.Hour), func(e schemas.AgentEvent) error {
		if MadeFor(&e) {
			made++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if made != 60 {
		t.Fatalf("%d credential records stored, want 60", made)
	}
}
