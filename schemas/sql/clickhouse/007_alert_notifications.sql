-- Where each incident was sent and whether it was delivered: the alerts
-- stage copies its outbox's notification states here (every 5 s), so a
-- console on another host can show an incident's notification history.
-- One row per incident, receiver and target; the highest version (the
-- outbox's update time in nanoseconds) is the current state: queries take
-- LIMIT 1 BY alert_id, receiver, target after ORDER BY version DESC.
CREATE TABLE IF NOT EXISTS alert_notifications (
    alert_id     String,
    receiver     String,
    target       String,
    state        String,
    attempts     Int64,
    sent_count   Int64,
    last_sent_at Nullable(DateTime),
    last_error   String,
    updated_at   DateTime,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (alert_id, receiver, target);
