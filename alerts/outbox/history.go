package outbox

import (
	"context"
	"time"
)

// ListByAlert returns every notification row of one alert (one per
// receiver and target), oldest first: where it was sent, whether it was
// delivered, failed or held back, and why. The console shows it as the
// incident's notification history.
func (o *Outbox) ListByAlert(ctx context.Context, alertID string) ([]*Notification, error) {
	return o.query(ctx, `SELECT `+notificationCols+` FROM notifications WHERE alert_id = ? ORDER BY created_at, id`, alertID)
}

// ListUpdatedSince returns the notifications changed at or after since,
// in the order they changed: what the alerts stage copies into the store
// for the consoles that cannot read this file.
func (o *Outbox) ListUpdatedSince(ctx context.Context, since time.Time) ([]*Notification, error) {
	return o.query(ctx, `SELECT `+notificationCols+` FROM notifications WHERE updated_at >= ? ORDER BY updated_at, id`, nanos(since))
}
