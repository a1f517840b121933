-- Alerts became incidents: every event that crosses the same boundary while
-- the incident is open adds to it. These columns hold its scope: how many
-- distinct resources, actions and subjects (what crossed the boundary) its
-- events touched, with the first few of each as examples. Rows written
-- before read zero and empty arrays. One ALTER for all six columns: the
-- server applies it as one metadata change, so an interrupted migration
-- leaves none of them behind and can simply run again (ClickHouse 18.16
-- has no ADD COLUMN IF NOT EXISTS).
ALTER TABLE alerts
    ADD COLUMN distinct_resources Int64 DEFAULT 0,
    ADD COLUMN resource_examples Array(String),
    ADD COLUMN distinct_actions Int64 DEFAULT 0,
    ADD COLUMN action_examples Array(String),
    ADD COLUMN distinct_subjects Int64 DEFAULT 0,
    ADD COLUMN subject_examples Array(String);
