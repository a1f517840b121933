-- Posture (issue 15): the latest state of every standing-risk finding, as
-- the last posture evaluation saw it, and two views over the store.

-- One row per finding id: the latest evaluation's state wins (a higher
-- version, the evaluation time in nanoseconds). status is "open" while an
-- evaluation still finds it and "fixed" once one no longer does.
CREATE TABLE IF NOT EXISTS posture_finding_states (
    id           TEXT    NOT NULL PRIMARY KEY,
    type         TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    agent_id     TEXT    NOT NULL DEFAULT '',
    owner        TEXT    NOT NULL DEFAULT '',
    subject      TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL,
    evidence     TEXT    NOT NULL DEFAULT '[]',
    fix          TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL,
    first_seen   TEXT    NOT NULL,
    last_seen    TEXT    NOT NULL,
    evaluated_at TEXT    NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS posture_finding_states_agent ON posture_finding_states (agent_id, status);

-- The current posture findings, most severe first when ordered by
-- severity_rank (0 info ... 4 critical).
CREATE VIEW IF NOT EXISTS posture_findings AS
SELECT id, type, severity,
       CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END AS severity_rank,
       agent_id, owner, subject, summary, evidence, fix, status, first_seen, last_seen, evaluated_at
FROM posture_finding_states;

-- Declared playground entries (systems, actions, resource globs of the
-- inventory as last synced) that no event of the agent matched in the last
-- 30 days. SQLite's GLOB stands in for the inventory's globs: its "*" also
-- crosses "/", so an entry counts as used a little more readily than in
-- `agentwatch posture`, never less.
CREATE VIEW IF NOT EXISTS agent_unused_permissions AS
SELECT agent_id, status, kind, pattern
FROM (
    SELECT d.agent_id, d.status, d.kind, d.pattern,
           EXISTS (
               SELECT 1 FROM events AS e
               WHERE e.agent_id = d.agent_id AND e.time >= datetime('now', '-30 days')
                 AND (CASE d.kind WHEN 'system' THEN e.system WHEN 'action' THEN e.action ELSE e.resource END)
                     GLOB replace(d.pattern, '**', '*')
           ) AS used
    FROM (
        SELECT a.agent_id, a.status, 'system' AS kind, j.value AS pattern
        FROM agents AS a, json_each(CASE WHEN json_valid(a.declared) THEN a.declared ELSE '{}' END, '$.systems') AS j
        UNION ALL
        SELECT a.agent_id, a.status, 'action', j.value
        FROM agents AS a, json_each(CASE WHEN json_valid(a.declared) THEN a.declared ELSE '{}' END, '$.actions') AS j
        UNION ALL
        SELECT a.agent_id, a.status, 'resource', j.value
        FROM agents AS a, json_each(CASE WHEN json_valid(a.declared) THEN a.declared ELSE '{}' END, '$.resources') AS j
    ) AS d
)
WHERE used = 0;
