-- Known non-agent principals and dated lifecycle (issue 13, items 4 and 5;
-- agreed as migration 006 in COORDINATION.md, renumbered at merge).
-- events.principal_kind says what a principal known not to be an agent is
-- ('infrastructure' or 'human'; '' for agents and unknown principals), so
-- queries can leave known machines out of the unattributed principals.
-- agents gains the dates of its status changes.
ALTER TABLE events ADD COLUMN principal_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN suspended_at TEXT;
ALTER TABLE agents ADD COLUMN resumed_at TEXT;
ALTER TABLE agents ADD COLUMN decommissioned_at TEXT;
