-- agentwatch store, ClickHouse flavour. Table and column names match
-- schemas/sql/sqlite/001_init.sql. Every statement must run on the Debian
-- package's server (18.16) and on current ClickHouse, so: no DateTime64,
-- Map, LowCardinality or JSON types; engines in the new syntax; retention
-- by dropping day partitions rather than TTL. Maps are JSON text, lists
-- are arrays. scripts/check_sql_chdb.py runs this file in CI.
--
-- ReplacingMergeTree collapses a redelivered row only when parts merge, so
-- the documented queries (docs/queries.sql) never rely on merges: they
-- count uniqExact(event_id) or take argMax / LIMIT 1 BY the version.

-- One row per canonical AgentEvent. DateTime has whole seconds, so the
-- sub-second part of the event time is kept in time_nanos.
CREATE TABLE IF NOT EXISTS events (
    event_id              String,
    time                  DateTime,
    time_nanos            UInt32,
    source                String,
    agent_id              String,
    agent_instance        String,
    principal             String,
    credential_id         String,
    credential_type       String,
    credential_issued_at  Nullable(DateTime),
    credential_expires_at Nullable(DateTime),
    on_behalf_of          String,
    delegation_chain      Array(String),
    action                String,
    system                String,
    resource              String,
    resource_type         String,
    outcome               String,
    error_code            String,
    src_ip                String,
    src_network           String,
    user_agent            String,
    bytes                 Int64,
    records               Int64,
    attributes            String,
    unattributed          UInt8
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(time)
ORDER BY (agent_id, time, event_id);

-- One closed tumbling window per agent and window_start; the latest
-- updated_at wins.
CREATE TABLE IF NOT EXISTS agent_windows (
    agent_id           String,
    window_start       DateTime,
    window_end         DateTime,
    hour_of_week       UInt16,
    events             Int64,
    distinct_actions   Int64,
    distinct_resources Int64,
    distinct_systems   Int64,
    distinct_networks  Int64,
    failures           Int64,
    denials            Int64,
    bytes              Int64,
    records            Int64,
    action_counts      String,
    updated_at         DateTime
) ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMMDD(window_start)
ORDER BY (agent_id, window_start);

-- Profiles per agent and feature; the highest version is the current one.
CREATE TABLE IF NOT EXISTS agent_baselines (
    agent_id     String,
    feature      String,
    samples      Int64,
    median       Float64,
    mad          Float64,
    ewma_mean    Float64,
    ewma_var     Float64,
    p50          Float64,
    p95          Float64,
    p99          Float64,
    seasonality  String,
    seasonal     Array(Float64),
    mature       UInt8,
    first_window DateTime,
    last_window  DateTime,
    version      UInt64,
    updated_at   DateTime,
    state        String
) ENGINE = ReplacingMergeTree(version)
ORDER BY (agent_id, feature);

-- Learned habits of each agent; the highest version of each entry wins.
CREATE TABLE IF NOT EXISTS agent_playground (
    agent_id         String,
    kind             String,
    system           String,
    action           String,
    resource_pattern String,
    value            String,
    count            Int64,
    first_seen       DateTime,
    last_seen        DateTime,
    version          UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (agent_id, kind, system, action, resource_pattern, value);

-- The inventory as last synced; the latest updated_at wins.
CREATE TABLE IF NOT EXISTS agents (
    agent_id          String,
    display_name      String,
    kind              String,
    owner             String,
    contact           String,
    slack_channel     String,
    pagerduty_service String,
    purpose           String,
    status            String,
    created_at        Nullable(DateTime),
    expires_at        Nullable(DateTime),
    declared          String,
    updated_at        DateTime
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY agent_id;

-- Alert states; the highest version of each id is the current state
-- (later last_seen, then higher count, then resolved over firing).
CREATE TABLE IF NOT EXISTS alerts (
    id                   String,
    dedup_key            String,
    detector             String,
    severity             String,
    score                Int32,
    boundary             String,
    agent_id             String,
    agent_instance       String,
    display_name         String,
    agent_kind           String,
    owner                String,
    slack_channel        String,
    pagerduty_service    String,
    agent_status         String,
    on_behalf_of         String,
    principal            String,
    credential_id        String,
    credential_type      String,
    credential_issued_at Nullable(DateTime),
    unattributed         UInt8,
    subject              String,
    summary              String,
    reason               String,
    evidence             String,
    first_seen           DateTime,
    last_seen            DateTime,
    count                Int64,
    event_ids            Array(String),
    status               String,
    labels               String,
    dry_run              UInt8,
    version              UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(first_seen)
ORDER BY id;
