-- Known non-agent principals and dated lifecycle (issue 13, items 4 and 5;
-- agreed as migration 005 in COORDINATION.md, renumbered at merge). Same
-- columns as the SQLite migration. 18.16 has no ADD COLUMN IF NOT EXISTS:
-- Migrate takes "column already exists" as done, so a migration
-- interrupted half-way completes on the next run.
ALTER TABLE events ADD COLUMN principal_kind String DEFAULT '';
ALTER TABLE agents ADD COLUMN suspended_at Nullable(DateTime);
ALTER TABLE agents ADD COLUMN resumed_at Nullable(DateTime);
ALTER TABLE agents ADD COLUMN decommissioned_at Nullable(DateTime);
