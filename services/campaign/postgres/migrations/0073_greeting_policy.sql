-- The greeting workflows' lead, hour and zone, stored with HQ's messaging
-- policy (they were workflow-input defaults). Numbered after the released
-- 0070 (an upgrade takes no migration below the newest applied); IF NOT
-- EXISTS for a database that applied it as 0060 before it was renumbered.
ALTER TABLE messaging_policy
    ADD COLUMN IF NOT EXISTS greeting_lead_s bigint  NOT NULL DEFAULT 2592000,
    ADD COLUMN IF NOT EXISTS greeting_hour   integer NOT NULL DEFAULT 10,
    ADD COLUMN IF NOT EXISTS greeting_zone   text    NOT NULL DEFAULT 'Asia/Shanghai';
