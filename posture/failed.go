package posture

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/alerts/outbox"
)

// LoadFailed reads the notifications that failed for good from the alerts
// outbox at path; a missing outbox (alerts never ran here) has none.
func LoadFailed(ctx context.Context, path string) ([]alerts.Notification, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	ob, err := outbox.Open(path)
	if err != nil {
		return nil, fmt.Errorf("posture: %w", err)
	}
	defer ob.Close()
	return failedIn(ctx, ob)
}

// failedIn lists the outbox's notifications that failed for good.
func failedIn(ctx context.Context, ob *outbox.Outbox) ([]alerts.Notification, error) {
	rows, err := ob.List(ctx, outbox.StateFailed)
	if err != nil {
		return nil, fmt.Errorf("posture: list failed notifications: %w", err)
	}
	out := make([]alerts.Notification, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out, nil
}
