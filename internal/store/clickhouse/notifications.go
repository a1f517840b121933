package clickhouse

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agentwatch/agentwatch/schemas"
)

// UpsertNotifications stores notification states; reads take the highest
// version (the update time) of each incident, receiver and target.
func (s *Store) UpsertNotifications(ctx context.Context, rows []schemas.NotificationRow) error {
	return s.insert(ctx, "alert_notifications", `INSERT INTO alert_notifications (alert_id, receiver, target, state,
		attempts, sent_count, last_sent_at, last_error, updated_at, version)`, len(rows), func(b driver.Batch, i int) error {
		r := &rows[i]
		return b.Append(r.AlertID, r.Receiver, r.Target, r.State, int64(r.Attempts), r.Count, utcPtr(&r.LastSentAt),
			r.LastError, r.UpdatedAt.UTC(), uint64(max(r.UpdatedAt.UnixNano(), 0)))
	})
}

// LoadNotifications returns one incident's notification states.
func (s *Store) LoadNotifications(ctx context.Context, alertID string) ([]schemas.NotificationRow, error) {
	q := `SELECT alert_id, receiver, target, state, attempts, sent_count, last_sent_at, last_error, updated_at
		FROM (SELECT * FROM alert_notifications WHERE alert_id = ? ORDER BY version DESC LIMIT 1 BY alert_id, receiver, target)
		ORDER BY receiver, target`
	var out []schemas.NotificationRow
	err := s.each(ctx, "load notifications", q, []any{alertID}, func(rows driver.Rows) error {
		var r schemas.NotificationRow
		var attempts int64
		var sent *time.Time
		if err := rows.Scan(&r.AlertID, &r.Receiver, &r.Target, &r.State, &attempts, &r.Count, &sent, &r.LastError, &r.UpdatedAt); err != nil {
			return err
		}
		r.Attempts, r.UpdatedAt = int(attempts), r.UpdatedAt.UTC()
		if sent != nil {
			r.LastSentAt = sent.UTC()
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
