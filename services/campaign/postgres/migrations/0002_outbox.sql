-- The transactional outbox (pkg/outbox). Generated from outbox.TableSQL("").
CREATE TABLE outbox_events (
    dealer_id       text        NOT NULL,
    id              uuid        NOT NULL,
    kind            text        NOT NULL,
    workflow_id     text        NOT NULL,
    workflow_type   text        NOT NULL,
    task_queue      text        NOT NULL,
    signal_name     text        NOT NULL,
    payload         jsonb       NOT NULL,
    start_input     jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    PRIMARY KEY (dealer_id, id)
);
-- The relay's queue: undelivered events, due ones first.
CREATE INDEX outbox_events_pending_idx ON outbox_events (next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
-- Purging delivered events after the retention period.
CREATE INDEX outbox_events_delivered_idx ON outbox_events (delivered_at)
    WHERE delivered_at IS NOT NULL;
ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
