package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// InsertActions records actions; a redelivered id is collapsed by reads.
func (s *Store) InsertActions(ctx context.Context, rows []schemas.ActionRow) error {
	return s.insert(ctx, "actions", `INSERT INTO actions (id, time, actor, action, alert_id, agent_id, detector,
		subject, subjects, dedup_key, boundary, reason, expires_at, matchers, detail)`, len(rows), func(b driver.Batch, i int) error {
		r := &rows[i]
		return b.Append(r.ID, r.Time.UTC(), r.Actor, r.Action, r.AlertID, r.AgentID, r.Detector, r.Subject,
			nonNil(r.Subjects), r.DedupKey, r.Boundary, r.Reason, utcPtr(r.ExpiresAt), nonNil(r.Matchers), r.Detail)
	})
}

// LoadActions returns the actions matching f, newest first, one row per id.
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
		q += ` AND time >= toDateTime(?)`
		args = append(args, epoch(f.Since))
	}
	q += ` ORDER BY time DESC, id LIMIT 1 BY id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var out []schemas.ActionRow
	err := s.each(ctx, "load actions", q, args, func(rows driver.Rows) error {
		var r schemas.ActionRow
		if err := rows.Scan(&r.ID, &r.Time, &r.Actor, &r.Action, &r.AlertID, &r.AgentID, &r.Detector, &r.Subject,
			&r.Subjects, &r.DedupKey, &r.Boundary, &r.Reason, &r.ExpiresAt, &r.Matchers, &r.Detail); err != nil {
			return err
		}
		r.Time, r.ExpiresAt = r.Time.UTC(), utcPtr(r.ExpiresAt)
		if len(r.Matchers) == 0 {
			r.Matchers = nil
		}
		if len(r.Subjects) == 0 {
			r.Subjects = nil
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
