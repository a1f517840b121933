package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SilenceRow is one stored silence. Matchers are kept as the text the user
// typed ("agent=support-bot"); the alerts package parses them.
type SilenceRow struct {
	ID        int64
	Matchers  []string
	Comment   string
	CreatedBy string
	CreatedAt time.Time
	StartsAt  time.Time
	EndsAt    time.Time
	// ExpiredAt is set when a silence was ended by hand before EndsAt.
	ExpiredAt time.Time
	// ActionID is the actions-table row the silence was made from, if
	// any: a silence is stored once per action.
	ActionID string
}

// AddSilence stores s and returns its id. A silence made from an action
// (ActionID set) is stored once: adding it again returns the first id.
func (o *Outbox) AddSilence(ctx context.Context, s SilenceRow) (int64, error) {
	mj, err := json.Marshal(s.Matchers)
	if err != nil {
		return 0, fmt.Errorf("add silence: %w", err)
	}
	var id int64
	err = o.tx(ctx, func(tx *sql.Tx) error {
		if s.ActionID != "" {
			err := tx.QueryRowContext(ctx, `SELECT id FROM silences WHERE action_id = ?`, s.ActionID).Scan(&id)
			if err == nil || !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO silences (matchers, comment, created_by, created_at, starts_at, ends_at, action_id)
			VALUES (?,?,?,?,?,?,?)`, string(mj), s.Comment, s.CreatedBy, nanos(s.CreatedAt), nanos(s.StartsAt), nanos(s.EndsAt), s.ActionID)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add silence: %w", err)
	}
	return id, nil
}

// ListSilences returns silences by id; with activeAt set, only those in
// force at that instant.
func (o *Outbox) ListSilences(ctx context.Context, activeAt time.Time) ([]SilenceRow, error) {
	q := `SELECT id, matchers, comment, created_by, created_at, starts_at, ends_at, expired_at, action_id FROM silences`
	var args []any
	if !activeAt.IsZero() {
		q += ` WHERE starts_at <= ? AND ends_at > ? AND expired_at = 0`
		args = append(args, nanos(activeAt), nanos(activeAt))
	}
	rows, err := o.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rows.Close()
	var out []SilenceRow
	for rows.Next() {
		var s SilenceRow
		var mj string
		var c, st, e, x int64
		if err := rows.Scan(&s.ID, &mj, &s.Comment, &s.CreatedBy, &c, &st, &e, &x, &s.ActionID); err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		if err := json.Unmarshal([]byte(mj), &s.Matchers); err != nil {
			return nil, fmt.Errorf("list silences: silence %d: decode matchers: %w", s.ID, err)
		}
		s.CreatedAt, s.StartsAt, s.EndsAt, s.ExpiredAt = fromNanos(c), fromNanos(st), fromNanos(e), fromNanos(x)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ExpireSilence ends silence id at now. Expiring an already expired
// silence is an error, so a typo in the id is not silently accepted.
func (o *Outbox) ExpireSilence(ctx context.Context, id int64, now time.Time) error {
	res, err := o.db.ExecContext(ctx, `UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at = 0 AND ends_at > ?`,
		nanos(now), id, nanos(now))
	if err != nil {
		return fmt.Errorf("expire silence %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("expire silence %d: no active silence with that id", id)
	}
	return nil
}
