-- agent_unused_permissions, again: the agent's own calls only (not the
-- credentials a platform node makes for it, principal_kind set), and the
-- playground's top-level lists only. The declared JSON is cut before its
-- statements: visitParam functions find a key at any depth, so a
-- statement's "actions" passed for the top-level list when that was
-- absent. Statements (actions paired with resources), networks and client
-- families are judged by `agentwatch posture` alone; see docs/queries.sql.
DROP TABLE IF EXISTS agent_unused_permissions;

-- Declared playground entries (systems, and the top-level actions and
-- resource globs, of the latest inventory row) that no event of the
-- agent's own matched in the last 30 days. ClickHouse 18.16 takes no
-- per-row LIKE pattern, so a glob is matched, case folded, on the text
-- before its first "*" and after its last: an entry counts as used a
-- little more readily than in `agentwatch posture`, never less.
CREATE VIEW IF NOT EXISTS agent_unused_permissions AS
SELECT agent_id, status, kind, pattern
FROM (
    SELECT agent_id, status, kind, pattern,
           sum(value != '' AND if(wild,
               substring(value, 1, length(pre)) = pre AND length(value) >= length(pre) + length(suf)
                   AND substring(value, length(value) - length(suf) + 1) = suf,
               value = glob)) AS uses
    FROM (
        SELECT agent_id, status, kp.1 AS kind, kp.2 AS pattern, lower(replaceAll(kp.2, '**', '*')) AS glob,
               position(glob, '*') > 0 AS wild, splitByChar('*', glob) AS parts, parts[1] AS pre, parts[-1] AS suf
        FROM (
            SELECT agent_id, status,
                   if(position(declared, ',"statements":') > 0, substring(declared, 1, position(declared, ',"statements":')), declared) AS top
            FROM (
                SELECT agent_id, argMax(status, updated_at) AS status, argMax(declared, updated_at) AS declared
                FROM agents
                GROUP BY agent_id
            )
        )
        ARRAY JOIN arrayConcat(
            arrayMap(x -> ('system', x), extractAll(visitParamExtractRaw(top, 'systems'), '"([^"]*)"')),
            arrayMap(x -> ('action', x), extractAll(visitParamExtractRaw(top, 'actions'), '"([^"]*)"')),
            arrayMap(x -> ('resource', x), extractAll(visitParamExtractRaw(top, 'resources'), '"([^"]*)"'))
        ) AS kp
    ) AS declared_entries
    ALL LEFT JOIN (
        SELECT agent_id, 'system' AS kind, lower(system) AS value FROM events
        WHERE time >= now() - INTERVAL 30 DAY AND unattributed = 0 AND principal_kind = '' GROUP BY agent_id, value
        UNION ALL
        SELECT agent_id, 'action' AS kind, lower(action) AS value FROM events
        WHERE time >= now() - INTERVAL 30 DAY AND unattributed = 0 AND principal_kind = '' GROUP BY agent_id, value
        UNION ALL
        SELECT agent_id, 'resource' AS kind, lower(resource) AS value FROM events
        WHERE time >= now() - INTERVAL 30 DAY AND unattributed = 0 AND principal_kind = '' AND resource != '' GROUP BY agent_id, value
    ) AS used_values USING (agent_id, kind)
    GROUP BY agent_id, status, kind, pattern
)
WHERE uses = 0;
