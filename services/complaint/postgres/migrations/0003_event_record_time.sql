-- When each timeline entry was written, next to the time it describes: for
-- clock events `time` is the scheduled instant and record_time when the
-- escalation actually happened, so lateness can be measured.
ALTER TABLE complaint_events ADD COLUMN record_time timestamptz NOT NULL DEFAULT clock_timestamp();
