-- agent_unused_permissions, again: the agent's own calls only (not the
-- credentials a platform node makes for it, principal_kind set), and the
-- playground's top-level lists only. Statements (actions paired with
-- resources), networks and client families are judged by `agentwatch
-- posture` alone: pairing an action with its statement's resources as IAM
-- does needs IAM's names for CloudTrail's calls (s3:ListObjects is
-- s3:ListBucket) and the resources IAM also checks (a Glue table's
-- database), which SQL here cannot express; see docs/queries.sql.
DROP VIEW IF EXISTS agent_unused_permissions;

-- Declared playground entries (systems, and the top-level actions and
-- resource globs, of the inventory as last synced) that no event of the
-- agent's own matched in the last 30 days. SQLite's GLOB stands in for the
-- inventory's patterns, case folded: its "*" also crosses "/", so an entry
-- counts as used a little more readily than in `agentwatch posture`.
CREATE VIEW IF NOT EXISTS agent_unused_permissions AS
SELECT agent_id, status, kind, pattern
FROM (
    SELECT d.agent_id, d.status, d.kind, d.pattern,
           EXISTS (
               SELECT 1 FROM events AS e
               WHERE e.agent_id = d.agent_id AND e.unattributed = 0 AND e.principal_kind = ''
                 AND e.time >= datetime('now', '-30 days')
                 AND lower(CASE d.kind WHEN 'system' THEN e.system WHEN 'action' THEN e.action ELSE e.resource END)
                     GLOB lower(replace(d.pattern, '**', '*'))
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
