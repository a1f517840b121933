package detect

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
)

// Config tunes detection.
type Config struct {
	Baseline baseline.Config `koanf:"baseline"`
	// DryRun is shadow mode: alerts are produced with DryRun set, so they
	// are recorded but sinks do not notify.
	DryRun bool `koanf:"dry_run"`
	// Incidents says which findings make one incident and when an
	// incident ends (see IncidentConfig).
	Incidents IncidentConfig `koanf:"incidents"`
	// SuppressionsFile is a YAML file of suppressions, reloaded when it
	// changes; "" means none.
	SuppressionsFile string `koanf:"suppressions_file"`
	// DormantAfter is the silence after which activity is news.
	DormantAfter time.Duration `koanf:"dormant_after"`
	// Detectors enables (true) or disables (false) detectors by name;
	// unnamed detectors are enabled.
	Detectors map[string]bool `koanf:"detectors"`
	// Alpha is the tail probability at which volume detectors fire, per
	// window and feature.
	Alpha float64 `koanf:"alpha"`
	// SpikeRatio is the least observed/expected ratio a volume alert
	// needs, so that a statistically significant but small rise on a very
	// regular agent does not page anyone.
	SpikeRatio float64 `koanf:"spike_ratio"`
	// MaxRatio is the least multiple of the largest recent window (decaying
	// maximum) a volume alert needs.
	MaxRatio float64 `koanf:"max_ratio"`
	// MinSpikeEvents is the least event count in a window for volume.spike.
	MinSpikeEvents int64 `koanf:"min_spike_events"`
	// MinFailures is the least failure+denial count for volume.failures.
	MinFailures int64 `koanf:"min_failures"`
	// MinResources is the least distinct-resource count for enumeration.
	MinResources int64 `koanf:"min_resources"`
	// MaxDelegators is how many delegators an agent may have learned for
	// delegation.first_delegator to stay on; agents acting for many people
	// are watched by delegation.fanout instead.
	MaxDelegators int `koanf:"max_delegators"`
	// ReloadEvery is how often (event time) the suppressions file is checked.
	ReloadEvery time.Duration `koanf:"reload_every"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Baseline:       baseline.DefaultConfig(),
		Incidents:      DefaultIncidentConfig(),
		DormantAfter:   30 * 24 * time.Hour,
		Alpha:          1e-5,
		SpikeRatio:     3,
		MaxRatio:       1.5,
		MinSpikeEvents: 30,
		MinFailures:    10,
		MinResources:   25,
		MaxDelegators:  16,
		ReloadEvery:    10 * time.Second,
	}
}

// Detector names.
const (
	DPlaygroundDeclared = "playground.declared"
	DOutsideHours       = "time.outside_hours"
	DCredDisallowedType = "credential.disallowed_type"
	DCredTooOld         = "credential.too_old"
	DDelegNotAllowed    = "delegation.not_allowed"
	DDecommissioned     = "lifecycle.decommissioned"
	DExpired            = "lifecycle.expired"
	DSuspended          = "lifecycle.suspended"
	DOwnerless          = "lifecycle.ownerless"
	DUnattributed       = "identity.unattributed"
	DFirstAction        = "playground.first_action"
	DFirstSystem        = "playground.first_system"
	DNovelResource      = "playground.novel_resource"
	DNewSource          = "network.new_source"
	DNewUserAgent       = "network.new_user_agent"
	DFirstDelegator     = "delegation.first_delegator"
	DFanout             = "delegation.fanout"
	DVolumeSpike        = "volume.spike"
	DVolumeResources    = "volume.distinct_resources"
	DVolumeFailures     = "volume.failures"
	DVolumeData         = "volume.data"
	DUnusualHour        = "time.unusual_hour"
	DCredShared         = "credential.shared"
	DDormant            = "lifecycle.dormant"
	DNetworkUndeclared  = "network.undeclared"
	DClientUndeclared   = "client.undeclared"
	DCredNotRotated     = "credential.not_rotated"
)

// Detectors lists every detector name.
var Detectors = []string{
	DPlaygroundDeclared, DOutsideHours, DCredDisallowedType, DCredTooOld, DDelegNotAllowed,
	DDecommissioned, DExpired, DSuspended, DOwnerless, DUnattributed,
	DFirstAction, DFirstSystem, DNovelResource, DNewSource, DNewUserAgent, DFirstDelegator, DFanout,
	DVolumeSpike, DVolumeResources, DVolumeFailures, DVolumeData, DUnusualHour, DCredShared, DDormant,
	DNetworkUndeclared, DClientUndeclared, DCredNotRotated,
}

// Validate reports the first invalid key.
func (c Config) Validate() error {
	if err := c.Baseline.Validate(); err != nil {
		return fmt.Errorf("detect.%w", err) // the baseline block lives under detect
	}
	if err := c.Incidents.Validate(); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, d := range Detectors {
		known[d] = true
	}
	names := make([]string, 0, len(c.Detectors))
	for n := range c.Detectors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("detect.detectors.%s: unknown detector (known: %s)", n, strings.Join(Detectors, ", "))
		}
	}
	switch {
	case c.DormantAfter <= 0:
		return fmt.Errorf("detect.dormant_after: must be positive")
	case c.Alpha <= 0 || c.Alpha >= 0.5:
		return fmt.Errorf("detect.alpha: %v is outside (0, 0.5)", c.Alpha)
	case c.SpikeRatio < 1:
		return fmt.Errorf("detect.spike_ratio: %v is below 1", c.SpikeRatio)
	case c.MaxRatio < 0:
		return fmt.Errorf("detect.max_ratio: must not be negative")
	case c.MinSpikeEvents < 1 || c.MinFailures < 1 || c.MinResources < 1:
		return fmt.Errorf("detect.min_spike_events, min_failures, min_resources: must be at least 1")
	case c.MaxDelegators < 0:
		return fmt.Errorf("detect.max_delegators: must not be negative")
	case c.ReloadEvery <= 0:
		return fmt.Errorf("detect.reload_every: must be positive")
	}
	return nil
}

// enabled is asked several times per event; with no detectors configured
// (the usual case) it answers without a map lookup.
func (c *Config) enabled(name string) bool {
	if len(c.Detectors) == 0 {
		return true
	}
	v, ok := c.Detectors[name]
	return !ok || v
}
