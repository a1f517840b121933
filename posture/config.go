package posture

import (
	"errors"
	"fmt"
	"time"
)

// Config is the "posture" section.
type Config struct {
	// UnusedAfter is the look-back for least privilege: a declared
	// permission no event used in this long is a finding (default 30 days).
	UnusedAfter time.Duration `koanf:"unused_after"`
	// RotateEvery applies to long-lived keys of agents whose inventory
	// declares no credentials.rotate_every, and to unknown principals'
	// keys (default 90 days, the usual access-key policy; 0 = only declared).
	RotateEvery time.Duration `koanf:"rotate_every"`
	// InstancesFactor: more distinct instances than this many times the
	// declared "instances" is a finding (default 2).
	InstancesFactor float64 `koanf:"instances_factor"`
	// MaxNetworks: a credential used from more distinct networks (/24,
	// /48) than this is a finding (default 2).
	MaxNetworks int `koanf:"max_networks"`
	// EvaluateEvery is how often `agentwatch run` / `agentwatch alerts`
	// re-evaluate posture, refreshing the store's findings and the gauges
	// (0 = only when a digest is due).
	EvaluateEvery time.Duration `koanf:"evaluate_every"`
	Digest        DigestConfig  `koanf:"digest"`
}

// DigestConfig schedules the weekly digest per owner.
type DigestConfig struct {
	// Enabled turns the scheduled digest on in run / alerts.
	Enabled bool `koanf:"enabled"`
	// Schedule is "DAY HH:MM" in UTC ("Mon 09:00"), or "* HH:MM" daily.
	Schedule string `koanf:"schedule"`
	// SlackReceiver names the Slack Web API receiver (alerts.receivers)
	// that posts into each owner's channel; empty picks
	// alerts.owner_routing.slack_receiver, else the only Web API receiver.
	SlackReceiver string `koanf:"slack_receiver"`
	// OCSFReceiver names a webhook receiver that gets every finding of the
	// digest as an OCSF Compliance Finding (class 2003); empty = none.
	OCSFReceiver string `koanf:"ocsf_receiver"`
	// MinSeverity leaves lower findings out of the digest (default low).
	MinSeverity string `koanf:"min_severity"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		UnusedAfter:     30 * 24 * time.Hour,
		RotateEvery:     90 * 24 * time.Hour,
		InstancesFactor: 2,
		MaxNetworks:     2,
		EvaluateEvery:   time.Hour,
		Digest:          DigestConfig{Schedule: "Mon 09:00", MinSeverity: "low"},
	}
}

// Validate checks the configuration; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.UnusedAfter < 24*time.Hour {
		errs = append(errs, fmt.Errorf("posture.unused_after: must be at least 24h, got %s", c.UnusedAfter))
	}
	if c.RotateEvery < 0 {
		errs = append(errs, errors.New("posture.rotate_every: must not be negative"))
	}
	if c.InstancesFactor < 1 {
		errs = append(errs, fmt.Errorf("posture.instances_factor: must be at least 1, got %g", c.InstancesFactor))
	}
	if c.MaxNetworks < 1 {
		errs = append(errs, fmt.Errorf("posture.max_networks: must be at least 1, got %d", c.MaxNetworks))
	}
	if c.EvaluateEvery < 0 {
		errs = append(errs, errors.New("posture.evaluate_every: must not be negative"))
	}
	if _, err := ParseSchedule(c.Digest.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("posture.digest.schedule: %w", err))
	}
	if _, err := ParseSeverity(c.Digest.MinSeverity); err != nil {
		errs = append(errs, fmt.Errorf("posture.digest.min_severity: %w", err))
	}
	return errors.Join(errs...)
}
