-- Alerts became incidents: every event that crosses the same boundary while
-- the incident is open adds to it. These columns hold its scope: how many
-- distinct resources, actions and subjects (what crossed the boundary) its
-- events touched, with the first few of each as a JSON array of examples.
-- Existing rows keep zero counts and empty lists.
ALTER TABLE alerts ADD COLUMN distinct_resources INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN resource_examples TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN distinct_actions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN action_examples TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN distinct_subjects INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN subject_examples TEXT NOT NULL DEFAULT '[]';
CREATE INDEX IF NOT EXISTS alerts_dedup_key ON alerts (dedup_key, first_seen);
