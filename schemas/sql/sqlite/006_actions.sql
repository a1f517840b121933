-- Actions people take on incidents from the console or the CLI: accept,
-- silence, resolve; who, when and why. One row per action id; a
-- redelivered insert is ignored.
CREATE TABLE IF NOT EXISTS actions (
    id         TEXT NOT NULL PRIMARY KEY,
    time       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    alert_id   TEXT NOT NULL DEFAULT '',
    agent_id   TEXT NOT NULL DEFAULT '',
    detector   TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL DEFAULT '',
    subjects   TEXT NOT NULL DEFAULT '[]',
    dedup_key  TEXT NOT NULL DEFAULT '',
    boundary   TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL,
    expires_at TEXT,
    matchers   TEXT NOT NULL DEFAULT '[]',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS actions_agent ON actions (agent_id, time);
CREATE INDEX IF NOT EXISTS actions_alert ON actions (alert_id);
