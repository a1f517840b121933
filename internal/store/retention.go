package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// RetentionConfig says how long events and windows are kept.
type RetentionConfig struct {
	// Days of events and windows to keep, counting whole UTC days before
	// today; 0 keeps everything.
	Days int `koanf:"days"`
	// Every is how often old days are dropped.
	Every time.Duration `koanf:"every"`
}

// DefaultRetentionConfig keeps 30 days and checks hourly.
func DefaultRetentionConfig() RetentionConfig { return RetentionConfig{Days: 30, Every: time.Hour} }

// Validate names the offending key.
func (c RetentionConfig) Validate() error {
	if c.Days < 0 {
		return fmt.Errorf("days: must not be negative (0 keeps everything)")
	}
	if c.Every <= 0 {
		return fmt.Errorf("every: must be positive")
	}
	return nil
}

// ApplyRetention drops the days older than cfg.Days before now and
// returns them; it does nothing when cfg.Days is 0.
func ApplyRetention(ctx context.Context, s Store, cfg RetentionConfig, now time.Time) ([]string, error) {
	if cfg.Days == 0 {
		return nil, nil
	}
	days, err := s.DropPartitionsBefore(ctx, now.UTC().AddDate(0, 0, -cfg.Days))
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return days, nil
}

// RunRetention applies retention now and then every cfg.Every until ctx
// ends. A failed run is logged and tried again at the next tick, because
// retention failing must not stop the pipeline. now is injected for tests.
func RunRetention(ctx context.Context, s Store, cfg RetentionConfig, now func() time.Time, log *slog.Logger) {
	if cfg.Days == 0 {
		return
	}
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		days, err := ApplyRetention(ctx, s, cfg, now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention failed; will retry", "backend", s.Backend(), "err", err)
		case len(days) > 0:
			log.Info("retention dropped old days", "backend", s.Backend(), "days", days)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
