package basetest

import (
	"context"
	"sort"

	"github.com/agentwatch/agentwatch/schemas"
)

// UpsertPostureFindings implements store.Store: the highest version of an
// id wins.
func (m *MemStore) UpsertPostureFindings(_ context.Context, rows []schemas.PostureFindingRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("posture_findings", len(rows)); err != nil {
		return err
	}
	if m.findings == nil {
		m.findings = map[string]schemas.PostureFindingRow{}
	}
	for _, r := range rows {
		if old, ok := m.findings[r.ID]; !ok || r.Version > old.Version {
			m.findings[r.ID] = r
		}
	}
	return nil
}

// LoadPostureFindings implements store.Store.
func (m *MemStore) LoadPostureFindings(context.Context) ([]schemas.PostureFindingRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]schemas.PostureFindingRow, 0, len(m.findings))
	for _, r := range m.findings {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
