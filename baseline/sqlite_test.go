package baseline

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestWorkerOnSQLite runs the worker against the embedded store: a clean
// run, then a restart that is redelivered two batches, must give the same
// windows as the in-memory reference; the state blob must survive the
// State column, and Rebuild and Show must work on it.
func TestWorkerOnSQLite(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	items := stream(400)
	want := reference(t, items)
	bs := batches(items, 25)
	w := newWorker(t, st)
	for _, b := range bs[:10] {
		if err := w.HandleBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	w2 := newWorker(t, st) // restart; Kafka redelivers from an older commit
	for _, b := range bs[8:] {
		if err := w2.HandleBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	load := func() []schemas.WindowRow {
		var got []schemas.WindowRow
		for _, id := range []string{"bot-a", "bot-b"} {
			rows, err := st.LoadWindows(ctx, id, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rows...)
		}
		for i := range got {
			got[i].UpdatedAt = time.Time{}
			got[i].WindowStart, got[i].WindowEnd = got[i].WindowStart.UTC(), got[i].WindowEnd.UTC()
		}
		return got
	}
	if got := load(); !reflect.DeepEqual(got, want) {
		for i := range got {
			if i < len(want) && !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("first differing window:\n got %+v\nwant %+v", got[i], want[i])
			}
		}
		t.Fatalf("windows on sqlite differ from the reference (%d vs %d rows)", len(got), len(want))
	}
	rows, err := st.LoadBaselines(ctx, []string{"bot-a"})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := DecodeState(rows)
	if !ok || s.ID != "bot-a" || s.Profile != w2.Tracker().Get("bot-a").P {
		t.Fatalf("state did not survive the store (ok=%v)", ok)
	}
	if err := Rebuild(ctx, DefaultConfig(), st, testInventory(t), nil); err != nil {
		t.Fatal(err)
	}
	if got := load(); !reflect.DeepEqual(got, want) {
		t.Fatalf("rebuild changed windows (%d vs %d rows)", len(got), len(want))
	}
	var out bytes.Buffer
	if err := Show(ctx, &out, st, "bot-a"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "tickets/{n}") {
		t.Fatalf("show:\n%s", out.String())
	}
}
