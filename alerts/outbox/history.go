package outbox

import "context"

// ListByAlert returns every notification row of one alert (one per
// receiver and target), oldest first: where it was sent, whether it was
// delivered, failed or held back, and why. The console shows it as the
// incident's notification history.
func (o *Outbox) ListByAlert(ctx context.Context, alertID string) ([]*Notification, error) {
	return o.query(ctx, `SELECT `+notificationCols+` FROM notifications WHERE alert_id = ? ORDER BY created_at, id`, alertID)
}
