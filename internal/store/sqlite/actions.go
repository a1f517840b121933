package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

const insertActionSQL = `INSERT OR IGNORE INTO actions (id, time, actor, action, alert_id, agent_id, detector,
	subject, subjects, dedup_key, boundary, reason, expires_at, matchers, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// InsertActions records actions; an id already stored is ignored.
func (s *Store) InsertActions(ctx context.Context, rows []schemas.ActionRow) error {
	return s.batch(ctx, "actions", insertActionSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		matchers, err := store.EncodeJSON(r.Matchers, "[]")
		if err != nil {
			return nil, err
		}
		subjects, err := store.EncodeJSON(r.Subjects, "[]")
		if err != nil {
			return nil, err
		}
		return []any{r.ID, store.FormatTime(r.Time), r.Actor, r.Action, r.AlertID, r.AgentID, r.Detector,
			r.Subject, subjects, r.DedupKey, r.Boundary, r.Reason, nullTime(r.ExpiresAt), matchers, r.Detail}, nil
	})
}

// LoadActions returns the actions matching f, newest first.
func (s *Store) LoadActions(ctx context.Context, f store.ActionFilter) ([]schemas.ActionRow, error) {
	q := `SELECT id, time, actor, action, alert_id, agent_id, detector, subject, subjects, dedup_key, boundary,
		reason, expires_at, matchers, detail FROM actions WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, v string }{{"agent_id", f.AgentID}, {"alert_id", f.AlertID}, {"action", f.Action}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		q += ` AND time >= ?`
		args = append(args, store.FormatTime(f.Since))
	}
	q += ` ORDER BY time DESC, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var out []schemas.ActionRow
	err := s.each(ctx, "load actions", q, args, func(sc scanner) error {
		var r schemas.ActionRow
		var tm, matchers, subjects string
		var expires sql.NullString
		if err := sc.Scan(&r.ID, &tm, &r.Actor, &r.Action, &r.AlertID, &r.AgentID, &r.Detector, &r.Subject,
			&subjects, &r.DedupKey, &r.Boundary, &r.Reason, &expires, &matchers, &r.Detail); err != nil {
			return err
		}
		var err error
		if err = parseTimes(map[*time.Time]string{&r.Time: tm}); err != nil {
			return err
		}
		if r.ExpiresAt, err = parseNullTime(expires); err != nil {
			return err
		}
		if err := store.DecodeJSON(matchers, &r.Matchers); err != nil {
			return fmt.Errorf("matchers: %w", err)
		}
		if err := store.DecodeJSON(subjects, &r.Subjects); err != nil {
			return fmt.Errorf("subjects: %w", err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
