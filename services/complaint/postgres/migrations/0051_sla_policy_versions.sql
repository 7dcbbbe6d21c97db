-- A complaint counts its clocks under the SLA policy version it was filed
-- under, until its severity changes or it is transferred (then under the
-- version in force for its owner then). Every policy write is a new
-- version: versions are numbered across all scopes, so one number names
-- one revision of HQ's default or of a dealer's override, and 0 is the
-- built-in default in force while HQ has set none.
--
-- Numbered after 0050: Migrate refuses a file older than the newest
-- applied migration, so a 0009-0019 file would stop every database that
-- already has 0050.
CREATE SEQUENCE sla_policy_version_seq;

CREATE TABLE sla_policy_versions (
    version       bigint PRIMARY KEY,
    scope         text NOT NULL,
    targets       jsonb NOT NULL,
    warning_ratio double precision NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE sla_policies ADD COLUMN version bigint;
UPDATE sla_policies SET version = nextval('sla_policy_version_seq');
INSERT INTO sla_policy_versions (version, scope, targets, warning_ratio, create_time)
    SELECT version, scope, targets, warning_ratio, update_time FROM sla_policies;
ALTER TABLE sla_policies ALTER COLUMN version SET NOT NULL;

-- Complaints filed before this migration take the version in force for
-- their owner now: the policy their workflow loaded is not recorded.
-- Their change-feed stamps stay (the feed carries no policy version).
ALTER TABLE complaints ADD COLUMN sla_policy_version bigint NOT NULL DEFAULT 0;
ALTER TABLE complaints DISABLE TRIGGER complaints_change;
UPDATE complaints c SET sla_policy_version = p.version
    FROM sla_policies p
    WHERE p.scope = (SELECT s.scope FROM sla_policies s WHERE s.scope IN (c.dealer_id, 'default')
                     ORDER BY s.scope = 'default' LIMIT 1);
ALTER TABLE complaints ENABLE TRIGGER complaints_change;
