package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/storetest"
	"github.com/agentwatch/agentwatch/schemas"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "agentwatch.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestOpenReadOnlySeesDataAndRefusesWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aw.db")
	rw, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ev := storetest.Event("e1", "agent-a", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := rw.InsertEvents(ctx, []schemas.AgentEvent{ev}); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	defer ro.Close()
	res, err := ro.Query(ctx, "SELECT event_id, time FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != "e1" || res.Rows[0][1] != "2026-01-02 03:04:05" {
		t.Errorf("read-only query = %v, want [[e1 2026-01-02 03:04:05]]", res.Rows)
	}
	if err := ro.InsertEvents(ctx, []schemas.AgentEvent{ev}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("InsertEvents on read-only store: %v, want ErrReadOnly", err)
	}
	if _, err := ro.Query(ctx, "DELETE FROM events"); err == nil {
		t.Error("DELETE through a read-only store succeeded")
	}
	if _, err := ro.DropPartitionsBefore(ctx, time.Now()); !errors.Is(err, ErrReadOnly) {
		t.Errorf("DropPartitionsBefore on read-only store: %v, want ErrReadOnly", err)
	}
}

func TestOpenReadOnlyMissingFile(t *testing.T) {
	if _, err := OpenReadOnly(filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("OpenReadOnly of a missing file succeeded; it must not create one")
	}
}

func TestMigrationsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aw.db")
	for i := 0; i < 2; i++ { // the second Open finds everything applied
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Query(ctx, "SELECT version, name FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) == 0 || res.Rows[0][0] != int64(1) || res.Rows[0][1] != "init" {
			t.Errorf("open %d: schema_migrations = %v, want version 1 init first", i+1, res.Rows)
		}
		migs, err := store.LoadMigrations(schemas.SQL, "sql/sqlite")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(migs) {
			t.Errorf("open %d: %d migrations recorded, want %d", i+1, len(res.Rows), len(migs))
		}
		s.Close()
	}
}

func TestDocumentedQueries(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	storetest.RunDocumentedQueries(t, s, "../../../docs/queries.sql", store.DialectSQLite)
}

func TestSplitValues(t *testing.T) {
	head, tuple, tail := splitValues("INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING")
	if head != "INSERT INTO t (a, b) VALUES " || tuple != "(?, ?)" || tail != " ON CONFLICT (a) DO NOTHING" {
		t.Errorf("split = %q %q %q", head, tuple, tail)
	}
	if _, tuple, _ := splitValues("INSERT INTO t (a) VALUES (json(?))"); tuple != "" {
		t.Errorf("a tuple with expressions was split: %q", tuple)
	}
}

// TestEventsMigrationKeepsRowsAndDedup opens a store left at migration 1
// (events keyed by event_id) with events in it: migration 2 keeps every
// row, and a redelivered event is still ignored afterwards.
func TestEventsMigrationKeepsRowsAndDedup(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	migs, err := store.LoadMigrations(schemas.SQL, "sql/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	v1 := append([]string{`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 'init', '2026-01-01 00:00:00')`}, migs[0].Statements...)
	for _, q := range v1 {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	evs := []schemas.AgentEvent{storetest.Event("e1", "agent-a", at), storetest.Event("e2", "agent-b", at.Add(time.Second))}
	// Written as a binary of version 1 wrote them: its columns only.
	for _, ev := range evs {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (event_id, time, time_nanos, source, agent_id, action, system,
			resource, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.EventID, store.FormatTime(ev.Time), ev.Time.Nanosecond(),
			ev.Source, ev.AgentID, ev.Action, ev.System, ev.Resource, ev.Outcome); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open at version 1: %v", err)
	}
	defer s.Close()
	if err := s.InsertEvents(ctx, evs); err != nil { // redelivered
		t.Fatal(err)
	}
	res, err := s.Query(ctx, "SELECT event_id, agent_id, time, time_nanos, resource FROM events ORDER BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{"e1", "agent-a", "2026-01-02 03:04:05", int64(600), "arn:aws:s3:::b/k"}, {"e2", "agent-b", "2026-01-02 03:04:06", int64(600), "arn:aws:s3:::b/k"}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("events after migration and redelivery = %v, want %v", res.Rows, want)
	}
	res, err = s.Query(ctx, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[events_agent_time] [events_time]]" {
		t.Errorf("indexes on events = %s, want events_agent_time and events_time only", got)
	}
}
