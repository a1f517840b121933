package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

const upsertNotificationSQL = `INSERT INTO alert_notifications (alert_id, receiver, target, state, attempts,
	sent_count, last_sent_at, last_error, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (alert_id, receiver, target) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
	sent_count = excluded.sent_count, last_sent_at = excluded.last_sent_at, last_error = excluded.last_error,
	updated_at = excluded.updated_at
	WHERE excluded.updated_at >= alert_notifications.updated_at`

// UpsertNotifications stores notification states; an older update of the
// same incident, receiver and target than the one stored is ignored.
func (s *Store) UpsertNotifications(ctx context.Context, rows []schemas.NotificationRow) error {
	return s.batch(ctx, "alert_notifications", upsertNotificationSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		return []any{r.AlertID, r.Receiver, r.Target, r.State, r.Attempts, r.Count, nullTime(&r.LastSentAt),
			r.LastError, store.FormatTime(r.UpdatedAt)}, nil
	})
}

// LoadNotifications returns one incident's notification states.
func (s *Store) LoadNotifications(ctx context.Context, alertID string) ([]schemas.NotificationRow, error) {
	q := `SELECT alert_id, receiver, target, state, attempts, sent_count, last_sent_at, last_error, updated_at
		FROM alert_notifications WHERE alert_id = ? ORDER BY receiver, target`
	var out []schemas.NotificationRow
	err := s.each(ctx, "load notifications", q, []any{alertID}, func(sc scanner) error {
		var r schemas.NotificationRow
		var sent sql.NullString
		var updated string
		if err := sc.Scan(&r.AlertID, &r.Receiver, &r.Target, &r.State, &r.Attempts, &r.Count, &sent, &r.LastError, &updated); err != nil {
			return err
		}
		if err := parseTimes(map[*time.Time]string{&r.UpdatedAt: updated}); err != nil {
			return err
		}
		t, err := parseNullTime(sent)
		if err != nil {
			return err
		}
		if t != nil {
			r.LastSentAt = *t
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
