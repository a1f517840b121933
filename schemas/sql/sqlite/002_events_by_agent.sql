-- The events table without its event_id primary key. Ids arrive in no
-- order, so keeping a B-tree of them cost a random page write per event.
-- Uniqueness now lives in the (agent_id, time, event_id) index that the
-- baseline worker's scans need anyway: a redelivered event carries the
-- same agent, time and id, and is still ignored. The rows are copied over
-- unchanged.
CREATE TABLE events_by_agent (
    event_id              TEXT    NOT NULL,
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
INSERT INTO events_by_agent (event_id, time, time_nanos, source, agent_id, agent_instance, principal,
    credential_id, credential_type, credential_issued_at, credential_expires_at, on_behalf_of,
    delegation_chain, action, system, resource, resource_type, outcome, error_code, src_ip, src_network,
    user_agent, bytes, records, attributes, unattributed)
SELECT event_id, time, time_nanos, source, agent_id, agent_instance, principal,
    credential_id, credential_type, credential_issued_at, credential_expires_at, on_behalf_of,
    delegation_chain, action, system, resource, resource_type, outcome, error_code, src_ip, src_network,
    user_agent, bytes, records, attributes, unattributed
FROM events;
DROP TABLE events;
ALTER TABLE events_by_agent RENAME TO events;
CREATE UNIQUE INDEX events_agent_time ON events (agent_id, time, event_id);
CREATE INDEX events_time ON events (time);
