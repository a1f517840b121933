package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/schemas"
)

// Notification is one row: the latest version of one alert (or of one
// coarse dedup key) for one receiver and target.
type Notification struct {
	ID       int64         `json:"id"`
	Receiver string        `json:"receiver"`
	Target   string        `json:"target,omitempty"`
	Key      string        `json:"key"`
	Alert    schemas.Alert `json:"alert"`
	// Version grows with every Submit of the key, so a delivery finishing
	// after a newer Submit does not mark the newer version delivered.
	Version        int64         `json:"version"`
	State          string        `json:"state"`
	Attempts       int           `json:"attempts"`
	FirstAttemptAt time.Time     `json:"first_attempt_at,omitzero"`
	NextAttemptAt  time.Time     `json:"next_attempt_at"`
	LastError      string        `json:"last_error,omitempty"`
	GroupInterval  time.Duration `json:"group_interval"`
	RepeatInterval time.Duration `json:"repeat_interval"`
	// Sent is what the receiver has already been told (and where).
	Sent       notify.State `json:"sent"`
	LastSentAt time.Time    `json:"last_sent_at,omitzero"`
	// EnqueuedAt is when the current version was submitted; delivery
	// latency is measured from it.
	EnqueuedAt time.Time `json:"enqueued_at"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

const notificationCols = `id, receiver, target, notify_key, alert_json, version, state, attempts,
	first_attempt_at, next_attempt_at, last_error, group_interval, repeat_interval, sent_status,
	sent_severity, sent_count, slack_channel, slack_ts, last_sent_at, enqueued_at, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanNotification(s scanner) (*Notification, error) {
	var n Notification
	var alertJSON, sev string
	var first, next, gi, ri, lastSent, enq, created, updated int64
	err := s.Scan(&n.ID, &n.Receiver, &n.Target, &n.Key, &alertJSON, &n.Version, &n.State, &n.Attempts,
		&first, &next, &n.LastError, &gi, &ri, &n.Sent.Status, &sev, &n.Sent.Count,
		&n.Sent.SlackChannel, &n.Sent.SlackTS, &lastSent, &enq, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(alertJSON), &n.Alert); err != nil {
		return nil, fmt.Errorf("notification %d: decode alert: %w", n.ID, err)
	}
	n.Sent.Severity = schemas.Severity(sev)
	n.Sent.Sent = lastSent != 0
	n.FirstAttemptAt, n.NextAttemptAt = fromNanos(first), fromNanos(next)
	n.GroupInterval, n.RepeatInterval = time.Duration(gi), time.Duration(ri)
	n.LastSentAt, n.EnqueuedAt = fromNanos(lastSent), fromNanos(enq)
	n.CreatedAt, n.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &n, nil
}

// Tx is one outbox transaction; Submit runs all its writes in one, so an
// alert's notifications become durable together or not at all.
type Tx struct {
	ctx context.Context
	tx  *sql.Tx
}

// Update runs fn in a transaction and commits it; nil means durable.
func (o *Outbox) Update(ctx context.Context, fn func(*Tx) error) error {
	return o.tx(ctx, func(tx *sql.Tx) error { return fn(&Tx{ctx: ctx, tx: tx}) })
}

// Get returns the row for (receiver, target, key), or nil.
func (t *Tx) Get(receiver, target, key string) (*Notification, error) {
	row := t.tx.QueryRowContext(t.ctx, `SELECT `+notificationCols+` FROM notifications
		WHERE receiver = ? AND target = ? AND notify_key = ?`, receiver, target, key)
	n, err := scanNotification(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get notification: %w", err)
	}
	return n, nil
}

// Put inserts n (ID 0) or rewrites the row with n.ID, setting n.ID.
func (t *Tx) Put(n *Notification) error {
	aj, err := json.Marshal(n.Alert)
	if err != nil {
		return fmt.Errorf("put notification: encode alert: %w", err)
	}
	args := []any{n.Receiver, n.Target, n.Key, n.Alert.ID, string(aj), n.Version, n.State, n.Attempts,
		nanos(n.FirstAttemptAt), nanos(n.NextAttemptAt), n.LastError, int64(n.GroupInterval), int64(n.RepeatInterval),
		n.Sent.Status, string(n.Sent.Severity), n.Sent.Count, n.Sent.SlackChannel, n.Sent.SlackTS,
		nanos(n.LastSentAt), nanos(n.EnqueuedAt), nanos(n.CreatedAt), nanos(n.UpdatedAt)}
	if n.ID == 0 {
		res, err := t.tx.ExecContext(t.ctx, `INSERT INTO notifications (receiver, target, notify_key, alert_id,
			alert_json, version, state, attempts, first_attempt_at, next_attempt_at, last_error, group_interval,
			repeat_interval, sent_status, sent_severity, sent_count, slack_channel, slack_ts, last_sent_at,
			enqueued_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
		if err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
		n.ID, err = res.LastInsertId()
		return err
	}
	_, err = t.tx.ExecContext(t.ctx, `UPDATE notifications SET receiver=?, target=?, notify_key=?, alert_id=?,
		alert_json=?, version=?, state=?, attempts=?, first_attempt_at=?, next_attempt_at=?, last_error=?,
		group_interval=?, repeat_interval=?, sent_status=?, sent_severity=?, sent_count=?, slack_channel=?,
		slack_ts=?, last_sent_at=?, enqueued_at=?, created_at=?, updated_at=? WHERE id=?`, append(args, n.ID)...)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	return nil
}

// PutAlertState records the latest state of an alert by dedup key.
func (t *Tx) PutAlertState(a schemas.Alert, now time.Time) error {
	aj, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("put alert state: %w", err)
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO alert_state (dedup_key, agent_id, detector, status, alert_json, updated_at)
		VALUES (?,?,?,?,?,?) ON CONFLICT (dedup_key) DO UPDATE SET agent_id=excluded.agent_id,
		detector=excluded.detector, status=excluded.status, alert_json=excluded.alert_json, updated_at=excluded.updated_at`,
		a.DedupKey, a.Identity.AgentID, a.Detector, a.Status, string(aj), nanos(now))
	if err != nil {
		return fmt.Errorf("put alert state %q: %w", a.DedupKey, err)
	}
	return nil
}

// FiringAlerts returns the firing alerts of agentID (for inhibition and
// for deciding whether a coarse PagerDuty key may resolve).
func (t *Tx) FiringAlerts(agentID string) ([]schemas.Alert, error) {
	return firingAlerts(t.ctx, t.tx, agentID)
}

// FiringAlerts is Tx.FiringAlerts outside a transaction, for the check
// made again just before delivery.
func (o *Outbox) FiringAlerts(ctx context.Context, agentID string) ([]schemas.Alert, error) {
	return firingAlerts(ctx, o.db, agentID)
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func firingAlerts(ctx context.Context, q querier, agentID string) ([]schemas.Alert, error) {
	rows, err := q.QueryContext(ctx, `SELECT alert_json FROM alert_state WHERE agent_id = ? AND status = ? ORDER BY dedup_key`,
		agentID, schemas.StatusFiring)
	if err != nil {
		return nil, fmt.Errorf("load firing alerts: %w", err)
	}
	defer rows.Close()
	var out []schemas.Alert
	for rows.Next() {
		var s string
		var a schemas.Alert
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("load firing alerts: %w", err)
		}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			return nil, fmt.Errorf("load firing alerts: decode: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Due returns up to limit pending rows of receiver whose next attempt is
// at or before now, oldest first.
func (o *Outbox) Due(ctx context.Context, receiver string, now time.Time, limit int) ([]*Notification, error) {
	return o.query(ctx, `SELECT `+notificationCols+` FROM notifications WHERE state = ? AND receiver = ?
		AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, StatePending, receiver, nanos(now), limit)
}

// NextDue returns when receiver's earliest pending row is due.
func (o *Outbox) NextDue(ctx context.Context, receiver string) (time.Time, bool, error) {
	var n sql.NullInt64
	err := o.db.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM notifications WHERE state = ? AND receiver = ?`,
		StatePending, receiver).Scan(&n)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due notification: %w", err)
	}
	return time.Unix(0, n.Int64).UTC(), n.Valid, nil
}

// Get returns the notification with id.
func (o *Outbox) Get(ctx context.Context, id int64) (*Notification, error) {
	n, err := scanNotification(o.db.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("notification %d: not found", id)
	}
	return n, err
}

// List returns the rows in any of states (all rows when none), by id.
func (o *Outbox) List(ctx context.Context, states ...string) ([]*Notification, error) {
	q := `SELECT ` + notificationCols + ` FROM notifications`
	var args []any
	if len(states) > 0 {
		q += ` WHERE state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	return o.query(ctx, q+` ORDER BY id`, args...)
}

func (o *Outbox) query(ctx context.Context, q string, args ...any) ([]*Notification, error) {
	rows, err := o.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query notifications: %w", err)
	}
	defer rows.Close()
	var out []*Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("query notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkDelivered records that version of row id reached the receiver. If a
// newer version was submitted meanwhile the row stays pending for it, but
// what was sent (and the Slack ts) is still recorded.
func (o *Outbox) MarkDelivered(ctx context.Context, id, version int64, st notify.State, now time.Time) error {
	_, err := o.db.ExecContext(ctx, `UPDATE notifications SET
		state = CASE WHEN version = ? THEN ? ELSE state END,
		attempts = CASE WHEN version = ? THEN 0 ELSE attempts END,
		first_attempt_at = CASE WHEN version = ? THEN 0 ELSE first_attempt_at END,
		last_error = CASE WHEN version = ? THEN '' ELSE last_error END,
		sent_status = ?, sent_severity = ?, sent_count = ?, slack_channel = ?, slack_ts = ?,
		last_sent_at = ?, updated_at = ? WHERE id = ?`,
		version, StateDelivered, version, version, version,
		st.Status, string(st.Severity), st.Count, st.SlackChannel, st.SlackTS, nanos(now), nanos(now), id)
	if err != nil {
		return fmt.Errorf("mark notification %d delivered: %w", id, err)
	}
	return nil
}

// MarkRetry schedules the next attempt of version of row id.
func (o *Outbox) MarkRetry(ctx context.Context, id, version int64, attempts int, firstAttempt, next time.Time, lastErr string, now time.Time) error {
	_, err := o.db.ExecContext(ctx, `UPDATE notifications SET attempts = ?, first_attempt_at = ?,
		next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND version = ? AND state = ?`,
		attempts, nanos(firstAttempt), nanos(next), lastErr, nanos(now), id, version, StatePending)
	if err != nil {
		return fmt.Errorf("reschedule notification %d: %w", id, err)
	}
	return nil
}

// MarkFailed gives up on version of row id with reason.
func (o *Outbox) MarkFailed(ctx context.Context, id, version int64, attempts int, reason string, now time.Time) error {
	_, err := o.db.ExecContext(ctx, `UPDATE notifications SET state = ?, attempts = ?, last_error = ?,
		updated_at = ? WHERE id = ? AND version = ? AND state = ?`,
		StateFailed, attempts, reason, nanos(now), id, version, StatePending)
	if err != nil {
		return fmt.Errorf("mark notification %d failed: %w", id, err)
	}
	return nil
}

// Retry makes failed rows pending again, due now, with a fresh attempt
// budget. Every id must name a failed row.
func (o *Outbox) Retry(ctx context.Context, now time.Time, ids ...int64) error {
	return o.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE notifications SET state = ?, attempts = 0, first_attempt_at = 0,
				next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
				StatePending, nanos(now), nanos(now), id, StateFailed)
			if err != nil {
				return fmt.Errorf("retry notification %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("retry notification %d: no failed notification with that id", id)
			}
		}
		return nil
	})
}

// Counts returns the number of rows by state.
func (o *Outbox) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM notifications GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count notifications: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// MarkSuppressed records that version of row id will not be sent, and why.
func (o *Outbox) MarkSuppressed(ctx context.Context, id, version int64, reason string, now time.Time) error {
	_, err := o.db.ExecContext(ctx, `UPDATE notifications SET state = ?, last_error = ?, updated_at = ?
		WHERE id = ? AND version = ? AND state = ?`, StateSuppressed, reason, nanos(now), id, version, StatePending)
	if err != nil {
		return fmt.Errorf("mark notification %d suppressed: %w", id, err)
	}
	return nil
}

// Prune deletes delivered and suppressed notifications and alert states
// not updated since before, so the file does not grow without bound.
// Pending and failed rows are kept: they are work still owed (failed
// ones until someone retries them or gives them up by hand).
func (o *Outbox) Prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := o.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM notifications WHERE state IN (?, ?) AND updated_at < ?`,
			StateDelivered, StateSuppressed, nanos(before))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM alert_state WHERE updated_at < ?`, nanos(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return n, nil
}
