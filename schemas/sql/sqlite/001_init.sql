-- agentwatch store, SQLite flavour. Table and column names match
-- schemas/sql/clickhouse/001_init.sql. Times are UTC text
-- 'YYYY-MM-DD HH:MM:SS' so that they sort and SQLite's date functions work;
-- lists and maps are JSON text.

-- One row per canonical AgentEvent; 002_events_by_agent.sql rebuilds it.
CREATE TABLE IF NOT EXISTS events (
    event_id              TEXT    NOT NULL PRIMARY KEY,
    time                  TEXT    NOT NULL,
    time_nanos            INTEGER NOT NULL DEFAULT 0,
    source                TEXT    NOT NULL,
    agent_id              TEXT    NOT NULL,
    agent_instance        TEXT    NOT NULL DEFAULT '',
    principal             TEXT    NOT NULL DEFAULT '',
    credential_id         TEXT    NOT NULL DEFAULT '',
    credential_type       TEXT    NOT NULL DEFAULT '',
    credential_issued_at  TEXT,
    credential_expires_at TEXT,
    on_behalf_of          TEXT    NOT NULL DEFAULT '',
    delegation_chain      TEXT    NOT NULL DEFAULT '[]',
    action                TEXT    NOT NULL,
    system                TEXT    NOT NULL,
    resource              TEXT    NOT NULL DEFAULT '',
    resource_type         TEXT    NOT NULL DEFAULT '',
    outcome               TEXT    NOT NULL,
    error_code            TEXT    NOT NULL DEFAULT '',
    src_ip                TEXT    NOT NULL DEFAULT '',
    src_network           TEXT    NOT NULL DEFAULT '',
    user_agent            TEXT    NOT NULL DEFAULT '',
    bytes                 INTEGER NOT NULL DEFAULT 0,
    records               INTEGER NOT NULL DEFAULT 0,
    attributes            TEXT    NOT NULL DEFAULT '{}',
    unattributed          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_agent_time ON events (agent_id, time);
CREATE INDEX IF NOT EXISTS events_time ON events (time);

-- One closed tumbling window per agent and window_start; the latest
-- updated_at wins.
CREATE TABLE IF NOT EXISTS agent_windows (
    agent_id           TEXT    NOT NULL,
    window_start       TEXT    NOT NULL,
    window_end         TEXT    NOT NULL,
    hour_of_week       INTEGER NOT NULL,
    events             INTEGER NOT NULL,
    distinct_actions   INTEGER NOT NULL,
    distinct_resources INTEGER NOT NULL,
    distinct_systems   INTEGER NOT NULL,
    distinct_networks  INTEGER NOT NULL,
    failures           INTEGER NOT NULL,
    denials            INTEGER NOT NULL,
    bytes              INTEGER NOT NULL,
    records            INTEGER NOT NULL,
    action_counts      TEXT    NOT NULL DEFAULT '{}',
    updated_at         TEXT    NOT NULL,
    PRIMARY KEY (agent_id, window_start)
);
CREATE INDEX IF NOT EXISTS agent_windows_start ON agent_windows (window_start);

-- The latest profile version per agent and feature.
CREATE TABLE IF NOT EXISTS agent_baselines (
    agent_id     TEXT    NOT NULL,
    feature      TEXT    NOT NULL,
    samples      INTEGER NOT NULL,
    median       REAL    NOT NULL,
    mad          REAL    NOT NULL,
    ewma_mean    REAL    NOT NULL,
    ewma_var     REAL    NOT NULL,
    p50          REAL    NOT NULL,
    p95          REAL    NOT NULL,
    p99          REAL    NOT NULL,
    seasonality  TEXT    NOT NULL,
    seasonal     TEXT    NOT NULL DEFAULT '[]',
    mature       INTEGER NOT NULL,
    first_window TEXT    NOT NULL,
    last_window  TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    updated_at   TEXT    NOT NULL,
    state        BLOB,
    PRIMARY KEY (agent_id, feature)
);

-- The latest version of each learned habit of each agent.
CREATE TABLE IF NOT EXISTS agent_playground (
    agent_id         TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    system           TEXT    NOT NULL DEFAULT '',
    action           TEXT    NOT NULL DEFAULT '',
    resource_pattern TEXT    NOT NULL DEFAULT '',
    value            TEXT    NOT NULL DEFAULT '',
    count            INTEGER NOT NULL,
    first_seen       TEXT    NOT NULL,
    last_seen        TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (agent_id, kind, system, action, resource_pattern, value)
);

-- The inventory as last synced; the latest updated_at wins.
CREATE TABLE IF NOT EXISTS agents (
    agent_id          TEXT NOT NULL PRIMARY KEY,
    display_name      TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL DEFAULT '',
    owner             TEXT NOT NULL DEFAULT '',
    contact           TEXT NOT NULL DEFAULT '',
    slack_channel     TEXT NOT NULL DEFAULT '',
    pagerduty_service TEXT NOT NULL DEFAULT '',
    purpose           TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    created_at        TEXT,
    expires_at        TEXT,
    declared          TEXT NOT NULL DEFAULT '',
    updated_at        TEXT NOT NULL
);

-- One row per alert id holding its latest state (highest version: later
-- last_seen, then higher count, then resolved over firing).
CREATE TABLE IF NOT EXISTS alerts (
    id                   TEXT    NOT NULL PRIMARY KEY,
    dedup_key            TEXT    NOT NULL,
    detector             TEXT    NOT NULL,
    severity             TEXT    NOT NULL,
    score                INTEGER NOT NULL,
    boundary             TEXT    NOT NULL,
    agent_id             TEXT    NOT NULL,
    agent_instance       TEXT    NOT NULL DEFAULT '',
    display_name         TEXT    NOT NULL DEFAULT '',
    agent_kind           TEXT    NOT NULL DEFAULT '',
    owner                TEXT    NOT NULL DEFAULT '',
    slack_channel        TEXT    NOT NULL DEFAULT '',
    pagerduty_service    TEXT    NOT NULL DEFAULT '',
    agent_status         TEXT    NOT NULL DEFAULT '',
    on_behalf_of         TEXT    NOT NULL DEFAULT '',
    principal            TEXT    NOT NULL DEFAULT '',
    credential_id        TEXT    NOT NULL DEFAULT '',
    credential_type      TEXT    NOT NULL DEFAULT '',
    credential_issued_at TEXT,
    unattributed         INTEGER NOT NULL DEFAULT 0,
    subject              TEXT    NOT NULL DEFAULT '',
    summary              TEXT    NOT NULL,
    reason               TEXT    NOT NULL DEFAULT '',
    evidence             TEXT    NOT NULL DEFAULT '[]',
    first_seen           TEXT    NOT NULL,
    last_seen            TEXT    NOT NULL,
    count                INTEGER NOT NULL,
    event_ids            TEXT    NOT NULL DEFAULT '[]',
    status               TEXT    NOT NULL,
    labels               TEXT    NOT NULL DEFAULT '{}',
    dry_run              INTEGER NOT NULL DEFAULT 0,
    version              INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_agent ON alerts (agent_id, last_seen);
CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts (last_seen);
