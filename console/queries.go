package console

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
)

// The console's own queries, beside the store's SearchEvents. Each is in
// docs/queries.sql under the same name, with example values in place of
// the ? placeholders; a test holds the two equal, so what the console
// shows is what a person gets from `agentwatch sql`.
var consoleQueries = map[string]map[string]string{
	"fleet_windows": {
		store.DialectSQLite: `SELECT agent_id, window_start, events
FROM agent_windows
WHERE window_start >= ? AND window_start < ?
ORDER BY agent_id, window_start`,
		store.DialectClickHouse: `SELECT agent_id, window_start, events
FROM agent_windows
WHERE window_start >= toDateTime(?) AND window_start < toDateTime(?)
ORDER BY agent_id, window_start, updated_at DESC
LIMIT 1 BY agent_id, window_start`,
	},
	"fleet_recent": {
		store.DialectSQLite: `SELECT agent_id, substr(time, 1, 13) || ':00:00' AS hour, count(*) AS events,
       max(time) AS last_seen, max(unattributed) AS unattributed
FROM events
WHERE time >= ? AND time < ?
GROUP BY agent_id, hour
ORDER BY agent_id, hour`,
		store.DialectClickHouse: `SELECT agent_id, toStartOfHour(time) AS hour, uniqExact(event_id) AS events,
       max(time) AS last_seen, max(unattributed) AS unattributed
FROM events
WHERE time >= toDateTime(?) AND time < toDateTime(?)
GROUP BY agent_id, hour
ORDER BY agent_id, hour`,
	},
	"fleet_baselines": {
		store.DialectSQLite: `SELECT agent_id, samples, median, p95, p99, mature, last_window, seasonality
FROM agent_baselines
WHERE feature = 'events'
ORDER BY agent_id`,
		store.DialectClickHouse: `SELECT agent_id, samples, median, p95, p99, mature, last_window, seasonality
FROM agent_baselines
WHERE feature = 'events'
ORDER BY agent_id, version DESC
LIMIT 1 BY agent_id`,
	},
	"latest_event_time": {
		store.DialectSQLite:     `SELECT max(time) AS latest FROM events`,
		store.DialectClickHouse: `SELECT max(time) AS latest FROM events`,
	},
	"agent_instances": {
		store.DialectSQLite: `SELECT agent_instance, count(*) AS events, count(DISTINCT credential_id) AS credentials,
       count(DISTINCT on_behalf_of) AS delegators, max(time) AS last_seen
FROM events
WHERE agent_id = ? AND time >= ?
GROUP BY agent_instance
ORDER BY last_seen DESC
LIMIT 100`,
		store.DialectClickHouse: `SELECT agent_instance, uniqExact(event_id) AS events, uniqExact(credential_id) AS credentials,
       uniqExact(on_behalf_of) AS delegators, max(time) AS last_seen
FROM events
WHERE agent_id = ? AND time >= toDateTime(?)
GROUP BY agent_instance
ORDER BY last_seen DESC
LIMIT 100`,
	},
	"agent_credentials": {
		store.DialectSQLite: `SELECT credential_id, credential_type, min(credential_issued_at) AS issued, count(*) AS events,
       count(DISTINCT agent_instance) AS instances, max(time) AS last_seen
FROM events
WHERE agent_id = ? AND time >= ?
GROUP BY credential_id, credential_type
ORDER BY last_seen DESC
LIMIT 100`,
		store.DialectClickHouse: `SELECT credential_id, credential_type, min(credential_issued_at) AS issued, uniqExact(event_id) AS events,
       uniqExact(agent_instance) AS instances, max(time) AS last_seen
FROM events
WHERE agent_id = ? AND time >= toDateTime(?)
GROUP BY credential_id, credential_type
ORDER BY last_seen DESC
LIMIT 100`,
	},
}

// query runs a console query by name on st's dialect.
func query(ctx context.Context, st store.Store, name string, args ...any) (*store.Result, error) {
	q, ok := consoleQueries[name][store.DialectOf(st)]
	if !ok {
		return nil, fmt.Errorf("console: no %s query for %s", name, st.Backend())
	}
	res, err := st.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("console query %s: %w", name, err)
	}
	return res, nil
}

func asString(v any) string { return store.Text(v) }

func asInt(v any) int64 {
	s := store.Text(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(f)
	}
	if s == "true" {
		return 1
	}
	return 0
}

func asFloat(v any) float64 {
	f, _ := strconv.ParseFloat(store.Text(v), 64)
	return f
}

// asTime reads a time column; zero when empty or unparseable (a NULL).
func asTime(v any) time.Time {
	t, err := store.ParseTime(store.Text(v))
	if err != nil {
		return time.Time{}
	}
	return t
}
