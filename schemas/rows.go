package schemas

import "time"

// The row types below are the store's tables, with the same column names in
// SQLite and ClickHouse (see schemas/sql/). They live here, beside the
// event and alert, so that the store does not import the packages that
// compute them.

// WindowRow is one closed tumbling window of one agent (table agent_windows).
type WindowRow struct {
	AgentID           string           `json:"agent_id"`
	WindowStart       time.Time        `json:"window_start"`
	WindowEnd         time.Time        `json:"window_end"`
	HourOfWeek        int              `json:"hour_of_week"` // 0 = Monday 00:00 UTC
	Events            int64            `json:"events"`
	DistinctActions   int64            `json:"distinct_actions"`
	DistinctResources int64            `json:"distinct_resources"`
	DistinctSystems   int64            `json:"distinct_systems"`
	DistinctNetworks  int64            `json:"distinct_networks"`
	Failures          int64            `json:"failures"`
	Denials           int64            `json:"denials"`
	Bytes             int64            `json:"bytes"`
	Records           int64            `json:"records"`
	ActionCounts      map[string]int64 `json:"action_counts"`
	UpdatedAt         time.Time        `json:"updated_at"`
}

// BaselineRow is the learned profile of one agent for one feature (table
// agent_baselines). Version grows with every update; queries take the
// latest version per (agent_id, feature).
type BaselineRow struct {
	AgentID     string    `json:"agent_id"`
	Feature     string    `json:"feature"`
	Samples     int64     `json:"samples"`
	Median      float64   `json:"median"`
	MAD         float64   `json:"mad"`
	EWMAMean    float64   `json:"ewma_mean"`
	EWMAVar     float64   `json:"ewma_var"`
	P50         float64   `json:"p50"`
	P95         float64   `json:"p95"`
	P99         float64   `json:"p99"`
	Seasonality string    `json:"seasonality"` // "hour_of_week", "hour_of_day" or "flat"
	Seasonal    []float64 `json:"seasonal,omitempty"`
	Mature      bool      `json:"mature"`
	FirstWindow time.Time `json:"first_window"`
	LastWindow  time.Time `json:"last_window"`
	Version     int64     `json:"version"`
	UpdatedAt   time.Time `json:"updated_at"`
	State       []byte    `json:"-"` // opaque, versioned state the worker needs to resume exactly
}

// Playground entry kinds.
const (
	PlayTriple     = "triple"     // (system, action, resource_pattern)
	PlayNetwork    = "network"    // source /24 or /48
	PlayUserAgent  = "user_agent" // user agent string
	PlayDelegator  = "delegator"  // on_behalf_of
	PlayCredential = "credential" // credential id
)

// PlaygroundRow is one habit an agent was seen to have (table
// agent_playground). For kind "triple" System, Action and ResourcePattern
// are set; for the other kinds Value holds the network, user agent,
// delegator or credential id.
type PlaygroundRow struct {
	AgentID         string    `json:"agent_id"`
	Kind            string    `json:"kind"`
	System          string    `json:"system"`
	Action          string    `json:"action"`
	ResourcePattern string    `json:"resource_pattern"`
	Value           string    `json:"value"`
	Count           int64     `json:"count"`
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	Version         int64     `json:"version"`
}

// AgentRow is one inventory entry as stored (table agents).
type AgentRow struct {
	AgentID          string     `json:"agent_id"`
	DisplayName      string     `json:"display_name"`
	Kind             string     `json:"kind"`
	Owner            string     `json:"owner"`
	Contact          string     `json:"contact"`
	SlackChannel     string     `json:"slack_channel"`
	PagerDutyService string     `json:"pagerduty_service"`
	Purpose          string     `json:"purpose"`
	Status           string     `json:"status"`
	CreatedAt        *time.Time `json:"created_at,omitempty"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	// Lifecycle dates: when the status changed (nil: not dated).
	SuspendedAt      *time.Time `json:"suspended_at,omitempty"`
	ResumedAt        *time.Time `json:"resumed_at,omitempty"`
	DecommissionedAt *time.Time `json:"decommissioned_at,omitempty"`
	Declared         string     `json:"declared"` // the declared playground and policies as JSON
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Actions people take on incidents (table actions). Every accept, silence
// and resolve is recorded, with who, when and why, so the change is
// auditable and detection can consult the accepted habits.
const (
	ActionAccept  = "accept"  // the behaviour is normal: widen the playground
	ActionSilence = "silence" // keep detecting, stop notifying for a while
	ActionResolve = "resolve" // the incident is over; a recurrence opens a new one
)

// ActionRow is one action on one incident (table actions). Detector and
// Subjects identify the behaviour an accept covers: the same agent,
// detector and any of the subjects raise nothing until ExpiresAt. Subject
// is the incident's first subject; Subjects every one the incident kept.
type ActionRow struct {
	ID        string     `json:"id"`
	Time      time.Time  `json:"time"`
	Actor     string     `json:"actor"`
	Action    string     `json:"action"`
	AlertID   string     `json:"alert_id"`
	AgentID   string     `json:"agent_id"`
	Detector  string     `json:"detector"`
	Subject   string     `json:"subject"`
	Subjects  []string   `json:"subjects,omitempty"`
	DedupKey  string     `json:"dedup_key"`
	Boundary  string     `json:"boundary"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Matchers are a silence's matchers as typed (agent=x, detector=y).
	Matchers []string `json:"matchers,omitempty"`
	// Detail is what the action changed, in words (e.g. "silence 4 in the
	// outbox", or the inventory lines an accepted declared habit suggests).
	Detail string `json:"detail,omitempty"`
}

// Active reports whether the action is in force at t (no expiry = forever).
func (r *ActionRow) Active(t time.Time) bool { return r.ExpiresAt == nil || t.Before(*r.ExpiresAt) }

// NotificationRow is the state of one incident's notifications at one
// receiver and target (table alert_notifications): a copy the alerts
// stage keeps of its outbox, so a console on another host can show where
// an incident was sent and whether it was delivered.
type NotificationRow struct {
	AlertID  string `json:"alert_id"`
	Receiver string `json:"receiver"`
	// Target is the Slack channel owner routing chose ("" for the
	// receiver's own).
	Target   string `json:"target,omitempty"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Count is the incident's event count the receiver was last told.
	Count      int64     `json:"count"`
	LastSentAt time.Time `json:"last_sent_at,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}
