package clickhouse

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agentwatch/agentwatch/schemas"
)

// UpsertPostureFindings stores finding states; queries take the highest
// version per id.
func (s *Store) UpsertPostureFindings(ctx context.Context, rows []schemas.PostureFindingRow) error {
	return s.insert(ctx, "posture_finding_states", `INSERT INTO posture_finding_states (id, type, severity,
		agent_id, owner, subject, summary, evidence, fix, status, first_seen, last_seen, evaluated_at, version)`,
		len(rows), func(b driver.Batch, i int) error {
			r := &rows[i]
			return b.Append(r.ID, r.Type, string(r.Severity), r.AgentID, r.Owner, r.Subject, r.Summary, r.Evidence,
				r.Fix, r.Status, r.FirstSeen.UTC(), r.LastSeen.UTC(), r.EvaluatedAt.UTC(), uint64(r.Version))
		})
}

// LoadPostureFindings returns the current state (highest version) of
// every finding.
func (s *Store) LoadPostureFindings(ctx context.Context) ([]schemas.PostureFindingRow, error) {
	var out []schemas.PostureFindingRow
	err := s.each(ctx, "load posture findings", `SELECT id, type, severity, agent_id, owner, subject, summary,
		evidence, fix, status, first_seen, last_seen, evaluated_at, version
		FROM posture_finding_states ORDER BY id, version DESC LIMIT 1 BY id`, nil, func(rows driver.Rows) error {
		var r schemas.PostureFindingRow
		var sev string
		var version uint64
		if err := rows.Scan(&r.ID, &r.Type, &sev, &r.AgentID, &r.Owner, &r.Subject, &r.Summary, &r.Evidence, &r.Fix,
			&r.Status, &r.FirstSeen, &r.LastSeen, &r.EvaluatedAt, &version); err != nil {
			return err
		}
		r.Severity, r.Version = schemas.Severity(sev), int64(version)
		r.FirstSeen, r.LastSeen, r.EvaluatedAt = r.FirstSeen.UTC(), r.LastSeen.UTC(), r.EvaluatedAt.UTC()
		out = append(out, r)
		return nil
	})
	return out, err
}
