-- Numbered after 0050: the migrator refuses a migration numbered below one
-- already applied (ErrMigrationOutOfOrder), and every database of the
-- previous release has 0050_change_feed (TestUpgradeFromThePreviousRelease).
-- The severity of the complaint a dissatisfied callback opens becomes part
-- of the callback policy (it was code in the callback workflow: HIGH under
-- a score of 50, MEDIUM otherwise). Stored policies take that default, so
-- behaviour is unchanged until HQ or a dealer sets their own.
ALTER TABLE callback_policies
    ADD COLUMN IF NOT EXISTS complaint_severity text NOT NULL DEFAULT 'medium'
        CHECK (complaint_severity IN ('low', 'medium', 'high', 'critical')),
    ADD COLUMN IF NOT EXISTS complaint_severity_rules jsonb NOT NULL DEFAULT '[{"score_below": 50, "severity": "high"}]'
        CHECK (jsonb_typeof(complaint_severity_rules) = 'array');
