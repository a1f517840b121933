-- Where each incident was sent and whether it was delivered: the alerts
-- stage copies its outbox's notification states here (every 5 s), so a
-- console on another host can show an incident's notification history.
-- One row per incident, receiver and target; an older update is ignored.
CREATE TABLE IF NOT EXISTS alert_notifications (
    alert_id     TEXT NOT NULL,
    receiver     TEXT NOT NULL,
    target       TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    sent_count   INTEGER NOT NULL DEFAULT 0,
    last_sent_at TEXT,
    last_error   TEXT NOT NULL DEFAULT '',
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (alert_id, receiver, target)
);
