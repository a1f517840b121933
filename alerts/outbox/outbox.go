// Package outbox is the alert dispatcher's durable work queue: a local
// SQLite file holding one notification row per alert and receiver (with
// its delivery state, attempts and the receiver's message coordinates),
// the latest state of each alert (for inhibition and coarse dedup keys)
// and silences.
//
// The outbox stays a local SQLite file even when the rest of agentwatch
// runs on ClickHouse. A work queue needs transactions, row updates and
// read-your-writes: claim a row, mark it delivered, bump its attempts.
// ClickHouse offers none of these (no transactions, mutations are
// asynchronous and heavy, ReplacingMergeTree collapses rows only
// eventually), so the queue would either lose notifications or deliver
// them twice. A file beside the dispatcher is transactional, survives a
// crash, and needs no extra service.
package outbox

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
)

// Notification states.
const (
	StatePending    = "pending"    // waiting for its next attempt
	StateDelivered  = "delivered"  // the receiver accepted the latest version
	StateFailed     = "failed"     // permanent error or gave up; listed and retryable by hand
	StateSuppressed = "suppressed" // silenced or inhibited; kept so nothing vanishes unseen
)

// Outbox is an open outbox database. It is safe for concurrent use.
type Outbox struct {
	db   *sql.DB
	path string
}

// Open opens (creating if needed) the outbox at path and applies its
// migrations. Writes are serialised through one connection: the outbox
// sees a handful of writes per alert, and one writer rules out
// SQLITE_BUSY between our own goroutines; busy_timeout covers other
// processes (the `agentwatch silence` command) touching the same file.
func Open(path string) (*Outbox, error) {
	if path == "" {
		return nil, errors.New("open outbox: path is empty")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open outbox: create directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	o := &Outbox{db: db, path: path}
	if err := o.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	return o, nil
}

// Path is the file the outbox lives in.
func (o *Outbox) Path() string { return o.path }

// Close releases the database.
func (o *Outbox) Close() error {
	if o == nil || o.db == nil {
		return nil
	}
	return o.db.Close()
}

// migrations are applied in order, each once; a version is recorded in
// the same transaction as its statements.
var migrations = []string{
	`CREATE TABLE notifications (
		id               INTEGER PRIMARY KEY AUTOINCREMENT,
		receiver         TEXT    NOT NULL,
		target           TEXT    NOT NULL DEFAULT '',
		notify_key       TEXT    NOT NULL,
		alert_id         TEXT    NOT NULL,
		alert_json       TEXT    NOT NULL,
		version          INTEGER NOT NULL DEFAULT 1,
		state            TEXT    NOT NULL,
		attempts         INTEGER NOT NULL DEFAULT 0,
		first_attempt_at INTEGER NOT NULL DEFAULT 0,
		next_attempt_at  INTEGER NOT NULL,
		last_error       TEXT    NOT NULL DEFAULT '',
		group_interval   INTEGER NOT NULL DEFAULT 0,
		repeat_interval  INTEGER NOT NULL DEFAULT 0,
		sent_status      TEXT    NOT NULL DEFAULT '',
		sent_severity    TEXT    NOT NULL DEFAULT '',
		sent_count       INTEGER NOT NULL DEFAULT 0,
		slack_channel    TEXT    NOT NULL DEFAULT '',
		slack_ts         TEXT    NOT NULL DEFAULT '',
		last_sent_at     INTEGER NOT NULL DEFAULT 0,
		enqueued_at      INTEGER NOT NULL,
		created_at       INTEGER NOT NULL,
		updated_at       INTEGER NOT NULL,
		UNIQUE (receiver, target, notify_key)
	);
	CREATE INDEX notifications_due ON notifications (state, receiver, next_attempt_at);
	CREATE TABLE alert_state (
		dedup_key  TEXT PRIMARY KEY,
		agent_id   TEXT NOT NULL,
		detector   TEXT NOT NULL,
		status     TEXT NOT NULL,
		alert_json TEXT NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX alert_state_agent ON alert_state (agent_id, status);
	CREATE TABLE silences (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		matchers   TEXT    NOT NULL,
		comment    TEXT    NOT NULL,
		created_by TEXT    NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		starts_at  INTEGER NOT NULL,
		ends_at    INTEGER NOT NULL,
		expired_at INTEGER NOT NULL DEFAULT 0
	);`,
	// Posture digests (issue 15): one row per owner and scheduled slot,
	// holding the finding ids the digest reported, so the next one says
	// what is new, fixed or still open, across restarts.
	`CREATE TABLE digests (
		owner       TEXT    NOT NULL,
		slot        INTEGER NOT NULL,
		finding_ids TEXT    NOT NULL,
		state       TEXT    NOT NULL,
		channel     TEXT    NOT NULL DEFAULT '',
		ts          TEXT    NOT NULL DEFAULT '',
		attempts    INTEGER NOT NULL DEFAULT 0,
		last_error  TEXT    NOT NULL DEFAULT '',
		updated_at  INTEGER NOT NULL,
		PRIMARY KEY (owner, slot)
	);`,
	// Silences taken in the console or CLI are rows of the store's actions
	// table first; the alerts stage copies them here, once each.
	`ALTER TABLE silences ADD COLUMN action_id TEXT NOT NULL DEFAULT '';
	CREATE UNIQUE INDEX silences_action ON silences (action_id) WHERE action_id != ''`,
	// The alerts stage copies notification states changed since its last
	// copy into the store, for consoles on other hosts.
	`CREATE INDEX notifications_updated ON notifications (updated_at)`,
}

func (o *Outbox) migrate(ctx context.Context) error {
	if _, err := o.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS outbox_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	for i, stmt := range migrations {
		v := i + 1
		err := o.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, s := range strings.Split(stmt, ";") {
				if strings.TrimSpace(s) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO outbox_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

func (o *Outbox) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
