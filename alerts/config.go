// Package alerts delivers the detector's alerts to the people who own the
// agents: it routes each alert through a routing tree (with owner routing,
// inhibition and silences), records one notification per receiver in a
// durable outbox before the alerts stage commits, and a dispatcher delivers
// from the outbox to Slack, PagerDuty, signed webhooks and the console,
// with retries that never block detection or the other receivers.
package alerts

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/agentwatch/agentwatch/alerts/pagerduty"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
)

// ConsoleReceiver is the built-in log receiver: it always exists (unless
// a receiver of that name is configured) and is the default route's
// receiver out of the box.
const ConsoleReceiver = "console"

// Config configures alert delivery (the "alerts" section).
type Config struct {
	Receivers []ReceiverConfig `koanf:"receivers" json:"receivers" yaml:"receivers"`
	Route     RouteConfig      `koanf:"route" json:"route" yaml:"route"`
	Inhibit   []InhibitRule    `koanf:"inhibit_rules" json:"inhibit_rules" yaml:"inhibit_rules"`
	// OwnerRouting sends an agent's alerts to the Slack channel or
	// PagerDuty service its inventory entry names, unless a route matched.
	OwnerRouting OwnerRoutingConfig `koanf:"owner_routing" json:"owner_routing" yaml:"owner_routing"`
	// OutboxPath is the SQLite outbox; DefaultOutboxPath(data_dir) when empty.
	OutboxPath string `koanf:"outbox_path" json:"outbox_path" yaml:"outbox_path"`
	// GiveUpAfter is how long one notification is retried before it is
	// marked failed (listed by `agentwatch alerts list --failed`).
	GiveUpAfter time.Duration `koanf:"give_up_after" json:"give_up_after" yaml:"give_up_after"`
	// Retention is how long delivered and suppressed notifications (and
	// alert states) are kept after their last update; an alert that
	// repeats after that starts a new message.
	Retention time.Duration `koanf:"retention" json:"retention" yaml:"retention"`
	// RetryInitial and RetryMax bound the exponential backoff.
	RetryInitial time.Duration `koanf:"retry_initial" json:"retry_initial" yaml:"retry_initial"`
	RetryMax     time.Duration `koanf:"retry_max" json:"retry_max" yaml:"retry_max"`
	// OCSF makes webhook receivers without an explicit format send OCSF
	// Detection Finding JSON (for SIEMs).
	OCSF bool `koanf:"ocsf" json:"ocsf" yaml:"ocsf"`
}

// ReceiverConfig names one receiver; exactly one integration is set.
type ReceiverConfig struct {
	Name      string            `koanf:"name" json:"name" yaml:"name"`
	Slack     *slack.Config     `koanf:"slack" json:"slack,omitempty" yaml:"slack,omitempty"`
	PagerDuty *pagerduty.Config `koanf:"pagerduty" json:"pagerduty,omitempty" yaml:"pagerduty,omitempty"`
	Webhook   *webhook.Config   `koanf:"webhook" json:"webhook,omitempty" yaml:"webhook,omitempty"`
	Log       *LogConfig        `koanf:"log" json:"log,omitempty" yaml:"log,omitempty"`
}

// LogConfig is the console receiver: each alert as Alert.Line().
type LogConfig struct {
	// Format is "line" (default: Alert.Line() on the console writer) or
	// "slog" (a structured log record).
	Format string `koanf:"format" json:"format,omitempty" yaml:"format,omitempty"`
}

// Kind names the receiver's integration ("slack", "pagerduty", ...).
func (r *ReceiverConfig) Kind() string {
	switch {
	case r.Slack != nil:
		return "slack"
	case r.PagerDuty != nil:
		return "pagerduty"
	case r.Webhook != nil:
		return "webhook"
	case r.Log != nil:
		return "log"
	}
	return ""
}

// RouteConfig is one node of the routing tree. Unset timings and
// pagerduty_dedup inherit from the parent.
type RouteConfig struct {
	Receiver string   `koanf:"receiver" json:"receiver,omitempty" yaml:"receiver,omitempty"`
	Matchers []string `koanf:"matchers" json:"matchers,omitempty" yaml:"matchers,omitempty"`
	// Continue keeps matching later siblings after this route matched.
	Continue bool `koanf:"continue" json:"continue,omitempty" yaml:"continue,omitempty"`
	// GroupWait delays an alert's first notification, so a burst of
	// updates arrives as one message.
	GroupWait *time.Duration `koanf:"group_wait" json:"group_wait,omitempty" yaml:"group_wait,omitempty"`
	// GroupInterval is the least time between two notifications of one
	// alert when its state or severity changed (or, for receivers that
	// update in place, its count).
	GroupInterval *time.Duration `koanf:"group_interval" json:"group_interval,omitempty" yaml:"group_interval,omitempty"`
	// RepeatInterval is the least time before a receiver that cannot edit
	// messages hears about a repeat (count change) of an alert.
	RepeatInterval *time.Duration `koanf:"repeat_interval" json:"repeat_interval,omitempty" yaml:"repeat_interval,omitempty"`
	// PagerDutyDedup is the granularity of PagerDuty dedup keys: "alert"
	// (one incident per alert), "agent_detector" or "agent".
	PagerDutyDedup string        `koanf:"pagerduty_dedup" json:"pagerduty_dedup,omitempty" yaml:"pagerduty_dedup,omitempty"`
	Routes         []RouteConfig `koanf:"routes" json:"routes,omitempty" yaml:"routes,omitempty"`
}

// Dedup granularities.
const (
	DedupAlert         = "alert"
	DedupAgentDetector = "agent_detector"
	DedupAgent         = "agent"
)

// InhibitRule mutes target alerts while a source alert of the same agent
// fires (inhibition is always within one agent; Equal adds more fields
// that must agree).
type InhibitRule struct {
	SourceMatchers []string `koanf:"source_matchers" json:"source_matchers" yaml:"source_matchers"`
	TargetMatchers []string `koanf:"target_matchers" json:"target_matchers" yaml:"target_matchers"`
	Equal          []string `koanf:"equal" json:"equal,omitempty" yaml:"equal,omitempty"`
}

// OwnerRoutingConfig controls routing by the agent's inventory contact.
type OwnerRoutingConfig struct {
	Enabled bool `koanf:"enabled" json:"enabled" yaml:"enabled"`
	// SlackReceiver is a Slack Web API receiver used to post into the
	// agent's own channel; empty picks the only Web API receiver, if one.
	SlackReceiver string `koanf:"slack_receiver" json:"slack_receiver,omitempty" yaml:"slack_receiver,omitempty"`
}

func dur(d time.Duration) *time.Duration { return &d }

// NoveltyDetectors matches the detectors that report something new for
// the agent (first action, system, resource, network, user agent or
// delegator), as named by the detect package.
const NoveltyDetectors = `detector=~playground\.(first_action|first_system|novel_resource)|network\.new_.*|delegation\.first_delegator`

// DefaultConfig sends everything to the console, holds a first
// notification 10s for its updates to gather, and retries for an hour.
// A decommissioned agent's activity mutes its novelty alerts: the
// decommission alert already says everything it does is wrong.
func DefaultConfig() Config {
	return Config{
		Route: RouteConfig{
			Receiver: ConsoleReceiver, GroupWait: dur(10 * time.Second), GroupInterval: dur(time.Minute),
			RepeatInterval: dur(4 * time.Hour), PagerDutyDedup: DedupAlert,
		},
		Inhibit: []InhibitRule{{
			SourceMatchers: []string{"detector=lifecycle.decommissioned"},
			TargetMatchers: []string{NoveltyDetectors},
		}},
		OwnerRouting: OwnerRoutingConfig{Enabled: true},
		GiveUpAfter:  time.Hour,
		Retention:    7 * 24 * time.Hour,
		RetryInitial: time.Second,
		RetryMax:     5 * time.Minute,
	}
}

// DefaultOutboxPath is the outbox inside the data directory.
func DefaultOutboxPath(dataDir string) string { return filepath.Join(dataDir, "outbox.db") }

// receiverIndex maps names to receivers, including the built-in console.
func (c *Config) receiverIndex() map[string]ReceiverConfig {
	idx := map[string]ReceiverConfig{ConsoleReceiver: {Name: ConsoleReceiver, Log: &LogConfig{}}}
	for _, r := range c.Receivers {
		idx[r.Name] = r
	}
	return idx
}

// Validate checks the configuration; errors name the key, e.g.
// "alerts.receivers[2].slack.channel: is required with token".
func (c *Config) Validate() error {
	seen := map[string]int{}
	for i, r := range c.Receivers {
		key := fmt.Sprintf("alerts.receivers[%d]", i)
		if r.Name == "" {
			return fmt.Errorf("%s.name: is required", key)
		}
		if j, dup := seen[r.Name]; dup {
			return fmt.Errorf("%s.name: %q is already used by alerts.receivers[%d]", key, r.Name, j)
		}
		seen[r.Name] = i
		n := 0
		for _, set := range []bool{r.Slack != nil, r.PagerDuty != nil, r.Webhook != nil, r.Log != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: set exactly one of slack, pagerduty, webhook, log (found %d)", key, n)
		}
		var err error
		switch {
		case r.Slack != nil:
			err = r.Slack.Validate(key + ".slack")
		case r.PagerDuty != nil:
			err = r.PagerDuty.Validate(key + ".pagerduty")
		case r.Webhook != nil:
			err = r.Webhook.Validate(key + ".webhook")
		case r.Log != nil:
			if f := r.Log.Format; f != "" && f != "line" && f != "slog" {
				err = fmt.Errorf("%s.log.format: %q is not line or slog", key, f)
			}
		}
		if err != nil {
			return err
		}
	}
	idx := c.receiverIndex()
	if c.Route.Receiver == "" {
		return fmt.Errorf("alerts.route.receiver: is required (the default route)")
	}
	if len(c.Route.Matchers) > 0 || c.Route.Continue {
		return fmt.Errorf("alerts.route: the root route matches every alert; move matchers and continue to alerts.route.routes")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
	}{{"group_wait", c.Route.GroupWait}, {"group_interval", c.Route.GroupInterval}, {"repeat_interval", c.Route.RepeatInterval}} {
		if d.v == nil {
			return fmt.Errorf("alerts.route.%s: is required on the root route", d.name)
		}
	}
	if err := validateRoute(&c.Route, "alerts.route", idx); err != nil {
		return err
	}
	for i, r := range c.Inhibit {
		key := fmt.Sprintf("alerts.inhibit_rules[%d]", i)
		if len(r.SourceMatchers) == 0 || len(r.TargetMatchers) == 0 {
			return fmt.Errorf("%s: source_matchers and target_matchers are both required", key)
		}
		if _, err := ParseMatchers(r.SourceMatchers); err != nil {
			return fmt.Errorf("%s.source_matchers: %w", key, err)
		}
		if _, err := ParseMatchers(r.TargetMatchers); err != nil {
			return fmt.Errorf("%s.target_matchers: %w", key, err)
		}
	}
	if sr := c.OwnerRouting.SlackReceiver; sr != "" {
		r, ok := idx[sr]
		if !ok || r.Slack == nil || !r.Slack.WebAPI() {
			return fmt.Errorf("alerts.owner_routing.slack_receiver: %q is not a Slack receiver with a token", sr)
		}
	}
	switch {
	case c.OutboxPath == "":
		return fmt.Errorf("alerts.outbox_path: is required")
	case c.GiveUpAfter <= 0:
		return fmt.Errorf("alerts.give_up_after: must be positive")
	case c.Retention <= 0:
		return fmt.Errorf("alerts.retention: must be positive")
	case c.RetryInitial <= 0:
		return fmt.Errorf("alerts.retry_initial: must be positive")
	case c.RetryMax < c.RetryInitial:
		return fmt.Errorf("alerts.retry_max: must be at least retry_initial")
	}
	return nil
}

func validateRoute(r *RouteConfig, key string, idx map[string]ReceiverConfig) error {
	if r.Receiver != "" {
		if _, ok := idx[r.Receiver]; !ok {
			return fmt.Errorf("%s.receiver: %q is not a configured receiver", key, r.Receiver)
		}
	}
	if _, err := ParseMatchers(r.Matchers); err != nil {
		return fmt.Errorf("%s.matchers: %w", key, err)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
	}{{"group_wait", r.GroupWait}, {"group_interval", r.GroupInterval}, {"repeat_interval", r.RepeatInterval}} {
		if d.v != nil && *d.v < 0 {
			return fmt.Errorf("%s.%s: must not be negative", key, d.name)
		}
	}
	switch r.PagerDutyDedup {
	case "", DedupAlert, DedupAgentDetector, DedupAgent:
	default:
		return fmt.Errorf("%s.pagerduty_dedup: %q is not alert, agent_detector or agent", key, r.PagerDutyDedup)
	}
	for i := range r.Routes {
		if err := validateRoute(&r.Routes[i], fmt.Sprintf("%s.routes[%d]", key, i), idx); err != nil {
			return err
		}
	}
	return nil
}
