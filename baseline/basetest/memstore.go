// Package basetest provides an in-memory store.Store for tests of the
// baseline worker and the detector, with the same idempotence rules as the
// real stores (events by event_id, windows by agent and start, baselines
// and playground by latest version) and injectable write failures.
package basetest

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// MemStore is an in-memory store.Store.
type MemStore struct {
	mu            sync.Mutex
	events        map[string]schemas.AgentEvent
	windows       map[string]schemas.WindowRow
	baselines     map[string]schemas.BaselineRow
	playground    map[string]schemas.PlaygroundRow
	agents        map[string]schemas.AgentRow
	alerts        map[string]schemas.Alert
	actions       []schemas.ActionRow
	notifications map[[3]string]schemas.NotificationRow
	findings      map[string]schemas.PostureFindingRow
	// Fail, when set, is consulted before every write with the operation
	// name ("events", "windows", "baselines", "playground"); a non-nil
	// error fails that write.
	Fail func(op string) error
	// Writes counts rows written per operation.
	Writes map[string]int
}

var _ store.Store = (*MemStore)(nil)

// New returns an empty store.
func New() *MemStore {
	return &MemStore{events: map[string]schemas.AgentEvent{}, windows: map[string]schemas.WindowRow{},
		baselines: map[string]schemas.BaselineRow{}, playground: map[string]schemas.PlaygroundRow{},
		agents: map[string]schemas.AgentRow{}, alerts: map[string]schemas.Alert{}, Writes: map[string]int{}}
}

func (m *MemStore) fail(op string, n int) error {
	if m.Fail != nil {
		if err := m.Fail(op); err != nil {
			return err
		}
	}
	m.Writes[op] += n
	return nil
}

// Backend implements store.Store.
func (m *MemStore) Backend() string { return "memory" }

// Migrate implements store.Store.
func (m *MemStore) Migrate(context.Context) error { return nil }

// Close implements store.Store.
func (m *MemStore) Close() error { return nil }

// InsertEvents implements store.Store.
func (m *MemStore) InsertEvents(_ context.Context, evs []schemas.AgentEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("events", len(evs)); err != nil {
		return err
	}
	for _, e := range evs {
		m.events[e.EventID] = e
	}
	return nil
}

// InsertWindows implements store.Store.
func (m *MemStore) InsertWindows(_ context.Context, rows []schemas.WindowRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("windows", len(rows)); err != nil {
		return err
	}
	for _, r := range rows {
		m.windows[r.AgentID+"|"+r.WindowStart.UTC().Format(time.RFC3339)] = r
	}
	return nil
}

// InsertBaselines implements store.Store.
func (m *MemStore) InsertBaselines(_ context.Context, rows []schemas.BaselineRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("baselines", len(rows)); err != nil {
		return err
	}
	for _, r := range rows {
		k := r.AgentID + "|" + r.Feature
		if old, ok := m.baselines[k]; !ok || r.Version >= old.Version {
			m.baselines[k] = r
		}
	}
	return nil
}

// InsertPlayground implements store.Store.
func (m *MemStore) InsertPlayground(_ context.Context, rows []schemas.PlaygroundRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("playground", len(rows)); err != nil {
		return err
	}
	for _, r := range rows {
		k := r.AgentID + "|" + r.Kind + "|" + r.System + "|" + r.Action + "|" + r.ResourcePattern + "|" + r.Value
		if old, ok := m.playground[k]; !ok || r.Version >= old.Version {
			m.playground[k] = r
		}
	}
	return nil
}

// UpsertAgents implements store.Store.
func (m *MemStore) UpsertAgents(_ context.Context, rows []schemas.AgentRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rows {
		m.agents[r.AgentID] = r
	}
	return nil
}

// UpsertAlerts implements store.Store.
func (m *MemStore) UpsertAlerts(_ context.Context, as []schemas.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range as {
		m.alerts[a.ID] = a
	}
	return nil
}

func wanted(ids []string) func(string) bool {
	if len(ids) == 0 {
		return func(string) bool { return true }
	}
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return func(id string) bool { return set[id] }
}

// LoadBaselines implements store.Store.
func (m *MemStore) LoadBaselines(_ context.Context, ids []string) ([]schemas.BaselineRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := wanted(ids)
	var out []schemas.BaselineRow
	for _, r := range m.baselines {
		if ok(r.AgentID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].AgentID+"|"+out[i].Feature < out[j].AgentID+"|"+out[j].Feature
	})
	return out, nil
}

// LoadPlayground implements store.Store.
func (m *MemStore) LoadPlayground(_ context.Context, ids []string) ([]schemas.PlaygroundRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := wanted(ids)
	var out []schemas.PlaygroundRow
	for _, r := range m.playground {
		if ok(r.AgentID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.AgentID+a.Kind+a.System+a.Action+a.ResourcePattern+a.Value < b.AgentID+b.Kind+b.System+b.Action+b.ResourcePattern+b.Value
	})
	return out, nil
}

// LoadWindows implements store.Store.
func (m *MemStore) LoadWindows(_ context.Context, agentID string, since time.Time) ([]schemas.WindowRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schemas.WindowRow
	for _, r := range m.windows {
		if r.AgentID == agentID && !r.WindowStart.Before(since) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WindowStart.Before(out[j].WindowStart) })
	return out, nil
}

// ScanEvents implements store.Store.
func (m *MemStore) ScanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error {
	m.mu.Lock()
	var evs []schemas.AgentEvent
	for _, e := range m.events {
		if (len(agentIDs) == 0 || slices.Contains(agentIDs, e.AgentID)) && !e.Time.Before(from) && e.Time.Before(to) {
			evs = append(evs, e)
		}
	}
	m.mu.Unlock()
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].Time.Equal(evs[j].Time) {
			return evs[i].Time.Before(evs[j].Time)
		}
		return evs[i].EventID < evs[j].EventID
	})
	for _, e := range evs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// LoadAlerts implements store.Store.
func (m *MemStore) LoadAlerts(_ context.Context, f store.AlertFilter) ([]schemas.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schemas.Alert
	for _, a := range m.alerts {
		if (f.ID == "" || a.ID == f.ID) && (f.AgentID == "" || a.Identity.AgentID == f.AgentID) && (f.Status == "" || a.Status == f.Status) && !a.LastSeen.Before(f.Since) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Query implements store.Store; the memory store has no SQL.
func (m *MemStore) Query(context.Context, string, ...any) (*store.Result, error) {
	return nil, errors.New("query: the memory store has no SQL")
}

// DropPartitionsBefore implements store.Store.
func (m *MemStore) DropPartitionsBefore(_ context.Context, t time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	day := t.UTC().Truncate(24 * time.Hour)
	days := map[string]bool{}
	for id, e := range m.events {
		if e.Time.Before(day) {
			days[e.Time.UTC().Format(time.DateOnly)] = true
			delete(m.events, id)
		}
	}
	out := make([]string, 0, len(days))
	for d := range days {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

// Windows returns every stored window, by agent then start.
func (m *MemStore) Windows() []schemas.WindowRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]schemas.WindowRow, 0, len(m.windows))
	for _, r := range m.windows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AgentID != out[j].AgentID {
			return out[i].AgentID < out[j].AgentID
		}
		return out[i].WindowStart.Before(out[j].WindowStart)
	})
	return out
}

// SearchEvents implements store.Store.
func (m *MemStore) SearchEvents(_ context.Context, q store.EventSearch) ([]schemas.AgentEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schemas.AgentEvent
	for _, e := range m.events {
		if (q.AgentID != "" && e.AgentID != q.AgentID) || (q.Instance != "" && e.AgentInstance != q.Instance) ||
			(q.OnBehalfOf != "" && e.OnBehalfOf != q.OnBehalfOf) || (q.CredentialID != "" && e.CredentialID != q.CredentialID) ||
			(q.Action != "" && e.Action != q.Action) || (q.Resource != "" && e.Resource != q.Resource) ||
			(len(q.EventIDs) > 0 && !slices.Contains(q.EventIDs, e.EventID)) ||
			(!q.From.IsZero() && e.Time.Before(q.From)) || (!q.To.IsZero() && !e.Time.Before(q.To)) {
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].EventID < out[j].EventID
	})
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultSearchLimit
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UpsertNotifications implements store.Store.
func (m *MemStore) UpsertNotifications(_ context.Context, rows []schemas.NotificationRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("notifications", len(rows)); err != nil {
		return err
	}
	if m.notifications == nil {
		m.notifications = map[[3]string]schemas.NotificationRow{}
	}
	for _, r := range rows {
		k := [3]string{r.AlertID, r.Receiver, r.Target}
		if old, ok := m.notifications[k]; !ok || !r.UpdatedAt.Before(old.UpdatedAt) {
			m.notifications[k] = r
		}
	}
	return nil
}

// LoadNotifications implements store.Store.
func (m *MemStore) LoadNotifications(_ context.Context, alertID string) ([]schemas.NotificationRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schemas.NotificationRow
	for _, r := range m.notifications {
		if r.AlertID == alertID {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Receiver < out[j].Receiver || out[i].Receiver == out[j].Receiver && out[i].Target < out[j].Target
	})
	return out, nil
}

// InsertActions implements store.Store.
func (m *MemStore) InsertActions(_ context.Context, rows []schemas.ActionRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("actions", len(rows)); err != nil {
		return err
	}
	for _, r := range rows {
		if !slices.ContainsFunc(m.actions, func(x schemas.ActionRow) bool { return x.ID == r.ID }) {
			m.actions = append(m.actions, r)
		}
	}
	return nil
}

// LoadActions implements store.Store.
func (m *MemStore) LoadActions(_ context.Context, f store.ActionFilter) ([]schemas.ActionRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schemas.ActionRow
	for _, r := range m.actions {
		if (f.AgentID == "" || r.AgentID == f.AgentID) && (f.AlertID == "" || r.AlertID == f.AlertID) &&
			(f.Action == "" || r.Action == f.Action) && !r.Time.Before(f.Since) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
