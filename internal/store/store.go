// Package store defines what the pipeline needs from a backing store and
// holds its two implementations as sub-packages: sqlite (embedded mode) and
// clickhouse (production). Both use the same table and column names.
package store

import (
	"context"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Store is the durable side of the pipeline. Every write returns nil only
// once the data is durable, so a Kafka consumer may commit its offset after
// it; every write is idempotent (events by event_id, windows by agent and
// window start, baselines and playground by version, agents by id, alerts
// by id, the state with the highest store.AlertVersion winning), so a redelivered message adds
// nothing visible to any documented query.
type Store interface {
	// Backend names the implementation: "sqlite" or "clickhouse".
	Backend() string
	// Migrate applies pending schema migrations and records them.
	Migrate(ctx context.Context) error
	Close() error

	InsertEvents(ctx context.Context, evs []schemas.AgentEvent) error
	InsertWindows(ctx context.Context, rows []schemas.WindowRow) error
	InsertBaselines(ctx context.Context, rows []schemas.BaselineRow) error
	InsertPlayground(ctx context.Context, rows []schemas.PlaygroundRow) error
	UpsertAgents(ctx context.Context, rows []schemas.AgentRow) error
	UpsertAlerts(ctx context.Context, alerts []schemas.Alert) error
	// UpsertPostureFindings stores posture finding states; for one id the
	// highest version wins.
	UpsertPostureFindings(ctx context.Context, rows []schemas.PostureFindingRow) error

	// LoadBaselines returns the latest version of each feature of each
	// agent in agentIDs (all agents when agentIDs is empty).
	LoadBaselines(ctx context.Context, agentIDs []string) ([]schemas.BaselineRow, error)
	// LoadPlayground returns the latest version of each playground entry.
	LoadPlayground(ctx context.Context, agentIDs []string) ([]schemas.PlaygroundRow, error)
	// LoadWindows returns an agent's windows starting at or after since,
	// oldest first, one row per window start.
	LoadWindows(ctx context.Context, agentID string, since time.Time) ([]schemas.WindowRow, error)
	// ScanEvents calls fn for each distinct stored event of the given
	// agents (all agents when agentIDs is empty) with time in [from, to).
	// Each agent's events come ordered by time then event_id; with several
	// agents, how their events interleave is not specified.
	ScanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error
	// LoadAlerts returns alerts (latest state of each id) matching the filter.
	LoadAlerts(ctx context.Context, f AlertFilter) ([]schemas.Alert, error)
	// SearchEvents returns the distinct stored events matching s, newest
	// first, at most s.Limit of them.
	SearchEvents(ctx context.Context, s EventSearch) ([]schemas.AgentEvent, error)

	// InsertActions records actions taken on incidents; an action id
	// already stored is ignored.
	InsertActions(ctx context.Context, rows []schemas.ActionRow) error
	// LoadActions returns the recorded actions matching f, newest first.
	LoadActions(ctx context.Context, f ActionFilter) ([]schemas.ActionRow, error)
	// UpsertNotifications stores the notification states the alerts
	// stage copies from its outbox; for one incident, receiver and target
	// the latest UpdatedAt wins.
	UpsertNotifications(ctx context.Context, rows []schemas.NotificationRow) error
	// LoadNotifications returns the current notification states of one
	// incident, by receiver and target.
	LoadNotifications(ctx context.Context, alertID string) ([]schemas.NotificationRow, error)
	// LoadPostureFindings returns the current state of every posture
	// finding, ordered by id.
	LoadPostureFindings(ctx context.Context) ([]schemas.PostureFindingRow, error)

	// Query runs one read-only SQL statement and returns all rows.
	Query(ctx context.Context, query string, args ...any) (*Result, error)
	// DropPartitionsBefore removes events (and windows) older than t, by
	// whole days. It returns the days dropped.
	DropPartitionsBefore(ctx context.Context, t time.Time) ([]string, error)
}

// AlertFilter selects alerts for LoadAlerts.
type AlertFilter struct {
	ID      string
	AgentID string
	Status  string // "", firing or resolved
	Since   time.Time
	Limit   int
}

// Result is the outcome of a read-only query, column names and values in
// order. Values are Go values as the driver returned them.
type Result struct {
	Columns []string
	Rows    [][]any
}

// EventSearch selects events for SearchEvents: every set field must match
// exactly; From and To bound the time ([From, To), zero = open).
type EventSearch struct {
	AgentID      string
	Instance     string
	OnBehalfOf   string
	CredentialID string
	Action       string
	Resource     string
	EventIDs     []string
	From, To     time.Time
	Limit        int // default DefaultSearchLimit
}

// DefaultSearchLimit bounds a search that sets no limit.
const DefaultSearchLimit = 200

// ActionFilter selects actions for LoadActions.
type ActionFilter struct {
	AgentID string
	AlertID string
	Action  string
	Since   time.Time
	Limit   int
}
