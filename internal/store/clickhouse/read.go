package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Reads never rely on ReplacingMergeTree merges having happened: each
// takes one row per key with ORDER BY ... LIMIT 1 BY (18.16 and current
// ClickHouse both have it), preferring the highest version.

// LoadBaselines returns the latest version of each feature of each agent.
func (s *Store) LoadBaselines(ctx context.Context, agentIDs []string) ([]schemas.BaselineRow, error) {
	where, args := agentFilter(" WHERE ", agentIDs)
	var out []schemas.BaselineRow
	err := s.each(ctx, "load baselines", `SELECT agent_id, feature, samples, median, mad, ewma_mean, ewma_var,
		p50, p95, p99, seasonality, seasonal, mature, first_window, last_window, version, updated_at, state
		FROM agent_baselines`+where+`
		ORDER BY agent_id, feature, version DESC LIMIT 1 BY agent_id, feature`, args, func(rows driver.Rows) error {
		var r schemas.BaselineRow
		var mature uint8
		var version uint64
		var state string
		if err := rows.Scan(&r.AgentID, &r.Feature, &r.Samples, &r.Median, &r.MAD, &r.EWMAMean, &r.EWMAVar,
			&r.P50, &r.P95, &r.P99, &r.Seasonality, &r.Seasonal, &mature, &r.FirstWindow, &r.LastWindow,
			&version, &r.UpdatedAt, &state); err != nil {
			return err
		}
		r.Mature, r.Version = mature == 1, int64(version)
		r.FirstWindow, r.LastWindow, r.UpdatedAt = r.FirstWindow.UTC(), r.LastWindow.UTC(), r.UpdatedAt.UTC()
		if len(r.Seasonal) == 0 {
			r.Seasonal = nil
		}
		if state != "" {
			r.State = []byte(state)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// LoadPlayground returns the latest version of each playground entry.
func (s *Store) LoadPlayground(ctx context.Context, agentIDs []string) ([]schemas.PlaygroundRow, error) {
	where, args := agentFilter(" WHERE ", agentIDs)
	var out []schemas.PlaygroundRow
	err := s.each(ctx, "load playground", `SELECT agent_id, kind, system, action, resource_pattern, value,
		count, first_seen, last_seen, version FROM agent_playground`+where+`
		ORDER BY agent_id, kind, system, action, resource_pattern, value, version DESC
		LIMIT 1 BY agent_id, kind, system, action, resource_pattern, value`, args, func(rows driver.Rows) error {
		var r schemas.PlaygroundRow
		var version uint64
		if err := rows.Scan(&r.AgentID, &r.Kind, &r.System, &r.Action, &r.ResourcePattern, &r.Value, &r.Count,
			&r.FirstSeen, &r.LastSeen, &version); err != nil {
			return err
		}
		r.Version = int64(version)
		r.FirstSeen, r.LastSeen = r.FirstSeen.UTC(), r.LastSeen.UTC()
		out = append(out, r)
		return nil
	})
	return out, err
}

// LoadWindows returns an agent's windows from since on, one per start.
func (s *Store) LoadWindows(ctx context.Context, agentID string, since time.Time) ([]schemas.WindowRow, error) {
	var out []schemas.WindowRow
	err := s.each(ctx, "load windows", `SELECT agent_id, window_start, window_end, hour_of_week, events,
		distinct_actions, distinct_resources, distinct_systems, distinct_networks, failures, denials, bytes,
		records, action_counts, updated_at FROM agent_windows
		WHERE agent_id = ? AND window_start >= toDateTime(?)
		ORDER BY window_start, updated_at DESC LIMIT 1 BY window_start`,
		[]any{agentID, epoch(since)}, func(rows driver.Rows) error {
			var r schemas.WindowRow
			var how uint16
			var counts string
			if err := rows.Scan(&r.AgentID, &r.WindowStart, &r.WindowEnd, &how, &r.Events, &r.DistinctActions,
				&r.DistinctResources, &r.DistinctSystems, &r.DistinctNetworks, &r.Failures, &r.Denials, &r.Bytes,
				&r.Records, &counts, &r.UpdatedAt); err != nil {
				return err
			}
			r.HourOfWeek = int(how)
			r.WindowStart, r.WindowEnd, r.UpdatedAt = r.WindowStart.UTC(), r.WindowEnd.UTC(), r.UpdatedAt.UTC()
			if err := store.DecodeJSON(counts, &r.ActionCounts); err != nil {
				return fmt.Errorf("action_counts: %w", err)
			}
			out = append(out, r)
			return nil
		})
	return out, err
}

// ScanEvents streams the distinct events of the given agents (all when
// empty) with time in [from, to). The server filters at whole seconds;
// time_nanos refines the bounds here. Long agent lists are queried in
// chunks, so every agent's events still come in time order.
func (s *Store) ScanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error {
	for len(agentIDs) > maxScanAgents {
		if err := s.scanEvents(ctx, agentIDs[:maxScanAgents], from, to, fn); err != nil {
			return err
		}
		agentIDs = agentIDs[maxScanAgents:]
	}
	return s.scanEvents(ctx, agentIDs, from, to, fn)
}

// maxScanAgents bounds the IN list of one scan (and so the query's size,
// which the server caps at max_query_size, 256 KiB by default).
const maxScanAgents = 1000

// scanBlockRows is the block size asked of the server for event scans.
const scanBlockRows = 8192

func (s *Store) scanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error {
	q := `SELECT ` + store.EventColumns + ` FROM events WHERE time >= toDateTime(?) AND time <= toDateTime(?)`
	args := []any{epoch(from), epoch(to)}
	cond, ids := agentFilter(" AND ", agentIDs)
	q += cond
	args = append(args, ids...)
	q += ` ORDER BY time, time_nanos, event_id LIMIT 1 BY event_id`
	// A scan reads every event of a window: blocks of scanBlockRows keep
	// the rows the driver holds decoded at a time (a block and the few it
	// reads ahead) to tens of megabytes, where the server's default of
	// 65,536 rows made a 30-day posture scan hold hundreds.
	ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"max_block_size": scanBlockRows}))
	return s.each(ctx, "scan events", q, args, func(rows driver.Rows) error {
		ev, err := scanEvent(rows)
		if err != nil {
			return err
		}
		if ev.Time.Before(from) || !ev.Time.Before(to) {
			return nil
		}
		return fn(ev)
	})
}

// SearchEvents returns the distinct events matching q, newest first.
func (s *Store) SearchEvents(ctx context.Context, q store.EventSearch) ([]schemas.AgentEvent, error) {
	query, args := store.SearchSQL(store.DialectClickHouse, q)
	var out []schemas.AgentEvent
	err := s.each(ctx, "search events", query, args, func(rows driver.Rows) error {
		ev, err := scanEvent(rows)
		if err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	return out, err
}

// scanEvent decodes one row of store.EventColumns.
func scanEvent(rows driver.Rows) (schemas.AgentEvent, error) {
	var ev schemas.AgentEvent
	var nanos uint32
	var unattributed uint8
	var attrs string
	if err := rows.Scan(&ev.EventID, &ev.Time, &nanos, &ev.Source, &ev.AgentID, &ev.AgentInstance,
		&ev.Principal, &ev.CredentialID, &ev.CredentialType, &ev.CredentialIssuedAt, &ev.CredentialExpiresAt,
		&ev.OnBehalfOf, &ev.DelegationChain, &ev.Action, &ev.System, &ev.Resource, &ev.ResourceType,
		&ev.Outcome, &ev.ErrorCode, &ev.SrcIP, &ev.UserAgent, &ev.Bytes, &ev.Records, &attrs,
		&unattributed, &ev.PrincipalKind); err != nil {
		return ev, err
	}
	ev.Time = ev.Time.UTC().Add(time.Duration(nanos))
	ev.CredentialIssuedAt, ev.CredentialExpiresAt = utcPtr(ev.CredentialIssuedAt), utcPtr(ev.CredentialExpiresAt)
	ev.Unattributed = unattributed == 1
	if len(ev.DelegationChain) == 0 {
		ev.DelegationChain = nil
	}
	if err := store.DecodeJSON(attrs, &ev.Attributes); err != nil {
		return ev, fmt.Errorf("attributes: %w", err)
	}
	return ev, nil
}

// LoadAlerts returns the current state of each alert matching f, most
// recent first. The filters apply to the current state only, so an alert
// resolved since is not returned as firing.
func (s *Store) LoadAlerts(ctx context.Context, f store.AlertFilter) ([]schemas.Alert, error) {
	q := `SELECT id, dedup_key, detector, severity, score, boundary, agent_id, agent_instance, display_name,
		agent_kind, owner, slack_channel, pagerduty_service, agent_status, on_behalf_of, principal,
		credential_id, credential_type, credential_issued_at, unattributed, subject, summary, reason,
		evidence, first_seen, last_seen, count, event_ids, status, labels, dry_run, distinct_resources,
		resource_examples, distinct_actions, action_examples, distinct_subjects, subject_examples
		FROM (SELECT * FROM alerts ORDER BY id, version DESC LIMIT 1 BY id) WHERE 1 = 1`
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
		q += ` AND last_seen >= toDateTime(?)`
		args = append(args, epoch(f.Since))
	}
	q += ` ORDER BY last_seen DESC, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var out []schemas.Alert
	err := s.each(ctx, "load alerts", q, args, func(rows driver.Rows) error {
		var a schemas.Alert
		var sev, evidence, labels string
		var score int32
		var count, dRes, dAct, dSub int64
		var unattributed, dryRun uint8
		id := &a.Identity
		if err := rows.Scan(&a.ID, &a.DedupKey, &a.Detector, &sev, &score, &a.Boundary, &id.AgentID,
			&id.AgentInstance, &id.DisplayName, &id.Kind, &id.Owner, &id.SlackChannel, &id.PagerDutyService,
			&id.Status, &id.OnBehalfOf, &id.Principal, &id.CredentialID, &id.CredentialType, &id.CredentialIssued,
			&unattributed, &a.Subject, &a.Summary, &a.Reason, &evidence, &a.FirstSeen, &a.LastSeen, &count,
			&a.EventIDs, &a.Status, &labels, &dryRun, &dRes, &a.ResourceExamples, &dAct, &a.ActionExamples,
			&dSub, &a.SubjectExamples); err != nil {
			return err
		}
		a.Severity, a.Score, a.Count = schemas.Severity(sev), int(score), int(count)
		a.DistinctResources, a.DistinctActions, a.DistinctSubjects = int(dRes), int(dAct), int(dSub)
		for _, ex := range []*[]string{&a.ResourceExamples, &a.ActionExamples, &a.SubjectExamples} {
			if len(*ex) == 0 {
				*ex = nil
			}
		}
		id.Unattributed, a.DryRun = unattributed == 1, dryRun == 1
		id.CredentialIssued = utcPtr(id.CredentialIssued)
		a.FirstSeen, a.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
		if len(a.EventIDs) == 0 {
			a.EventIDs = nil
		}
		if err := store.DecodeJSON(evidence, &a.Evidence); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		if err := store.DecodeJSON(labels, &a.Labels); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// agentFilter is the condition on agent_id for ids (none when empty),
// joined by join (" WHERE " or " AND ").
func agentFilter(join string, ids []string) (string, []any) {
	if len(ids) == 0 {
		return "", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return join + "agent_id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")", args
}

// each runs a query and decodes every row; fn's error stops the scan.
func (s *Store) each(ctx context.Context, op, query string, args []any, fn func(driver.Rows) error) error {
	rows, err := s.conn.Query(ctx, query, args...)
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

// epoch is store.Epoch: a bound as a DateTime's seconds.
func epoch(t time.Time) int64 { return store.Epoch(t) }
