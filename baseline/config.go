// Package baseline learns each agent's normal behaviour: tumbling windows of
// per-agent features, robust and seasonal profiles of those features, and
// the learned playground (the habits the agent was seen to have). The same
// Tracker serves the baseline worker (which persists it) and the detector
// (which judges each event against it before learning from it).
package baseline

import (
	"fmt"
	"time"
)

// Config tunes windows, profiles and maturity.
type Config struct {
	// Window is the tumbling window length (default one hour).
	Window time.Duration `koanf:"window"`
	// MinWindows and MinDays gate maturity: learned detectors stay silent
	// for an agent until it has at least this many windows spanning at
	// least this many days (default 72 windows, 3 days).
	MinWindows int `koanf:"min_windows"`
	MinDays    int `koanf:"min_days"`
	// EWMAAlpha weighs the newest window in the flat EWMA mean and variance.
	EWMAAlpha float64 `koanf:"ewma_alpha"`
	// SeasonalAlpha weighs the newest sample of one seasonal slot (an
	// hour-of-week slot gets one sample a week, so it moves faster).
	SeasonalAlpha float64 `koanf:"seasonal_alpha"`
	// MaxTriples bounds the learned (system, action, resource pattern)
	// triples per agent; MaxValues bounds each of networks, user agents,
	// delegators and credentials. The least recently seen entry makes room.
	MaxTriples int `koanf:"max_triples"`
	MaxValues  int `koanf:"max_values"`
	// MaxGapWindows caps how many empty windows are folded into a profile
	// when an agent was quiet (longer silences count as this many).
	MaxGapWindows int `koanf:"max_gap_windows"`
	// PeerGroups enables peer-group profiles (agents of the same inventory
	// kind) for "first among peers" signals and cold start.
	PeerGroups bool `koanf:"peer_groups"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Window:        time.Hour,
		MinWindows:    72,
		MinDays:       3,
		EWMAAlpha:     0.05,
		SeasonalAlpha: 0.3,
		MaxTriples:    192,
		MaxValues:     32,
		MaxGapWindows: 24 * 14,
		PeerGroups:    true,
	}
}

// Validate reports the first invalid key.
func (c Config) Validate() error {
	switch {
	case c.Window < time.Minute || c.Window > 24*time.Hour:
		return fmt.Errorf("baseline.window: %s is outside 1m-24h", c.Window)
	case (24*time.Hour)%c.Window != 0:
		return fmt.Errorf("baseline.window: %s does not divide a day evenly", c.Window)
	case c.MinWindows < 0:
		return fmt.Errorf("baseline.min_windows: must not be negative")
	case c.MinDays < 0:
		return fmt.Errorf("baseline.min_days: must not be negative")
	case c.EWMAAlpha <= 0 || c.EWMAAlpha > 1:
		return fmt.Errorf("baseline.ewma_alpha: %v is outside (0, 1]", c.EWMAAlpha)
	case c.SeasonalAlpha <= 0 || c.SeasonalAlpha > 1:
		return fmt.Errorf("baseline.seasonal_alpha: %v is outside (0, 1]", c.SeasonalAlpha)
	case c.MaxTriples < 1 || c.MaxTriples > 1<<16:
		return fmt.Errorf("baseline.max_triples: %d is outside 1-65536", c.MaxTriples)
	case c.MaxValues < 1 || c.MaxValues > 1<<16:
		return fmt.Errorf("baseline.max_values: %d is outside 1-65536", c.MaxValues)
	case c.MaxGapWindows < 0:
		return fmt.Errorf("baseline.max_gap_windows: must not be negative")
	}
	return nil
}
