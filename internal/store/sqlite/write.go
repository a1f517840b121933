package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Each write is one transaction: it returns nil only after the commit, so
// the caller may then commit its Kafka offset. The conflict clauses make a
// redelivered row a no-op (events) or let only a newer version replace the
// stored one (everything else).

const insertEventSQL = `INSERT OR IGNORE INTO events (event_id, time, time_nanos, source, agent_id,
	agent_instance, principal, credential_id, credential_type, credential_issued_at,
	credential_expires_at, on_behalf_of, delegation_chain, action, system, resource,
	resource_type, outcome, error_code, src_ip, src_network, user_agent, bytes, records,
	attributes, unattributed, principal_kind)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// InsertEvents stores events; an event already stored (same agent, time
// and event_id) is ignored.
func (s *Store) InsertEvents(ctx context.Context, evs []schemas.AgentEvent) error {
	return s.batch(ctx, "events", insertEventSQL, len(evs), func(i int) ([]any, error) {
		ev := &evs[i]
		chain, err := store.EncodeJSON(ev.DelegationChain, "[]")
		if err != nil {
			return nil, err
		}
		attrs, err := store.EncodeJSON(ev.Attributes, "{}")
		if err != nil {
			return nil, err
		}
		return []any{ev.EventID, store.FormatTime(ev.Time), ev.Time.Nanosecond(), ev.Source, ev.AgentID,
			ev.AgentInstance, ev.Principal, ev.CredentialID, ev.CredentialType, nullTime(ev.CredentialIssuedAt),
			nullTime(ev.CredentialExpiresAt), ev.OnBehalfOf, chain, ev.Action, ev.System, ev.Resource,
			ev.ResourceType, ev.Outcome, ev.ErrorCode, ev.SrcIP, ev.Network(), ev.UserAgent, ev.Bytes, ev.Records,
			attrs, ev.Unattributed, ev.PrincipalKind}, nil
	})
}

const insertWindowSQL = `INSERT INTO agent_windows (agent_id, window_start, window_end, hour_of_week,
	events, distinct_actions, distinct_resources, distinct_systems, distinct_networks, failures,
	denials, bytes, records, action_counts, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (agent_id, window_start) DO UPDATE SET window_end = excluded.window_end,
	hour_of_week = excluded.hour_of_week, events = excluded.events,
	distinct_actions = excluded.distinct_actions, distinct_resources = excluded.distinct_resources,
	distinct_systems = excluded.distinct_systems, distinct_networks = excluded.distinct_networks,
	failures = excluded.failures, denials = excluded.denials, bytes = excluded.bytes,
	records = excluded.records, action_counts = excluded.action_counts, updated_at = excluded.updated_at
	WHERE excluded.updated_at >= agent_windows.updated_at`

// InsertWindows stores windows; for one agent and window start the row
// with the latest updated_at wins.
func (s *Store) InsertWindows(ctx context.Context, rows []schemas.WindowRow) error {
	return s.batch(ctx, "agent_windows", insertWindowSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		counts, err := store.EncodeJSON(r.ActionCounts, "{}")
		if err != nil {
			return nil, err
		}
		return []any{r.AgentID, store.FormatTime(r.WindowStart), store.FormatTime(r.WindowEnd), r.HourOfWeek,
			r.Events, r.DistinctActions, r.DistinctResources, r.DistinctSystems, r.DistinctNetworks, r.Failures,
			r.Denials, r.Bytes, r.Records, counts, store.FormatTime(r.UpdatedAt)}, nil
	})
}

const insertBaselineSQL = `INSERT INTO agent_baselines (agent_id, feature, samples, median, mad,
	ewma_mean, ewma_var, p50, p95, p99, seasonality, seasonal, mature, first_window, last_window,
	version, updated_at, state)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (agent_id, feature) DO UPDATE SET samples = excluded.samples, median = excluded.median,
	mad = excluded.mad, ewma_mean = excluded.ewma_mean, ewma_var = excluded.ewma_var, p50 = excluded.p50,
	p95 = excluded.p95, p99 = excluded.p99, seasonality = excluded.seasonality, seasonal = excluded.seasonal,
	mature = excluded.mature, first_window = excluded.first_window, last_window = excluded.last_window,
	version = excluded.version, updated_at = excluded.updated_at, state = excluded.state
	WHERE excluded.version > agent_baselines.version`

// InsertBaselines stores profiles; only a higher version replaces the
// stored one, so a redelivered or late older version changes nothing.
func (s *Store) InsertBaselines(ctx context.Context, rows []schemas.BaselineRow) error {
	return s.batch(ctx, "agent_baselines", insertBaselineSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		seasonal, err := store.EncodeJSON(r.Seasonal, "[]")
		if err != nil {
			return nil, err
		}
		return []any{r.AgentID, r.Feature, r.Samples, r.Median, r.MAD, r.EWMAMean, r.EWMAVar, r.P50, r.P95,
			r.P99, r.Seasonality, seasonal, r.Mature, store.FormatTime(r.FirstWindow), store.FormatTime(r.LastWindow),
			r.Version, store.FormatTime(r.UpdatedAt), r.State}, nil
	})
}

const insertPlaygroundSQL = `INSERT INTO agent_playground (agent_id, kind, system, action,
	resource_pattern, value, count, first_seen, last_seen, version)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (agent_id, kind, system, action, resource_pattern, value) DO UPDATE SET
	count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
	version = excluded.version
	WHERE excluded.version > agent_playground.version`

// InsertPlayground stores playground entries; only a higher version
// replaces the stored one.
func (s *Store) InsertPlayground(ctx context.Context, rows []schemas.PlaygroundRow) error {
	return s.batch(ctx, "agent_playground", insertPlaygroundSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		return []any{r.AgentID, r.Kind, r.System, r.Action, r.ResourcePattern, r.Value, r.Count,
			store.FormatTime(r.FirstSeen), store.FormatTime(r.LastSeen), r.Version}, nil
	})
}

const upsertAgentSQL = `INSERT INTO agents (agent_id, display_name, kind, owner, contact, slack_channel,
	pagerduty_service, purpose, status, created_at, expires_at, suspended_at, resumed_at,
	decommissioned_at, declared, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (agent_id) DO UPDATE SET display_name = excluded.display_name, kind = excluded.kind,
	owner = excluded.owner, contact = excluded.contact, slack_channel = excluded.slack_channel,
	pagerduty_service = excluded.pagerduty_service, purpose = excluded.purpose, status = excluded.status,
	created_at = excluded.created_at, expires_at = excluded.expires_at, suspended_at = excluded.suspended_at,
	resumed_at = excluded.resumed_at, decommissioned_at = excluded.decommissioned_at, declared = excluded.declared,
	updated_at = excluded.updated_at
	WHERE excluded.updated_at >= agents.updated_at`

// UpsertAgents stores inventory entries; the latest updated_at wins.
func (s *Store) UpsertAgents(ctx context.Context, rows []schemas.AgentRow) error {
	return s.batch(ctx, "agents", upsertAgentSQL, len(rows), func(i int) ([]any, error) {
		r := &rows[i]
		return []any{r.AgentID, r.DisplayName, r.Kind, r.Owner, r.Contact, r.SlackChannel, r.PagerDutyService,
			r.Purpose, r.Status, nullTime(r.CreatedAt), nullTime(r.ExpiresAt), nullTime(r.SuspendedAt),
			nullTime(r.ResumedAt), nullTime(r.DecommissionedAt), r.Declared,
			store.FormatTime(r.UpdatedAt)}, nil
	})
}

const upsertAlertSQL = `INSERT INTO alerts (id, dedup_key, detector, severity, score, boundary,
	agent_id, agent_instance, display_name, agent_kind, owner, slack_channel, pagerduty_service,
	agent_status, on_behalf_of, principal, credential_id, credential_type, credential_issued_at,
	unattributed, subject, summary, reason, evidence, first_seen, last_seen, count, event_ids,
	status, labels, dry_run, version, distinct_resources, resource_examples, distinct_actions,
	action_examples, distinct_subjects, subject_examples)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET dedup_key = excluded.dedup_key, detector = excluded.detector,
	severity = excluded.severity, score = excluded.score, boundary = excluded.boundary,
	agent_id = excluded.agent_id, agent_instance = excluded.agent_instance,
	display_name = excluded.display_name, agent_kind = excluded.agent_kind, owner = excluded.owner,
	slack_channel = excluded.slack_channel, pagerduty_service = excluded.pagerduty_service,
	agent_status = excluded.agent_status, on_behalf_of = excluded.on_behalf_of,
	principal = excluded.principal, credential_id = excluded.credential_id,
	credential_type = excluded.credential_type, credential_issued_at = excluded.credential_issued_at,
	unattributed = excluded.unattributed, subject = excluded.subject, summary = excluded.summary,
	reason = excluded.reason, evidence = excluded.evidence, first_seen = excluded.first_seen,
	last_seen = excluded.last_seen, count = excluded.count, event_ids = excluded.event_ids,
	status = excluded.status, labels = excluded.labels, dry_run = excluded.dry_run,
	version = excluded.version, distinct_resources = excluded.distinct_resources,
	resource_examples = excluded.resource_examples, distinct_actions = excluded.distinct_actions,
	action_examples = excluded.action_examples, distinct_subjects = excluded.distinct_subjects,
	subject_examples = excluded.subject_examples
	WHERE excluded.version > alerts.version`

// UpsertAlerts stores alert states; see store.AlertVersion for which
// state of one id wins.
func (s *Store) UpsertAlerts(ctx context.Context, alerts []schemas.Alert) error {
	return s.batch(ctx, "alerts", upsertAlertSQL, len(alerts), func(i int) ([]any, error) {
		return alertArgs(&alerts[i])
	})
}

func alertArgs(a *schemas.Alert) ([]any, error) {
	evidence, err := store.EncodeJSON(a.Evidence, "[]")
	if err != nil {
		return nil, err
	}
	ids, err := store.EncodeJSON(a.EventIDs, "[]")
	if err != nil {
		return nil, err
	}
	labels, err := store.EncodeJSON(a.Labels, "{}")
	if err != nil {
		return nil, err
	}
	var examples [3]string
	for i, ex := range [][]string{a.ResourceExamples, a.ActionExamples, a.SubjectExamples} {
		if examples[i], err = store.EncodeJSON(ex, "[]"); err != nil {
			return nil, err
		}
	}
	id := &a.Identity
	return []any{a.ID, a.DedupKey, a.Detector, string(a.Severity), a.Score, a.Boundary,
		id.AgentID, id.AgentInstance, id.DisplayName, id.Kind, id.Owner, id.SlackChannel, id.PagerDutyService,
		id.Status, id.OnBehalfOf, id.Principal, id.CredentialID, id.CredentialType, nullTime(id.CredentialIssued),
		id.Unattributed, a.Subject, a.Summary, a.Reason, evidence, store.FormatTime(a.FirstSeen),
		store.FormatTime(a.LastSeen), a.Count, ids, a.Status, labels, a.DryRun, store.AlertVersion(a),
		a.DistinctResources, examples[0], a.DistinctActions, examples[1], a.DistinctSubjects, examples[2]}, nil
}

// batch runs one prepared statement for n rows in one transaction.
func (s *Store) batch(ctx context.Context, table, query string, n int, args func(i int) ([]any, error)) error {
	if n == 0 {
		return nil
	}
	if s.rw == nil {
		return fmt.Errorf("insert %s: %w", table, ErrReadOnly)
	}
	tx, err := s.rw.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert %s: begin: %w", table, err)
	}
	defer tx.Rollback()
	// Many rows per statement: one statement step per row costs far more
	// in database/sql and the VDBE than the row itself.
	head, tuple, tail := splitValues(query)
	per := rowsPerStatement
	if tuple == "" {
		per = 1
	}
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	vals := make([]any, 0, per*32)
	for i := 0; i < n; i += per {
		k := min(per, n-i)
		st := stmts[k]
		if st == nil {
			q := query
			if tuple != "" {
				q = head + strings.TrimSuffix(strings.Repeat(tuple+", ", k), ", ") + tail
			}
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return fmt.Errorf("insert %s: prepare: %w", table, err)
			}
			stmts[k] = st
		}
		vals = vals[:0]
		for j := i; j < i+k; j++ {
			a, err := args(j)
			if err != nil {
				return fmt.Errorf("insert %s: row %d: encode: %w", table, j, err)
			}
			vals = append(vals, a...)
		}
		if _, err := st.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("insert %s: rows %d-%d: %w", table, i, i+k-1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert %s: commit: %w", table, err)
	}
	return nil
}

// rowsPerStatement keeps a statement's parameters (26 per event row)
// well under SQLite's limit of 32766.
const rowsPerStatement = 100

// splitValues cuts "INSERT ... VALUES (?, ...) ON CONFLICT ..." into the
// part before the tuple, the tuple and the rest, so that several tuples
// can stand in one statement. tuple is "" when the form is not found.
func splitValues(q string) (head, tuple, tail string) {
	i := strings.Index(q, "VALUES (")
	if i < 0 {
		return q, "", ""
	}
	j := strings.Index(q[i:], ")")
	if j < 0 {
		return q, "", ""
	}
	tuple = q[i+len("VALUES ") : i+j+1]
	if strings.Trim(tuple, "(?, )") != "" {
		return q, "", "" // expressions in the tuple: keep one row per statement
	}
	return q[:i+len("VALUES ")], tuple, q[i+j+1:]
}

// nullTime maps an unset optional time to NULL.
func nullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return store.FormatTime(*t)
}
