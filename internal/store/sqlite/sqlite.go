// Package sqlite is the embedded-mode store: one SQLite file
// (modernc.org/sqlite, pure Go) with the same tables and columns as the
// ClickHouse store.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

var _ store.Store = (*Store)(nil)

// ErrReadOnly is returned by writes on a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("sqlite store is read-only")

// Store is a SQLite-backed store.Store. Writes go through one connection
// (SQLite has one writer at a time anyway, and one connection avoids
// SQLITE_BUSY between our own writers); reads use a separate read-only
// pool, which WAL lets run beside the writer.
type Store struct {
	path string
	rw   *sql.DB // nil when opened read-only
	ro   *sql.DB
}

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 10 * time.Second

// Open opens (creating if needed) the database file at path, in WAL mode
// with synchronous=FULL so that a committed write survives a power loss,
// and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open sqlite store: path is empty")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite store: create directory: %w", err)
		}
	}
	rw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	rw.SetMaxOpenConns(1)
	if err := rw.PingContext(ctx); err != nil {
		rw.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s := &Store{path: path, rw: rw}
	if err := s.Migrate(ctx); err != nil {
		rw.Close()
		return nil, err
	}
	// The read-only pool is opened after migrating, so that the file and
	// its WAL exist when it attaches.
	if s.ro, err = openRO(ctx, path); err != nil {
		rw.Close()
		return nil, err
	}
	return s, nil
}

// OpenReadOnly opens an existing database for reading only (as `agentwatch
// sql` does): every write, including through Query, is refused.
func OpenReadOnly(path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open sqlite store read-only: %w", err)
	}
	ro, err := openRO(context.Background(), path)
	if err != nil {
		return nil, err
	}
	return &Store{path: path, ro: ro}, nil
}

func openRO(ctx context.Context, path string) (*sql.DB, error) {
	ro, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s read-only: %w", path, err)
	}
	if err := ro.PingContext(ctx); err != nil {
		ro.Close()
		return nil, fmt.Errorf("open sqlite store %s read-only: %w", path, err)
	}
	return ro, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	if readOnly {
		q.Add("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		// The events indexes take a page write per agent per batch: with
		// SQLite's 2 MiB default cache, a batch spilled pages mid-way and
		// read them back. 64 MiB holds the hot index pages of thousands of
		// agents; a WAL of up to 10,000 pages (40 MiB) before a checkpoint
		// writes a hot page back once per checkpoint rather than once per
		// 1,000 pages. BenchmarkInsertEvents: about a fifth less CPU per event.
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "wal_autocheckpoint(10000)")
		q.Add("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Backend implements store.Store.
func (s *Store) Backend() string { return "sqlite" }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	if s.rw != nil {
		errs = append(errs, s.rw.Close())
	}
	if s.ro != nil {
		errs = append(errs, s.ro.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}

// Migrate applies the pending migrations of schemas/sql/sqlite, each in its
// own transaction together with its schema_migrations row, so a failed
// migration leaves nothing half-applied.
func (s *Store) Migrate(ctx context.Context) error {
	if s.rw == nil {
		return fmt.Errorf("migrate: %w", ErrReadOnly)
	}
	migs, err := store.LoadMigrations(schemas.SQL, "sql/sqlite")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := s.rw.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.rw.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m store.Migration) error {
	tx, err := s.rw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", m.File, err)
	}
	defer tx.Rollback()
	for i, stmt := range m.Statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate %s: statement %d: %w", m.File, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, store.FormatTime(time.Now())); err != nil {
		return fmt.Errorf("migrate %s: record: %w", m.File, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", m.File, err)
	}
	return nil
}

// Query runs one read-only statement on the read-only pool; SQLite itself
// refuses writes there (mode=ro, PRAGMA query_only).
func (s *Store) Query(ctx context.Context, query string, args ...any) (*store.Result, error) {
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("query: columns: %w", err)
	}
	res := &store.Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query: scan: %w", err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// DropPartitionsBefore deletes the events and windows of every whole UTC
// day before t's day and returns those days (YYYY-MM-DD), oldest first.
func (s *Store) DropPartitionsBefore(ctx context.Context, t time.Time) ([]string, error) {
	if s.rw == nil {
		return nil, fmt.Errorf("drop partitions: %w", ErrReadOnly)
	}
	cut := store.FormatTime(t.UTC().Truncate(24 * time.Hour))
	tx, err := s.rw.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("drop partitions: begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT substr(time, 1, 10) AS day FROM events WHERE time < ?
		UNION SELECT substr(window_start, 1, 10) FROM agent_windows WHERE window_start < ?
		ORDER BY day`, cut, cut)
	if err != nil {
		return nil, fmt.Errorf("drop partitions: list days: %w", err)
	}
	var days []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return nil, fmt.Errorf("drop partitions: list days: %w", err)
		}
		days = append(days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("drop partitions: list days: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE time < ?`, cut); err != nil {
		return nil, fmt.Errorf("drop partitions: delete events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM agent_windows WHERE window_start < ?`, cut); err != nil {
		return nil, fmt.Errorf("drop partitions: delete windows: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("drop partitions: commit: %w", err)
	}
	return days, nil
}

// inClause returns "(?, ?, ...)" for n arguments.
func inClause(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
