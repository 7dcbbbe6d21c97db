-- The greeting workflows' lead, hour and zone, stored with HQ's messaging
-- policy (they were workflow-input defaults).
ALTER TABLE messaging_policy
    ADD COLUMN greeting_lead_s bigint  NOT NULL DEFAULT 2592000,
    ADD COLUMN greeting_hour   integer NOT NULL DEFAULT 10,
    ADD COLUMN greeting_zone   text    NOT NULL DEFAULT 'Asia/Shanghai';
