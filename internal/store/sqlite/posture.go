package sqlite

import (
	"context"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

const upsertFindingSQL = `INSERT INTO posture_finding_states (id, type, severity, agent_id, owner, subject,
	summary, evidence, fix, status, first_seen, last_seen, evaluated_at, version)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET type = excluded.type, severity = excluded.severity,
	agent_id = excluded.agent_id, owner = excluded.owner, subject = excluded.subject,
	summary = excluded.summary, evidence = excluded.evidence, fix = excluded.fix, status = excluded.status,
	first_seen = excluded.first_seen, last_seen = excluded.last_seen, evaluated_at = excluded.evaluated_at,
	version = excluded.version
	WHERE excluded.version > posture_finding_states.version`

// UpsertPostureFindings stores finding states; for one id the highest
// version wins.
func (s *Store) UpsertPostureFindings(ctx context.Context, rows []schemas.PostureFindingRow) error {
	return s.batch(ctx, "posture_finding_states", upsertFindingSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		return []any{r.ID, r.Type, string(r.Severity), r.AgentID, r.Owner, r.Subject, r.Summary, r.Evidence, r.Fix,
			r.Status, store.FormatTime(r.FirstSeen), store.FormatTime(r.LastSeen), store.FormatTime(r.EvaluatedAt),
			r.Version}, nil
	})
}

// LoadPostureFindings returns the current state of every finding.
func (s *Store) LoadPostureFindings(ctx context.Context) ([]schemas.PostureFindingRow, error) {
	var out []schemas.PostureFindingRow
	err := s.each(ctx, "load posture findings", `SELECT id, type, severity, agent_id, owner, subject, summary,
		evidence, fix, status, first_seen, last_seen, evaluated_at, version FROM posture_finding_states ORDER BY id`, nil,
		func(sc scanner) error {
			var r schemas.PostureFindingRow
			var sev, first, last, eval string
			if err := sc.Scan(&r.ID, &r.Type, &sev, &r.AgentID, &r.Owner, &r.Subject, &r.Summary, &r.Evidence, &r.Fix,
				&r.Status, &first, &last, &eval, &r.Version); err != nil {
				return err
			}
			r.Severity = schemas.Severity(sev)
			if err := parseTimes(map[*time.Time]string{&r.FirstSeen: first, &r.LastSeen: last, &r.EvaluatedAt: eval}); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	return out, err
}
