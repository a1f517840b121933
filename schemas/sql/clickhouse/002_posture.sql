-- Posture (issue 15): the states of the standing-risk findings and two
-- views. Like every statement here it runs on ClickHouse 18.16 and on
-- current ClickHouse (scripts/check_sql_chdb.py).

-- Finding states; the highest version (the evaluation time in
-- nanoseconds) of each id is its current state: "open" while an
-- evaluation still finds it, "fixed" once one no longer does.
CREATE TABLE IF NOT EXISTS posture_finding_states (
    id           String,
    type         String,
    severity     String,
    agent_id     String,
    owner        String,
    subject      String,
    summary      String,
    evidence     String,
    fix          String,
    status       String,
    first_seen   DateTime,
    last_seen    DateTime,
    evaluated_at DateTime,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- The current posture findings (latest version of each id, never trusting
-- merges), with severity_rank 0 info ... 4 critical for ordering.
CREATE VIEW IF NOT EXISTS posture_findings AS
SELECT id, type, severity,
       transform(severity, ['info', 'low', 'medium', 'high', 'critical'], [0, 1, 2, 3, 4], 0) AS severity_rank,
       agent_id, owner, subject, summary, evidence, fix, status, first_seen, last_seen, evaluated_at
FROM (
    SELECT *
    FROM posture_finding_states
    ORDER BY id, version DESC
    LIMIT 1 BY id
);

-- Declared playground entries (systems, actions, resource globs of the
-- latest inventory row) that no event of the agent matched in the last 30
-- days. ClickHouse 18.16 takes no per-row LIKE pattern, so a glob is
-- matched on the text before its first "*" and after its last: an entry
-- counts as used a little more readily than in `agentwatch posture`, never
-- less.
CREATE VIEW IF NOT EXISTS agent_unused_permissions AS
SELECT agent_id, status, kind, pattern
FROM (
    SELECT agent_id, status, kind, pattern,
           sum(value != '' AND if(wild,
               substring(value, 1, length(pre)) = pre AND length(value) >= length(pre) + length(suf)
                   AND substring(value, length(value) - length(suf) + 1) = suf,
               value = glob)) AS uses
    FROM (
        SELECT agent_id, status, kp.1 AS kind, kp.2 AS pattern, replaceAll(kp.2, '**', '*') AS glob,
               position(glob, '*') > 0 AS wild, splitByChar('*', glob) AS parts, parts[1] AS pre, parts[-1] AS suf
        FROM (
            SELECT agent_id, argMax(status, updated_at) AS status, argMax(declared, updated_at) AS declared
            FROM agents
            GROUP BY agent_id
        )
        ARRAY JOIN arrayConcat(
            arrayMap(x -> ('system', x), extractAll(visitParamExtractRaw(declared, 'systems'), '"([^"]*)"')),
            arrayMap(x -> ('action', x), extractAll(visitParamExtractRaw(declared, 'actions'), '"([^"]*)"')),
            arrayMap(x -> ('resource', x), extractAll(visitParamExtractRaw(declared, 'resources'), '"([^"]*)"'))
        ) AS kp
    ) AS declared_entries
    ALL LEFT JOIN (
        SELECT agent_id, 'system' AS kind, system AS value FROM events
        WHERE time >= now() - INTERVAL 30 DAY GROUP BY agent_id, system
        UNION ALL
        SELECT agent_id, 'action' AS kind, action AS value FROM events
        WHERE time >= now() - INTERVAL 30 DAY GROUP BY agent_id, action
        UNION ALL
        SELECT agent_id, 'resource' AS kind, resource AS value FROM events
        WHERE time >= now() - INTERVAL 30 DAY AND resource != '' GROUP BY agent_id, resource
    ) AS used_values USING (agent_id, kind)
    GROUP BY agent_id, status, kind, pattern
)
WHERE uses = 0;
