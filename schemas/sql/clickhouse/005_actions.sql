-- Actions people take on incidents from the console or the CLI: accept,
-- silence, resolve; who, when and why. Rows are never updated; a
-- redelivered insert is collapsed by id (queries take LIMIT 1 BY id).
CREATE TABLE IF NOT EXISTS actions (
    id         String,
    time       DateTime,
    actor      String,
    action     String,
    alert_id   String,
    agent_id   String,
    detector   String,
    subject    String,
    subjects   Array(String),
    dedup_key  String,
    boundary   String,
    reason     String,
    expires_at Nullable(DateTime),
    matchers   Array(String),
    detail     String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (agent_id, id);
