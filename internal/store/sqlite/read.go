package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// maxInArgs keeps IN lists well under SQLite's bound-parameter limit.
const maxInArgs = 500

// scanner is what *sql.Rows offers to the row decoders.
type scanner interface{ Scan(dest ...any) error }

// inChunks runs fn once for all rows (ids empty) or once per chunk of
// ids, with the agent condition joined by join (" WHERE " or " AND ").
func inChunks(join string, ids []string, fn func(cond string, args []any) error) error {
	if len(ids) == 0 {
		return fn("", nil)
	}
	for len(ids) > 0 {
		n := min(len(ids), maxInArgs)
		if err := fn(join+"agent_id IN "+inClause(n), stringArgs(ids[:n])); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

const baselineCols = `agent_id, feature, samples, median, mad, ewma_mean, ewma_var, p50, p95, p99,
	seasonality, seasonal, mature, first_window, last_window, version, updated_at, state`

// LoadBaselines returns the stored (latest) profile of each feature of the
// given agents (all when empty), ordered by agent and feature.
func (s *Store) LoadBaselines(ctx context.Context, agentIDs []string) ([]schemas.BaselineRow, error) {
	var out []schemas.BaselineRow
	err := inChunks(" WHERE ", agentIDs, func(where string, args []any) error {
		return s.each(ctx, "load baselines", `SELECT `+baselineCols+` FROM agent_baselines`+where+` ORDER BY agent_id, feature`, args,
			func(sc scanner) error {
				var r schemas.BaselineRow
				var seasonal, first, last, updated string
				if err := sc.Scan(&r.AgentID, &r.Feature, &r.Samples, &r.Median, &r.MAD, &r.EWMAMean, &r.EWMAVar,
					&r.P50, &r.P95, &r.P99, &r.Seasonality, &seasonal, &r.Mature, &first, &last, &r.Version,
					&updated, &r.State); err != nil {
					return err
				}
				if err := parseTimes(map[*time.Time]string{&r.FirstWindow: first, &r.LastWindow: last, &r.UpdatedAt: updated}); err != nil {
					return err
				}
				if err := store.DecodeJSON(seasonal, &r.Seasonal); err != nil {
					return fmt.Errorf("seasonal: %w", err)
				}
				out = append(out, r)
				return nil
			})
	})
	if len(agentIDs) > maxInArgs {
		store.SortBaselines(out)
	}
	return out, err
}

// LoadPlayground returns the stored (latest) version of each playground
// entry of the given agents (all when empty).
func (s *Store) LoadPlayground(ctx context.Context, agentIDs []string) ([]schemas.PlaygroundRow, error) {
	var out []schemas.PlaygroundRow
	err := inChunks(" WHERE ", agentIDs, func(where string, args []any) error {
		return s.each(ctx, "load playground", `SELECT agent_id, kind, system, action, resource_pattern, value,
			count, first_seen, last_seen, version FROM agent_playground`+where+`
			ORDER BY agent_id, kind, system, action, resource_pattern, value`, args,
			func(sc scanner) error {
				var r schemas.PlaygroundRow
				var first, last string
				if err := sc.Scan(&r.AgentID, &r.Kind, &r.System, &r.Action, &r.ResourcePattern, &r.Value,
					&r.Count, &first, &last, &r.Version); err != nil {
					return err
				}
				if err := parseTimes(map[*time.Time]string{&r.FirstSeen: first, &r.LastSeen: last}); err != nil {
					return err
				}
				out = append(out, r)
				return nil
			})
	})
	if len(agentIDs) > maxInArgs {
		store.SortPlayground(out)
	}
	return out, err
}

// LoadWindows returns an agent's windows starting at or after since.
func (s *Store) LoadWindows(ctx context.Context, agentID string, since time.Time) ([]schemas.WindowRow, error) {
	var out []schemas.WindowRow
	err := s.each(ctx, "load windows", `SELECT agent_id, window_start, window_end, hour_of_week, events,
		distinct_actions, distinct_resources, distinct_systems, distinct_networks, failures, denials,
		bytes, records, action_counts, updated_at FROM agent_windows
		WHERE agent_id = ? AND window_start >= ? ORDER BY window_start`,
		[]any{agentID, store.FormatTime(since)}, func(sc scanner) error {
			var r schemas.WindowRow
			var start, end, counts, updated string
			if err := sc.Scan(&r.AgentID, &start, &end, &r.HourOfWeek, &r.Events, &r.DistinctActions,
				&r.DistinctResources, &r.DistinctSystems, &r.DistinctNetworks, &r.Failures, &r.Denials,
				&r.Bytes, &r.Records, &counts, &updated); err != nil {
				return err
			}
			if err := parseTimes(map[*time.Time]string{&r.WindowStart: start, &r.WindowEnd: end, &r.UpdatedAt: updated}); err != nil {
				return err
			}
			if err := store.DecodeJSON(counts, &r.ActionCounts); err != nil {
				return fmt.Errorf("action_counts: %w", err)
			}
			out = append(out, r)
			return nil
		})
	return out, err
}

// ScanEvents calls fn for each stored event of the given agents (all when
// empty) with time in [from, to). The bounds are compared at second
// precision and then refined with time_nanos, so sub-second bounds work
// too. Long agent lists are queried in chunks; each agent's events still
// come in time order.
func (s *Store) ScanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error {
	return inChunks(" AND ", agentIDs, func(cond string, args []any) error {
		return s.scanEvents(ctx, cond, args, from, to, fn)
	})
}

func (s *Store) scanEvents(ctx context.Context, agentCond string, agentArgs []any, from, to time.Time, fn func(schemas.AgentEvent) error) error {
	q := `SELECT ` + store.EventColumns + ` FROM events WHERE time >= ? AND time <= ?`
	args := append([]any{store.FormatTime(from), store.FormatTime(to)}, agentArgs...)
	q += agentCond
	q += ` ORDER BY time, time_nanos, event_id`
	return s.each(ctx, "scan events", q, args, func(sc scanner) error {
		ev, err := scanEvent(sc)
		if err != nil {
			return err
		}
		if ev.Time.Before(from) || !ev.Time.Before(to) {
			return nil
		}
		return fn(ev)
	})
}

// SearchEvents returns the events matching q, newest first.
func (s *Store) SearchEvents(ctx context.Context, q store.EventSearch) ([]schemas.AgentEvent, error) {
	query, args := store.SearchSQL(store.DialectSQLite, q)
	var out []schemas.AgentEvent
	err := s.each(ctx, "search events", query, args, func(sc scanner) error {
		ev, err := scanEvent(sc)
		if err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	return out, err
}

// scanEvent decodes one row of store.EventColumns.
func scanEvent(sc scanner) (schemas.AgentEvent, error) {
	var ev schemas.AgentEvent
	var tm, chain, attrs string
	var nanos int
	var issued, expires sql.NullString
	if err := sc.Scan(&ev.EventID, &tm, &nanos, &ev.Source, &ev.AgentID, &ev.AgentInstance, &ev.Principal,
		&ev.CredentialID, &ev.CredentialType, &issued, &expires, &ev.OnBehalfOf, &chain, &ev.Action,
		&ev.System, &ev.Resource, &ev.ResourceType, &ev.Outcome, &ev.ErrorCode, &ev.SrcIP, &ev.UserAgent,
		&ev.Bytes, &ev.Records, &attrs, &ev.Unattributed, &ev.PrincipalKind); err != nil {
		return ev, err
	}
	t, err := store.ParseTime(tm)
	if err != nil {
		return ev, err
	}
	ev.Time = t.Add(time.Duration(nanos))
	if ev.CredentialIssuedAt, err = parseNullTime(issued); err != nil {
		return ev, err
	}
	if ev.CredentialExpiresAt, err = parseNullTime(expires); err != nil {
		return ev, err
	}
	if err := store.DecodeJSON(chain, &ev.DelegationChain); err != nil {
		return ev, fmt.Errorf("delegation_chain: %w", err)
	}
	if err := store.DecodeJSON(attrs, &ev.Attributes); err != nil {
		return ev, fmt.Errorf("attributes: %w", err)
	}
	return ev, nil
}

// LoadAlerts returns the stored alerts matching f, most recent first.
func (s *Store) LoadAlerts(ctx context.Context, f store.AlertFilter) ([]schemas.Alert, error) {
	q := `SELECT id, dedup_key, detector, severity, score, boundary, agent_id, agent_instance, display_name,
		agent_kind, owner, slack_channel, pagerduty_service, agent_status, on_behalf_of, principal,
		credential_id, credential_type, credential_issued_at, unattributed, subject, summary, reason,
		evidence, first_seen, last_seen, count, event_ids, status, labels, dry_run, distinct_resources,
		resource_examples, distinct_actions, action_examples, distinct_subjects, subject_examples
		FROM alerts WHERE 1 = 1`
	var args []any
	if f.ID != "" {
		q += ` AND id = ?`
		args = append(args, f.ID)
	}
	if f.AgentID != "" {
		q += ` AND agent_id = ?`
		args = append(args, f.AgentID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if !f.Since.IsZero() {
		q += ` AND last_seen >= ?`
		args = append(args, store.FormatTime(f.Since))
	}
	q += ` ORDER BY last_seen DESC, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var out []schemas.Alert
	err := s.each(ctx, "load alerts", q, args, func(sc scanner) error {
		var a schemas.Alert
		var sev, evidence, first, last, ids, labels string
		var examples [3]string
		var issued sql.NullString
		id := &a.Identity
		if err := sc.Scan(&a.ID, &a.DedupKey, &a.Detector, &sev, &a.Score, &a.Boundary, &id.AgentID,
			&id.AgentInstance, &id.DisplayName, &id.Kind, &id.Owner, &id.SlackChannel, &id.PagerDutyService,
			&id.Status, &id.OnBehalfOf, &id.Principal, &id.CredentialID, &id.CredentialType, &issued,
			&id.Unattributed, &a.Subject, &a.Summary, &a.Reason, &evidence, &first, &last, &a.Count, &ids,
			&a.Status, &labels, &a.DryRun, &a.DistinctResources, &examples[0], &a.DistinctActions, &examples[1],
			&a.DistinctSubjects, &examples[2]); err != nil {
			return err
		}
		for i, dst := range []*[]string{&a.ResourceExamples, &a.ActionExamples, &a.SubjectExamples} {
			if err := store.DecodeJSON(examples[i], dst); err != nil {
				return fmt.Errorf("examples: %w", err)
			}
		}
		a.Severity = schemas.Severity(sev)
		var err error
		if id.CredentialIssued, err = parseNullTime(issued); err != nil {
			return err
		}
		if err := parseTimes(map[*time.Time]string{&a.FirstSeen: first, &a.LastSeen: last}); err != nil {
			return err
		}
		if err := store.DecodeJSON(evidence, &a.Evidence); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		if err := store.DecodeJSON(ids, &a.EventIDs); err != nil {
			return fmt.Errorf("event_ids: %w", err)
		}
		if err := store.DecodeJSON(labels, &a.Labels); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// each runs a query on the read-only pool and decodes every row.
func (s *Store) each(ctx context.Context, op, query string, args []any, fn func(scanner) error) error {
	rows, err := s.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: row %d: %w", op, n, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

func parseTimes(m map[*time.Time]string) error {
	for dst, s := range m {
		t, err := store.ParseTime(s)
		if err != nil {
			return err
		}
		*dst = t
	}
	return nil
}

func parseNullTime(ns sql.NullString) (*time.Time, error) {
	if !ns.Valid || ns.String == "" {
		return nil, nil
	}
	t, err := store.ParseTime(ns.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
