-- Documented queries over the agentwatch store, for security engineers.
-- Run one with:  agentwatch sql "<query>"   (read-only on either backend).
--
-- Each query starts with a "-- name:" line, a one-line description and a
-- "-- dialect:" line. Most questions need a ClickHouse and a SQLite
-- variant because date functions differ, and because ClickHouse keeps a
-- redelivered or superseded row until a background merge: the ClickHouse
-- variants therefore count events with uniqExact(event_id) and take the
-- current row of versioned tables with ORDER BY ... LIMIT 1 BY (or
-- argMax), never trusting merges. SQLite keeps one row per key, so its
-- variants read the tables directly.
--
-- Every ClickHouse query runs on ClickHouse 18.16 (the Debian package) and
-- on current ClickHouse: scripts/check_sql_chdb.py runs them in chdb, and
-- internal/store/clickhouse's tests run them on a real server; the SQLite
-- tests run the SQLite variants. Replace the example agent id
-- 'support-bot' with yours.

-- name: agent_playground
-- The learned playground of one agent: every habit it has, most used first within each kind.
-- dialect: clickhouse
SELECT kind, system, action, resource_pattern, value, count, first_seen, last_seen
FROM (
    SELECT *
    FROM agent_playground
    WHERE agent_id = 'support-bot'
    ORDER BY kind, system, action, resource_pattern, value, version DESC
    LIMIT 1 BY kind, system, action, resource_pattern, value
)
ORDER BY kind, count DESC, system, action, resource_pattern, value;

-- name: agent_playground
-- The learned playground of one agent: every habit it has, most used first within each kind.
-- dialect: sqlite
SELECT kind, system, action, resource_pattern, value, count, first_seen, last_seen
FROM agent_playground
WHERE agent_id = 'support-bot'
ORDER BY kind, count DESC, system, action, resource_pattern, value;

-- name: agents_over_p99_today
-- Agents whose busiest hour today had more events than the p99 of their learned hourly event count.
-- dialect: clickhouse
SELECT agent_id, busiest_hour, events, p99, round(events / p99, 1) AS times_p99
FROM (
    SELECT agent_id, hour AS busiest_hour, events
    FROM (
        SELECT agent_id, toStartOfHour(time) AS hour, uniqExact(event_id) AS events
        FROM events
        WHERE time >= toDateTime(today())
        GROUP BY agent_id, hour
    )
    ORDER BY agent_id, events DESC
    LIMIT 1 BY agent_id
) AS busiest
ALL INNER JOIN (
    SELECT agent_id, argMax(p99, version) AS p99
    FROM agent_baselines
    WHERE feature = 'events'
    GROUP BY agent_id
) AS baseline USING agent_id
WHERE events > p99 AND p99 > 0
ORDER BY times_p99 DESC;

-- name: agents_over_p99_today
-- Agents whose busiest hour today had more events than the p99 of their learned hourly event count.
-- dialect: sqlite
SELECT h.agent_id, h.hour AS busiest_hour, max(h.events) AS events, b.p99,
       round(max(h.events) / b.p99, 1) AS times_p99
FROM (
    SELECT agent_id, substr(time, 1, 13) || ':00:00' AS hour, count(DISTINCT event_id) AS events
    FROM events
    WHERE time >= date('now')
    GROUP BY agent_id, hour
) AS h
JOIN agent_baselines AS b ON b.agent_id = h.agent_id AND b.feature = 'events'
GROUP BY h.agent_id
HAVING max(h.events) > b.p99 AND b.p99 > 0
ORDER BY times_p99 DESC;

-- name: first_seen_actions_this_week
-- Actions each agent performed for the first time this week (since Monday 00:00 UTC), within the events kept.
-- dialect: clickhouse
SELECT agent_id, system, action, min(time) AS first_seen, uniqExact(event_id) AS events,
       uniqExact(resource) AS resources
FROM events
GROUP BY agent_id, system, action
HAVING first_seen >= toDateTime(toMonday(today()))
ORDER BY first_seen DESC, agent_id, system, action;

-- name: first_seen_actions_this_week
-- Actions each agent performed for the first time this week (since Monday 00:00 UTC), within the events kept.
-- dialect: sqlite
SELECT agent_id, system, action, min(time) AS first_seen, count(DISTINCT event_id) AS events,
       count(DISTINCT resource) AS resources
FROM events
GROUP BY agent_id, system, action
HAVING min(time) >= date('now', '-6 days', 'weekday 1')
ORDER BY first_seen DESC, agent_id, system, action;

-- name: alerts_per_owner
-- Alerts of the last 7 days per owner: how many, how many still firing, how many high or critical.
-- dialect: clickhouse
SELECT owner, count() AS alerts, countIf(status = 'firing') AS firing,
       countIf(severity IN ('high', 'critical')) AS high_or_critical, max(last_seen) AS latest
FROM (
    SELECT *
    FROM alerts
    WHERE last_seen >= now() - INTERVAL 7 DAY
    ORDER BY id, version DESC
    LIMIT 1 BY id
)
GROUP BY owner
ORDER BY alerts DESC, owner;

-- name: alerts_per_owner
-- Alerts of the last 7 days per owner: how many, how many still firing, how many high or critical.
-- dialect: sqlite
SELECT owner, count(*) AS alerts, sum(status = 'firing') AS firing,
       sum(severity IN ('high', 'critical')) AS high_or_critical, max(last_seen) AS latest
FROM alerts
WHERE last_seen >= datetime('now', '-7 days')
GROUP BY owner
ORDER BY alerts DESC, owner;

-- name: shared_credentials
-- Credentials used by more than one agent in the last 7 days, with the agents that used them.
-- dialect: clickhouse
SELECT credential_id, any(credential_type) AS credential_type, uniqExact(agent_id) AS agents,
       arraySort(groupUniqArray(agent_id)) AS agent_ids, uniqExact(event_id) AS events, max(time) AS last_used
FROM events
WHERE credential_id != '' AND time >= now() - INTERVAL 7 DAY
GROUP BY credential_id
HAVING agents > 1
ORDER BY agents DESC, credential_id;

-- name: shared_credentials
-- Credentials used by more than one agent in the last 7 days, with the agents that used them.
-- dialect: sqlite
SELECT credential_id, max(credential_type) AS credential_type, count(DISTINCT agent_id) AS agents,
       group_concat(DISTINCT agent_id) AS agent_ids, count(DISTINCT event_id) AS events, max(time) AS last_used
FROM events
WHERE credential_id != '' AND time >= datetime('now', '-7 days')
GROUP BY credential_id
HAVING count(DISTINCT agent_id) > 1
ORDER BY agents DESC, credential_id;

-- name: agent_baselines_current
-- The current learned profile of one agent, one row per feature.
-- dialect: clickhouse
SELECT feature, samples, median, mad, p50, p95, p99, seasonality, mature, last_window, version
FROM agent_baselines
WHERE agent_id = 'support-bot'
ORDER BY feature, version DESC
LIMIT 1 BY feature;

-- name: agent_baselines_current
-- The current learned profile of one agent, one row per feature.
-- dialect: sqlite
SELECT feature, samples, median, mad, p50, p95, p99, seasonality, mature, last_window, version
FROM agent_baselines
WHERE agent_id = 'support-bot'
ORDER BY feature;

-- name: unattributed_principals
-- Principals seen in the last 7 days that no attribution rule mapped to an agent and that the inventory does not list as infrastructure or human: identities with no name.
-- dialect: clickhouse
SELECT agent_id AS principal, uniqExact(event_id) AS events, uniqExact(action) AS actions,
       uniqExact(src_network) AS networks, min(time) AS first_seen, max(time) AS last_seen
FROM events
WHERE unattributed = 1 AND principal_kind = '' AND time >= now() - INTERVAL 7 DAY
GROUP BY agent_id
ORDER BY events DESC;

-- name: unattributed_principals
-- Principals seen in the last 7 days that no attribution rule mapped to an agent and that the inventory does not list as infrastructure or human: identities with no name.
-- dialect: sqlite
SELECT agent_id AS principal, count(DISTINCT event_id) AS events, count(DISTINCT action) AS actions,
       count(DISTINCT src_network) AS networks, min(time) AS first_seen, max(time) AS last_seen
FROM events
WHERE unattributed = 1 AND principal_kind = '' AND time >= datetime('now', '-7 days')
GROUP BY agent_id
ORDER BY events DESC;

-- name: known_principals
-- Principals the inventory lists as infrastructure or human, seen in the last 7 days: what they did and for how many agents (role assumptions attributed to the agent they made credentials for).
-- dialect: clickhouse
SELECT principal, any(principal_kind) AS kind, uniqExact(event_id) AS events, uniqExact(action) AS actions,
       uniqExactIf(agent_id, unattributed = 0) AS agents_served, min(time) AS first_seen, max(time) AS last_seen
FROM events
WHERE principal_kind != '' AND time >= now() - INTERVAL 7 DAY
GROUP BY principal
ORDER BY events DESC, principal;

-- name: known_principals
-- Principals the inventory lists as infrastructure or human, seen in the last 7 days: what they did and for how many agents (role assumptions attributed to the agent they made credentials for).
-- dialect: sqlite
SELECT principal, max(principal_kind) AS kind, count(DISTINCT event_id) AS events, count(DISTINCT action) AS actions,
       count(DISTINCT CASE WHEN unattributed = 0 THEN agent_id END) AS agents_served,
       min(time) AS first_seen, max(time) AS last_seen
FROM events
WHERE principal_kind != '' AND time >= datetime('now', '-7 days')
GROUP BY principal
ORDER BY events DESC, principal;

-- name: acted_after_decommissioned
-- Agents that acted at or after the decommissioned_at date of their current inventory entry: how often, first and last time.
-- dialect: clickhouse
SELECT agent_id, decommissioned_at, uniqExact(event_id) AS events_after, min(time) AS first_after, max(time) AS last_after
FROM events
ALL INNER JOIN (
    SELECT agent_id, argMax(decommissioned_at, updated_at) AS decommissioned_at
    FROM agents
    GROUP BY agent_id
) AS gone USING agent_id
WHERE decommissioned_at IS NOT NULL AND time >= decommissioned_at
GROUP BY agent_id, decommissioned_at
ORDER BY events_after DESC, agent_id;

-- name: acted_after_decommissioned
-- Agents that acted at or after the decommissioned_at date of their current inventory entry: how often, first and last time.
-- dialect: sqlite
SELECT e.agent_id, a.decommissioned_at, count(DISTINCT e.event_id) AS events_after, min(e.time) AS first_after,
       max(e.time) AS last_after
FROM events AS e
JOIN agents AS a ON a.agent_id = e.agent_id
WHERE a.decommissioned_at IS NOT NULL AND e.time >= a.decommissioned_at
GROUP BY e.agent_id, a.decommissioned_at
ORDER BY events_after DESC, e.agent_id;

-- ---------------------------------------------------------------------
-- The console's queries (package console) and the event search behind
-- its Search page and `agentwatch trail`. A test holds these texts equal
-- to what the console runs, with the example values below in place of
-- its parameters. In the ClickHouse variants a time is given as seconds
-- since 1970 (UTC): 1773619200 is 2026-03-16 00:00:00, 1773705600 is
-- 2026-03-17 00:00:00, 1773698400 is 2026-03-16 22:00:00, 1773014400 is
-- 2026-03-09 00:00:00.

-- name: search_events
-- Events of one agent on behalf of one principal in a time range, newest first, with the full identity chain of each (the Search page and `agentwatch trail`; drop or add conditions on agent_instance, credential_id, action, resource).
-- dialect: clickhouse
SELECT event_id, time, time_nanos, source, agent_id, agent_instance, principal, credential_id,
    credential_type, credential_issued_at, credential_expires_at, on_behalf_of, delegation_chain,
    action, system, resource, resource_type, outcome, error_code, src_ip, user_agent, bytes,
    records, attributes, unattributed, principal_kind
FROM events
WHERE agent_id = 'support-bot'
  AND on_behalf_of = 'customer:cus_04711'
  AND time >= toDateTime(1773619200)
  AND time < toDateTime(1773705600)
ORDER BY time DESC, time_nanos DESC, event_id
LIMIT 1 BY event_id
LIMIT 100;

-- name: search_events
-- Events of one agent on behalf of one principal in a time range, newest first, with the full identity chain of each (the Search page and `agentwatch trail`; drop or add conditions on agent_instance, credential_id, action, resource).
-- dialect: sqlite
SELECT event_id, time, time_nanos, source, agent_id, agent_instance, principal, credential_id,
    credential_type, credential_issued_at, credential_expires_at, on_behalf_of, delegation_chain,
    action, system, resource, resource_type, outcome, error_code, src_ip, user_agent, bytes,
    records, attributes, unattributed, principal_kind
FROM events
WHERE agent_id = 'support-bot'
  AND on_behalf_of = 'customer:cus_04711'
  AND time >= '2026-03-16 00:00:00'
  AND time < '2026-03-17 00:00:00'
ORDER BY time DESC, time_nanos DESC, event_id
LIMIT 100;

-- name: fleet_windows
-- Events per agent and closed window over a day (the fleet page's sparklines; replace the two times with yours).
-- dialect: clickhouse
SELECT agent_id, window_start, events
FROM agent_windows
WHERE window_start >= toDateTime(1773619200) AND window_start < toDateTime(1773698400)
ORDER BY agent_id, window_start, updated_at DESC
LIMIT 1 BY agent_id, window_start;

-- name: fleet_windows
-- Events per agent and closed window over a day (the fleet page's sparklines; replace the two times with yours).
-- dialect: sqlite
SELECT agent_id, window_start, events
FROM agent_windows
WHERE window_start >= '2026-03-16 00:00:00' AND window_start < '2026-03-16 22:00:00'
ORDER BY agent_id, window_start;

-- name: fleet_recent
-- Events per agent and hour in the last two hours, whose windows may still be open, with the latest time and whether any was unattributed.
-- dialect: clickhouse
SELECT agent_id, toStartOfHour(time) AS hour, uniqExact(event_id) AS events,
       max(time) AS last_seen, max(unattributed) AS unattributed
FROM events
WHERE time >= toDateTime(1773698400) AND time < toDateTime(1773705600)
GROUP BY agent_id, hour
ORDER BY agent_id, hour;

-- name: fleet_recent
-- Events per agent and hour in the last two hours, whose windows may still be open, with the latest time and whether any was unattributed.
-- dialect: sqlite
SELECT agent_id, substr(time, 1, 13) || ':00:00' AS hour, count(*) AS events,
       max(time) AS last_seen, max(unattributed) AS unattributed
FROM events
WHERE time >= '2026-03-16 22:00:00' AND time < '2026-03-17 00:00:00'
GROUP BY agent_id, hour
ORDER BY agent_id, hour;

-- name: fleet_baselines
-- Each agent's learned hourly event band and maturity (the fleet page's usual band).
-- dialect: clickhouse
SELECT agent_id, samples, median, p95, p99, mature, last_window, seasonality
FROM agent_baselines
WHERE feature = 'events'
ORDER BY agent_id, version DESC
LIMIT 1 BY agent_id;

-- name: fleet_baselines
-- Each agent's learned hourly event band and maturity (the fleet page's usual band).
-- dialect: sqlite
SELECT agent_id, samples, median, p95, p99, mature, last_window, seasonality
FROM agent_baselines
WHERE feature = 'events'
ORDER BY agent_id;

-- name: latest_event_time
-- The time of the latest stored event (the fleet page shows the 24 hours before it when it is in the past).
-- dialect: clickhouse
SELECT max(time) AS latest FROM events;

-- name: latest_event_time
-- The time of the latest stored event (the fleet page shows the 24 hours before it when it is in the past).
-- dialect: sqlite
SELECT max(time) AS latest FROM events;

-- name: agent_instances
-- The instances one agent ran since a time, with how many credentials and delegators each used.
-- dialect: clickhouse
SELECT agent_instance, uniqExact(event_id) AS events, uniqExact(credential_id) AS credentials,
       uniqExact(on_behalf_of) AS delegators, max(time) AS last_seen
FROM events
WHERE agent_id = 'support-bot' AND time >= toDateTime(1773014400)
GROUP BY agent_instance
ORDER BY last_seen DESC
LIMIT 100;

-- name: agent_instances
-- The instances one agent ran since a time, with how many credentials and delegators each used.
-- dialect: sqlite
SELECT agent_instance, count(*) AS events, count(DISTINCT credential_id) AS credentials,
       count(DISTINCT on_behalf_of) AS delegators, max(time) AS last_seen
FROM events
WHERE agent_id = 'support-bot' AND time >= '2026-03-09 00:00:00'
GROUP BY agent_instance
ORDER BY last_seen DESC
LIMIT 100;

-- name: agent_credentials
-- The credentials one agent used since a time, with their type, issue time and instances.
-- dialect: clickhouse
SELECT credential_id, credential_type, min(credential_issued_at) AS issued, uniqExact(event_id) AS events,
       uniqExact(agent_instance) AS instances, max(time) AS last_seen
FROM events
WHERE agent_id = 'support-bot' AND time >= toDateTime(1773014400)
GROUP BY credential_id, credential_type
ORDER BY last_seen DESC
LIMIT 100;

-- name: agent_credentials
-- The credentials one agent used since a time, with their type, issue time and instances.
-- dialect: sqlite
SELECT credential_id, credential_type, min(credential_issued_at) AS issued, count(*) AS events,
       count(DISTINCT agent_instance) AS instances, max(time) AS last_seen
FROM events
WHERE agent_id = 'support-bot' AND time >= '2026-03-09 00:00:00'
GROUP BY credential_id, credential_type
ORDER BY last_seen DESC
LIMIT 100;

-- name: incident_actions
-- Who accepted, silenced or resolved which incident of one agent, when, why and until when (the actions table; the agent page shows it).
-- dialect: clickhouse
SELECT time, actor, action, alert_id, detector, subject, reason, expires_at, matchers, detail
FROM (
    SELECT *
    FROM actions
    WHERE agent_id = 'support-bot'
    ORDER BY id
    LIMIT 1 BY id
)
ORDER BY time DESC;

-- name: incident_actions
-- Who accepted, silenced or resolved which incident of one agent, when, why and until when (the actions table; the agent page shows it).
-- dialect: sqlite
SELECT time, actor, action, alert_id, detector, subject, reason, expires_at, matchers, detail
FROM actions
WHERE agent_id = 'support-bot'
ORDER BY time DESC;

-- name: incident_notifications
-- Where one agent's incidents were sent and whether each was delivered, failed or held by a silence (the alerts stage copies its outbox's states every 5 s; the incident page shows them).
-- dialect: clickhouse
SELECT n.alert_id, n.receiver, n.target, n.state, n.attempts, n.sent_count, n.last_sent_at, n.last_error, n.updated_at
FROM (
    SELECT *
    FROM alert_notifications
    ORDER BY version DESC
    LIMIT 1 BY alert_id, receiver, target
) AS n
WHERE n.alert_id IN (SELECT id FROM alerts WHERE agent_id = 'support-bot')
ORDER BY n.updated_at DESC;

-- name: incident_notifications
-- Where one agent's incidents were sent and whether each was delivered, failed or held by a silence (the alerts stage copies its outbox's states every 5 s; the incident page shows them).
-- dialect: sqlite
SELECT n.alert_id, n.receiver, n.target, n.state, n.attempts, n.sent_count, n.last_sent_at, n.last_error, n.updated_at
FROM alert_notifications AS n
WHERE n.alert_id IN (SELECT id FROM alerts WHERE agent_id = 'support-bot')
ORDER BY n.updated_at DESC;

-- name: posture_findings_open
-- Open posture findings (standing risk: owners, least privilege, secrets, lifecycle, delegation), most severe first; refreshed by each posture evaluation.
-- dialect: clickhouse
SELECT severity, type, agent_id, owner, summary, fix, first_seen, last_seen
FROM posture_findings
WHERE status = 'open'
ORDER BY severity_rank DESC, type, agent_id, id;

-- name: posture_findings_open
-- Open posture findings (standing risk: owners, least privilege, secrets, lifecycle, delegation), most severe first; refreshed by each posture evaluation.
-- dialect: sqlite
SELECT severity, type, agent_id, owner, summary, fix, first_seen, last_seen
FROM posture_findings
WHERE status = 'open'
ORDER BY severity_rank DESC, type, agent_id, id;

-- agent_unused_permissions (a view in both stores) covers what SQL can
-- judge: declared systems, and the playground's top-level actions and
-- resource globs, against the agent's own events of the last 30 days
-- (credentials made for it by a known principal, principal_kind set, are
-- not its use), with globs matched a little more leniently than
-- `agentwatch posture` (case folded; SQLite's GLOB "*" crosses "/";
-- ClickHouse 18.16 compares the text before the first "*" and after the
-- last). It leaves out what needs more than SQL on these servers:
-- - statements: an action is used only through a statement whose
--   resources also match the call, as IAM allows it. That needs IAM's
--   names for CloudTrail's calls (s3:ListObjects is s3:ListBucket,
--   bedrock:Converse is bedrock:InvokeModel, versioned Lambda names), IAM
--   matching of ARNs per part, and the resources IAM checks besides the
--   one a record names (a Glue table's catalog and database, the model
--   behind a Bedrock inference profile, the SSM document of SendCommand);
--   ClickHouse 18.16 has neither per-row patterns nor JSON functions for
--   nested arrays. A SQL approximation would call used permissions
--   unused, so statements are judged by `agentwatch posture` only;
-- - networks (CIDR containment) and client families (read from user
--   agents by rules).
-- For those, read the evidence of the privilege.unused findings that the
-- last posture evaluation saved (posture_unused_entries below; `agentwatch
-- run` evaluates hourly, `agentwatch posture --save` on demand).

-- name: agent_unused_permissions
-- Declared systems and top-level actions and resource globs that no call of the agent's own matched in the last 30 days: candidates to remove (statements, networks and clients: posture_unused_entries).
-- dialect: clickhouse
SELECT agent_id, kind, pattern
FROM agent_unused_permissions
WHERE status = 'active'
ORDER BY agent_id, kind, pattern;

-- name: agent_unused_permissions
-- Declared systems and top-level actions and resource globs that no call of the agent's own matched in the last 30 days: candidates to remove (statements, networks and clients: posture_unused_entries).
-- dialect: sqlite
SELECT agent_id, kind, pattern
FROM agent_unused_permissions
WHERE status = 'active'
ORDER BY agent_id, kind, pattern;

-- name: posture_unused_entries
-- Everything the last posture evaluation found unused, one row per agent and kind: whole statements, a statement's actions and resources, systems, top-level lists, networks, clients.
-- dialect: clickhouse
SELECT agent_id, owner, severity, kind, unused
FROM (
    SELECT agent_id, owner, severity, severity_rank, evidence
    FROM posture_findings
    WHERE status = 'open' AND type = 'privilege.unused'
)
ARRAY JOIN
    extractAll(evidence, '"feature":"unused_([a-z_]+)"') AS kind,
    extractAll(evidence, '"feature":"unused_[a-z_]+","observed":"((?:[^"\\\\]|\\\\.)*)"') AS unused
ORDER BY severity_rank DESC, agent_id, kind;

-- name: posture_unused_entries
-- Everything the last posture evaluation found unused, one row per agent and kind: whole statements, a statement's actions and resources, systems, top-level lists, networks, clients.
-- dialect: sqlite
SELECT f.agent_id, f.owner, f.severity, substr(json_extract(e.value, '$.feature'), 8) AS kind,
       json_extract(e.value, '$.observed') AS unused
FROM posture_findings AS f, json_each(CASE WHEN json_valid(f.evidence) THEN f.evidence ELSE '[]' END) AS e
WHERE f.status = 'open' AND f.type = 'privilege.unused' AND json_extract(e.value, '$.feature') LIKE 'unused\_%' ESCAPE '\'
ORDER BY f.severity_rank DESC, f.agent_id, kind;
