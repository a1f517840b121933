// Package notify holds what every alert integration shares: the Notifier
// contract the dispatcher calls, the one classifier that decides whether an
// HTTP failure is worth retrying, and the rendering helpers (identity block,
// investigate query) that keep Slack, PagerDuty and webhook messages alike.
package notify

import (
	"context"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Delivery is one notification the dispatcher asks a receiver to send.
type Delivery struct {
	// ID is the outbox row id; integrations use it as an idempotency key.
	ID int64
	// Key is the dedup key at the receiver's granularity (the PagerDuty
	// dedup_key); it equals Alert.DedupKey unless the route coarsens it.
	Key   string
	Alert schemas.Alert
	// Target overrides the receiver's destination (a Slack channel taken
	// from the agent's inventory entry); empty means the configured one.
	Target string
	// Prev is what was delivered last time for this key; zero on the first.
	Prev State
	// Now is the dispatcher's clock, so rendered ages are deterministic.
	Now time.Time
	// Test marks `agentwatch alerts test`: a synthetic alert.
	Test bool
	// ConsoleURL is the incident's page in the agentwatch console
	// (console.external_url); empty when no console URL is configured.
	ConsoleURL string
}

// State is what a receiver remembers between deliveries of one key.
type State struct {
	// Slack Web API message coordinates, so later deliveries update the
	// original message in place instead of posting a new one.
	SlackChannel string `json:"slack_channel,omitempty"`
	SlackTS      string `json:"slack_ts,omitempty"`
	// What the receiver last saw, so a change can be described.
	Status    string           `json:"status,omitempty"`
	Severity  schemas.Severity `json:"severity,omitempty"`
	Count     int              `json:"count,omitempty"`
	Resources int              `json:"resources,omitempty"`
	// Sent is false when nothing was ever delivered for this key.
	Sent bool `json:"sent,omitempty"`
}

// Notifier sends one delivery. On failure retryable says whether the same
// delivery may succeed later (timeouts, 5xx, 429); a permanent failure is
// marked failed with err's text as the reason. On success the returned
// State is stored and passed back as Prev next time.
type Notifier interface {
	Notify(ctx context.Context, d Delivery) (st State, retryable bool, err error)
}

// Updater is implemented by notifiers that edit an earlier message in place
// (Slack Web API); the dispatcher then delivers count changes promptly
// instead of holding them for the repeat interval.
type Updater interface {
	UpdatesInPlace() bool
}

// Change describes how the alert differs from what was delivered before,
// e.g. "count 3 → 7; severity medium → high"; empty when nothing changed.
func Change(prev State, a schemas.Alert) string {
	if !prev.Sent {
		return ""
	}
	var parts []string
	if prev.Status != "" && prev.Status != a.Status {
		if a.Status == schemas.StatusResolved {
			parts = append(parts, "resolved")
		} else {
			parts = append(parts, "firing again")
		}
	}
	if prev.Severity != "" && prev.Severity != a.Severity {
		parts = append(parts, "severity "+string(prev.Severity)+" → "+string(a.Severity))
	}
	if prev.Count != 0 && prev.Count != a.Count {
		parts = append(parts, "count "+itoa(prev.Count)+" → "+itoa(a.Count))
	}
	if prev.Resources != 0 && prev.Resources != a.DistinctResources {
		parts = append(parts, "resources "+itoa(prev.Resources)+" → "+itoa(a.DistinctResources))
	}
	return join(parts, "; ")
}

// Escalated reports whether the status or severity changed since the last
// delivery: news worth a notification of its own (a Slack thread reply),
// where a growing count only edits the message.
func Escalated(prev State, a schemas.Alert) bool {
	return prev.Sent && ((prev.Status != "" && prev.Status != a.Status) || (prev.Severity != "" && prev.Severity != a.Severity))
}

// StateOf is the State that records a delivered alert.
func StateOf(a schemas.Alert) State {
	return State{Status: a.Status, Severity: a.Severity, Count: a.Count, Resources: a.DistinctResources, Sent: true}
}
