package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Every insert names its columns, so that a column added by a later
// migration (with a default) does not break an older binary, and the
// order of columns in the DDL does not matter.

const insertEventsSQL = `INSERT INTO events (event_id, time, time_nanos, source, agent_id,
	agent_instance, principal, credential_id, credential_type, credential_issued_at,
	credential_expires_at, on_behalf_of, delegation_chain, action, system, resource,
	resource_type, outcome, error_code, src_ip, src_network, user_agent, bytes, records,
	attributes, unattributed, principal_kind)`

// InsertEvents hands the events to the batcher and returns once the batch
// holding them is stored. A redelivered event is stored again and
// collapsed by ReplacingMergeTree; the documented queries count it once.
func (s *Store) InsertEvents(ctx context.Context, evs []schemas.AgentEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return s.events.add(ctx, evs)
}

// writeEvents stores rows in batches of at most size, each retried. The
// columns of the next batch are built while the current one is sent, so
// our CPU work overlaps the server's.
func (s *Store) writeEvents(ctx context.Context, rows []schemas.AgentEvent, size int) error {
	type chunk struct {
		n    int
		cols []any
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(chunks)
		for len(rows) > 0 {
			n := min(len(rows), size)
			cols, err := eventColumnsOf(rows[:n])
			select {
			case chunks <- chunk{n: n, cols: cols, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			rows = rows[n:]
		}
	}()
	defer wg.Wait()
	for c := range chunks {
		if c.err != nil {
			return fmt.Errorf("write events: %w", c.err)
		}
		if err := s.insertColumns(ctx, "events", insertEventsSQL, c.n, c.cols); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// eventColumnsOf turns rows into one slice per column, in the order of
// insertEventsSQL. Appending whole columns is the driver's fast path: one
// type switch per column instead of one per value, which matters at the
// event rate.
func eventColumnsOf(rows []schemas.AgentEvent) ([]any, error) {
	n := len(rows)
	var (
		ids, sources, agents, instances, principals, credIDs, credTypes = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		behalf, actions, systems, resources, resTypes, outcomes         = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		errCodes, ips, networks, agentsUA, attrs                        = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		times                                                           = make([]time.Time, n)
		nanos                                                           = make([]uint32, n)
		issued, expires                                                 = make([]*time.Time, n), make([]*time.Time, n)
		chains                                                          = make([][]string, n)
		bytes, records                                                  = make([]int64, n), make([]int64, n)
		unattributed                                                    = make([]uint8, n)
		kinds                                                           = make([]string, n)
	)
	for i := range rows {
		ev := &rows[i]
		a, err := store.EncodeJSON(ev.Attributes, "{}")
		if err != nil {
			return nil, fmt.Errorf("event %s: attributes: %w", ev.EventID, err)
		}
		ids[i], times[i], nanos[i], sources[i], agents[i] = ev.EventID, ev.Time.UTC(), uint32(ev.Time.Nanosecond()), ev.Source, ev.AgentID
		instances[i], principals[i], credIDs[i], credTypes[i] = ev.AgentInstance, ev.Principal, ev.CredentialID, ev.CredentialType
		issued[i], expires[i], behalf[i], chains[i] = utcPtr(ev.CredentialIssuedAt), utcPtr(ev.CredentialExpiresAt), ev.OnBehalfOf, nonNil(ev.DelegationChain)
		actions[i], systems[i], resources[i], resTypes[i], outcomes[i] = ev.Action, ev.System, ev.Resource, ev.ResourceType, ev.Outcome
		errCodes[i], ips[i], networks[i], agentsUA[i] = ev.ErrorCode, ev.SrcIP, ev.Network(), ev.UserAgent
		bytes[i], records[i], attrs[i], unattributed[i], kinds[i] = ev.Bytes, ev.Records, a, u8(ev.Unattributed), ev.PrincipalKind
	}
	return []any{ids, times, nanos, sources, agents, instances, principals, credIDs, credTypes, issued, expires,
		behalf, chains, actions, systems, resources, resTypes, outcomes, errCodes, ips, networks, agentsUA, bytes,
		records, attrs, unattributed, kinds}, nil
}

// insertColumns writes n rows given as one slice per column, retrying
// like insert.
func (s *Store) insertColumns(ctx context.Context, table, query string, n int, cols []any) error {
	err := s.retry(ctx, table, func(ctx context.Context) error {
		b, err := s.conn.PrepareBatch(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		for i, c := range cols {
			if err := b.Column(i).Append(c); err != nil {
				b.Abort()
				return &columnError{fmt.Errorf("column %d: %w", i, err)}
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("send %d rows: %w", n, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.m.Rows.WithLabelValues(table).Add(float64(n))
	return nil
}

// InsertWindows stores windows; queries take the latest updated_at per
// agent and window start.
func (s *Store) InsertWindows(ctx context.Context, rows []schemas.WindowRow) error {
	return s.insert(ctx, "agent_windows", `INSERT INTO agent_windows (agent_id, window_start, window_end,
		hour_of_week, events, distinct_actions, distinct_resources, distinct_systems, distinct_networks,
		failures, denials, bytes, records, action_counts, updated_at)`, len(rows), func(b driver.Batch, i int) error {
		r := &rows[i]
		counts, err := store.EncodeJSON(r.ActionCounts, "{}")
		if err != nil {
			return err
		}
		return b.Append(r.AgentID, r.WindowStart.UTC(), r.WindowEnd.UTC(), uint16(r.HourOfWeek), r.Events,
			r.DistinctActions, r.DistinctResources, r.DistinctSystems, r.DistinctNetworks, r.Failures, r.Denials,
			r.Bytes, r.Records, counts, r.UpdatedAt.UTC())
	})
}

// InsertBaselines stores profile versions; queries take the highest.
func (s *Store) InsertBaselines(ctx context.Context, rows []schemas.BaselineRow) error {
	return s.insert(ctx, "agent_baselines", `INSERT INTO agent_baselines (agent_id, feature, samples, median,
		mad, ewma_mean, ewma_var, p50, p95, p99, seasonality, seasonal, mature, first_window, last_window,
		version, updated_at, state)`, len(rows), func(b driver.Batch, i int) error {
		r := &rows[i]
		if r.Version < 0 {
			return fmt.Errorf("version %d is negative", r.Version)
		}
		return b.Append(r.AgentID, r.Feature, r.Samples, r.Median, r.MAD, r.EWMAMean, r.EWMAVar, r.P50, r.P95,
			r.P99, r.Seasonality, nonNilF(r.Seasonal), u8(r.Mature), r.FirstWindow.UTC(), r.LastWindow.UTC(),
			uint64(r.Version), r.UpdatedAt.UTC(), string(r.State))
	})
}

// InsertPlayground stores playground entry versions; queries take the
// highest.
func (s *Store) InsertPlayground(ctx context.Context, rows []schemas.PlaygroundRow) error {
	return s.insert(ctx, "agent_playground", `INSERT INTO agent_playground (agent_id, kind, system, action,
		resource_pattern, value, count, first_seen, last_seen, version)`, len(rows), func(b driver.Batch, i int) error {
		r := &rows[i]
		if r.Version < 0 {
			return fmt.Errorf("version %d is negative", r.Version)
		}
		return b.Append(r.AgentID, r.Kind, r.System, r.Action, r.ResourcePattern, r.Value, r.Count,
			r.FirstSeen.UTC(), r.LastSeen.UTC(), uint64(r.Version))
	})
}

// UpsertAgents stores inventory rows; queries take the latest updated_at.
func (s *Store) UpsertAgents(ctx context.Context, rows []schemas.AgentRow) error {
	return s.insert(ctx, "agents", `INSERT INTO agents (agent_id, display_name, kind, owner, contact,
		slack_channel, pagerduty_service, purpose, status, created_at, expires_at, suspended_at, resumed_at,
		decommissioned_at, declared, updated_at)`,
		len(rows), func(b driver.Batch, i int) error {
			r := &rows[i]
			return b.Append(r.AgentID, r.DisplayName, r.Kind, r.Owner, r.Contact, r.SlackChannel, r.PagerDutyService,
				r.Purpose, r.Status, utcPtr(r.CreatedAt), utcPtr(r.ExpiresAt), utcPtr(r.SuspendedAt), utcPtr(r.ResumedAt),
				utcPtr(r.DecommissionedAt), r.Declared, r.UpdatedAt.UTC())
		})
}

// UpsertAlerts stores alert states; queries take the highest version
// (store.AlertVersion) per id.
func (s *Store) UpsertAlerts(ctx context.Context, alerts []schemas.Alert) error {
	return s.insert(ctx, "alerts", `INSERT INTO alerts (id, dedup_key, detector, severity, score, boundary,
		agent_id, agent_instance, display_name, agent_kind, owner, slack_channel, pagerduty_service,
		agent_status, on_behalf_of, principal, credential_id, credential_type, credential_issued_at,
		unattributed, subject, summary, reason, evidence, first_seen, last_seen, count, event_ids,
		status, labels, dry_run, version, distinct_resources, resource_examples, distinct_actions,
		action_examples, distinct_subjects, subject_examples)`, len(alerts), func(b driver.Batch, i int) error {
		a := &alerts[i]
		evidence, err := store.EncodeJSON(a.Evidence, "[]")
		if err != nil {
			return err
		}
		labels, err := store.EncodeJSON(a.Labels, "{}")
		if err != nil {
			return err
		}
		id := &a.Identity
		return b.Append(a.ID, a.DedupKey, a.Detector, string(a.Severity), int32(a.Score), a.Boundary,
			id.AgentID, id.AgentInstance, id.DisplayName, id.Kind, id.Owner, id.SlackChannel, id.PagerDutyService,
			id.Status, id.OnBehalfOf, id.Principal, id.CredentialID, id.CredentialType, utcPtr(id.CredentialIssued),
			u8(id.Unattributed), a.Subject, a.Summary, a.Reason, evidence, a.FirstSeen.UTC(), a.LastSeen.UTC(),
			int64(a.Count), nonNil(a.EventIDs), a.Status, labels, u8(a.DryRun), uint64(store.AlertVersion(a)),
			int64(a.DistinctResources), nonNil(a.ResourceExamples), int64(a.DistinctActions), nonNil(a.ActionExamples),
			int64(a.DistinctSubjects), nonNil(a.SubjectExamples))
	})
}

// insert writes n rows as one batch with an explicit column list,
// retrying the whole batch (rebuilt from the rows) while the error is
// retryable. A batch the server took before the connection broke is sent
// again; ReplacingMergeTree and the queries make that invisible.
func (s *Store) insert(ctx context.Context, table, query string, n int, row func(b driver.Batch, i int) error) error {
	if n == 0 {
		return nil
	}
	err := s.retry(ctx, table, func(ctx context.Context) error {
		b, err := s.conn.PrepareBatch(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		for i := 0; i < n; i++ {
			if err := row(b, i); err != nil {
				b.Abort()
				return &columnError{fmt.Errorf("row %d: %w", i, err)}
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("send %d rows: %w", n, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.m.Rows.WithLabelValues(table).Add(float64(n))
	return nil
}

func u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// utcPtr returns t in UTC, nil for an unset time. It allocates only when
// t is in another zone: it runs twice per stored event.
func utcPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	if t.Location() == time.UTC {
		return t
	}
	u := t.UTC()
	return &u
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilF(s []float64) []float64 {
	if s == nil {
		return []float64{}
	}
	return s
}
