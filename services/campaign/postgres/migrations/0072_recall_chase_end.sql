-- When the chase task of a recall's VIN was ended because the VIN was
-- completed (at any dealer): the campaign ends it through the callback
-- service, then records it here, so a retry after a crash ends only what
-- is left.
ALTER TABLE recall_vins ADD COLUMN chase_end_time timestamptz;
-- Completed VINs whose chase task is still to be ended.
CREATE INDEX recall_vins_unended_chase_idx ON recall_vins (vin)
    WHERE state = 'completed' AND chase_task NOT IN ('', 'refused') AND chase_end_time IS NULL;
